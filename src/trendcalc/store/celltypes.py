"""Typing the text cells of a CSV property column, the same way with or without pyarrow.

A CSV cell is text; a column of a typed format (JSON, Parquet, a DataFrame) is not. So that a
CSV builds the same store as the DataFrame or JSON lines holding the same events, each flat
property column of a CSV is typed as a whole (empty cells are absent and do not count):

- every cell a JSON integer (``-?(0|[1-9][0-9]*)``, within int64) → integers;
- every cell a JSON number (integers included) → floats;
- every cell one of ``true false True False TRUE FALSE`` → booleans;
- anything else → the column stays text.

JSON's number grammar is deliberate: ``007``, ``+5``, ``1.`` and ``NaN`` keep their text (a zip
code stays a string), as they would in JSON lines.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

INT_PATTERN = r"^-?(?:0|[1-9][0-9]*)$"
NUMBER_PATTERN = r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$"
TRUE = ("true", "True", "TRUE")
FALSE = ("false", "False", "FALSE")
_INT_RE = re.compile(INT_PATTERN)
_NUMBER_RE = re.compile(NUMBER_PATTERN)
_BOOLS = {**dict.fromkeys(TRUE, True), **dict.fromkeys(FALSE, False)}
_I64 = 2**63


def column_kind(cells: Sequence[Any]) -> str:
    """"int", "float", "bool" or "text" for one column's cells (None and "" = absent)."""
    values = [c for c in cells if c is not None and c != ""]
    if not values or not all(isinstance(c, str) for c in values):
        return "text"
    if all(_INT_RE.match(c) for c in values):
        # (more than 19 digits is out of int64 range: no int() of a huge text, which Python refuses)
        return "int" if all(len(c.lstrip("+-")) <= 19 and -_I64 <= int(c) < _I64 for c in values) else "text"
    if all(_NUMBER_RE.match(c) for c in values):
        return "float" if all(abs(float(c)) != float("inf") for c in values) else "text"
    if all(c in _BOOLS for c in values):
        return "bool"
    return "text"


def convert(cell: Any, kind: str) -> Any:
    """One cell of a column of ``kind``."""
    if kind == "text" or cell is None or cell == "":
        return cell
    if kind == "int":
        return int(cell)
    if kind == "float":
        return float(cell)
    return _BOOLS[cell]


def type_arrow_column(col: Any) -> Any:
    """The Arrow form of ``column_kind`` + ``convert``: a string column (nulls = absent) cast to
    int64, float64 or bool when all its values allow it; anything else is returned as is."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)) or col.null_count == len(col):
        return col

    def every(mask: Any) -> bool:
        return bool(pc.all(mask).as_py() is not False)

    # a sample first: most text columns (URLs, ids) are text by their first values, and the
    # column-wide regex is then not needed
    sample = pc.drop_null(col.slice(0, 256)).to_pylist()
    if column_kind(sample) == "text" and sample:
        return col

    try:
        if every(pc.match_substring_regex(col, INT_PATTERN)):
            return pc.cast(col, pa.int64())
        if every(pc.match_substring_regex(col, NUMBER_PATTERN)):
            out = pc.cast(col, pa.float64())
            return out if every(pc.is_finite(out)) else col
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # (out of int64 / float range: text)
        return col
    if every(pc.is_in(col, value_set=pa.array(list(_BOOLS)))):
        return pc.is_in(col, value_set=pa.array(list(TRUE))).cast(pa.bool_()) if col.null_count == 0 else pc.if_else(
            pc.is_null(col), pa.scalar(None, pa.bool_()), pc.is_in(col, value_set=pa.array(list(TRUE))))
    return col


__all__ = ["column_kind", "convert", "type_arrow_column"]
