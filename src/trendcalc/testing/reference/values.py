"""How a JSON property value reads as text and as a number (filters.md §0.2): ``R(v)``,
``toFloat(R(v))`` and ClickHouse's ``toString(Float64)``."""

from __future__ import annotations

import json
import math
import re
from typing import Any

NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")  # ASCII; no nested optional runs: linear


def render_text(v: Any) -> str:
    """R(v): the text PostHog reads from the JSON blob: strings keep JSON escapes, numbers their
    JSON spelling, booleans true/false, containers compact JSON."""
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)[1:-1]
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def to_float(v: Any) -> float | None:
    """toFloat(R): numbers, and strings spelling a number (or inf); None otherwise."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        s = render_text(v)
        if NUMBER.match(s):
            return float(s)
        low = s.lower().replace("infinity", "inf")
        if low in ("inf", "+inf", "-inf"):
            return float(low)
    return None


def float_text(f: float) -> str:
    """ClickHouse's toString(Float64): integral values without ``.0``."""
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    if f == int(f) and abs(f) < 1e16:
        return str(int(f))
    return repr(f).replace("e+", "e")
