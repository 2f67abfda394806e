"""Spreadsheet formula injection: CSV text cells that a spreadsheet would run as a formula.

Event data comes from third parties (a property value may be ``=HYPERLINK("http://evil", "x")``),
and a CSV export is opened in Excel, LibreOffice or Google Sheets, which evaluate a cell starting
with ``=``, ``+``, ``-`` or ``@`` (and, after a leading tab or carriage return, the same). OWASP's
rule: prefix such a cell with a single quote, which makes the spreadsheet show it as text. Cells
that are plain numbers (``-3``, ``+1.5e3``) are left alone: a spreadsheet reads them as numbers,
never as formulas. ``TrendsResult.to_csv(neutralize_formulas=False)`` writes cells verbatim.
"""

from __future__ import annotations

import re

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")


def neutralize(cell: str) -> str:
    """``cell``, prefixed with ``'`` when a spreadsheet would read it as a formula."""
    if cell.startswith(TRIGGERS) and not _PLAIN_NUMBER.match(cell):
        return "'" + cell
    return cell
