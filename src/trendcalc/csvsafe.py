"""Spreadsheet formula injection: CSV text cells that a spreadsheet would run as a formula.

Event data comes from third parties (a property value may be ``=HYPERLINK("http://evil", "x")``),
and a CSV export is opened in Excel, LibreOffice or Google Sheets, which evaluate a cell starting
with ``=``, ``+``, ``-`` or ``@`` (and, after a leading tab or carriage return, the same). OWASP's
rule: prefix such a cell with a single quote, which makes the spreadsheet show it as text. Cells
that are plain numbers (``-3``, ``+1.5e3``) are left alone: a spreadsheet reads them as numbers,
never as formulas. ``TrendsResult.to_csv(neutralize_formulas=False)`` writes cells verbatim.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")


def neutralize(cell: str) -> str:
    """``cell``, prefixed with ``'`` when a spreadsheet would read it as a formula."""
    if cell.startswith(TRIGGERS) and not _PLAIN_NUMBER.match(cell):
        return "'" + cell
    return cell


def csv_text(rows: Iterable[Sequence[str]]) -> str:
    """CSV text, one ``\\n``-terminated line per row, with every cell holding a line break (``\\n``
    *or* ``\\r``) quoted: Python's writer quotes only the characters of its line terminator, and
    an unquoted ``\\r`` would start a new row in most readers (a way to smuggle a formula into a
    cell of its own)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")  # both characters force quoting; replaced below
    out = []
    for row in rows:
        buf.seek(0)
        buf.truncate()
        w.writerow(row)
        out.append(buf.getvalue()[:-2] + "\n")
    return "".join(out)
