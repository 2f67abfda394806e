"""How result values read as text: series names, breakdown cells, numbers. A leaf module shared by
the result objects, the HTML view and the plots."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol


class _Named(Protocol):
    label: str
    compare_label: str | None


def series_name(s: _Named) -> str:
    """A series' label, with its compare period when there is one."""
    return s.label + (f" ({s.compare_label})" if s.compare_label else "")


def cell_text(v: Any) -> str:
    """A breakdown value as one text cell (multi-breakdowns joined by ``::``)."""
    if v is None:
        return ""
    if isinstance(v, (tuple, list)):
        return "::".join(map(str, v))
    return str(v)


def number_text(v: Any) -> str:
    """A number as a table shows it: whole floats without ``.0``, others to 6 significant digits."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def numbers(values: Iterable[float], integer: bool) -> list[Any]:
    """Plain Python numbers for JSON: ints for counting maths, floats otherwise."""
    if integer:
        return [int(v) for v in values]
    return [float(v) for v in values]
