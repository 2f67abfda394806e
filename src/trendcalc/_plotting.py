"""TrendsResult.plot(): a matplotlib Figure drawn the way PostHog shows the display.

Line-like displays draw one line per series (area: stacked and filled; compare's previous period
dotted, in its series' colour, on the same x positions); bar displays draw bars per bucket (stacked for ``ActionsStackedBar`` and
``ActionsBar``, side by side for ``ActionsUnstackedBar``); ``ActionsPie`` a pie; ``BoldNumber``
one big number (with the change against the previous period under compare); the other
total-value displays (``ActionsBarValue``, ``ActionsTable``, ``WorldMap``) horizontal bars.

The figure is a ``matplotlib.figure.Figure`` made without pyplot (no global state, no GUI backend:
it renders with Agg wherever it is saved, and is safe in threads); it shows itself in Jupyter as a
PNG (``_repr_png_``), once. Pass ``ax=`` to draw into your own axes instead.
"""

from __future__ import annotations

import math
from typing import Any

from .formatting import legend_names, math_unit, series_titles
from .formatting import series_name as text_name
from .store.columns import BREAKDOWN_NULL, BREAKDOWN_OTHER

# PostHog's sentinels for a missing breakdown value and for the Other row, as its UI shows them
SENTINEL_NAMES = {BREAKDOWN_NULL: "None", BREAKDOWN_OTHER: "Other"}

LINE = ("ActionsLineGraph", "ActionsLineGraphCumulative", "ActionsAreaGraph")
STACKED = ("ActionsBar", "ActionsStackedBar")


def plain(text: str) -> str:
    """Text matplotlib shows as it is: every ``$`` escaped, since matplotlib reads text between two
    ``$`` as mathtext (a label like ``$x$`` would render as math, or fail to parse: labels come
    from data)."""
    return text.replace("$", r"\$")


def names_of(result: Any) -> dict[int, str]:
    """A distinct, readable legend name per series (by position): title (custom name or event,
    with the math when two series of one event differ by it), breakdown value with PostHog's
    null/Other sentinels as None/Other, and the compare period; escaped for matplotlib."""
    return {i: plain(n) for i, n in enumerate(legend_names(result.series))}


def series_name(s: Any, result: Any = None) -> str:
    """The legend name of one series (see ``names_of``)."""
    if result is not None:
        return names_of(result)[result.series.index(s)]
    name = text_name(s)
    for sentinel, readable in SENTINEL_NAMES.items():
        name = name.replace(sentinel, readable)
    return plain(name)


def display_of(result: Any) -> str:
    """The display the result was computed for (echoed in every series' filter)."""
    for s in result.series:
        d = (s.filter or {}).get("display")
        if d:
            return d
    return "ActionsBarValue" if result.total_value else "ActionsLineGraph"


_FIGURE: list[type] = []


def _figure_class() -> type:
    """A Figure that renders itself as PNG for Jupyter (a pyplot-less figure has no display)."""
    if not _FIGURE:
        from matplotlib.figure import Figure

        class TrendsFigure(Figure):
            def _repr_png_(self) -> bytes:
                import io

                buf = io.BytesIO()
                self.savefig(buf, format="png")
                return buf.getvalue()

        _FIGURE.append(TrendsFigure)
    return _FIGURE[0]


def plot(result: Any, ax: Any = None, *, title: str | None = None, figsize: tuple[float, float] = (8, 4.5), dpi: int = 100) -> Any:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("TrendsResult.plot needs matplotlib: pip install matplotlib (trendcalc's 'plot' extra)") from None
    if ax is None:
        fig = _figure_class()(figsize=figsize, dpi=dpi, layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    display = display_of(result)
    if not result.series:
        ax.text(0.5, 0.5, "no series", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    elif display == "BoldNumber":
        _number(result, ax)
    elif result.total_value and display == "ActionsPie":
        _pie(result, ax)
    elif result.total_value:
        _hbars(result, ax)
    elif display in LINE:
        _lines(result, ax, area=display == "ActionsAreaGraph")
    else:
        _bars(result, ax, stacked=display in STACKED)
    if result.series and display != "BoldNumber" and not (result.total_value and display == "ActionsPie"):
        _axis_label(result, ax, horizontal=bool(result.total_value))
    ax.set_title(plain(title) if title else plain(" · ".join(dict.fromkeys(series_titles(result.series)))), fontsize="medium")
    return fig


def _axis_label(result: Any, ax: Any, horizontal: bool) -> None:
    """The value axis says what the math counts (when every series has the same math)."""
    units = {math_unit((s.action or {}).get("math"), (s.action or {}).get("math_property")) for s in result.series}
    if len(units) == 1:
        (ax.set_xlabel if horizontal else ax.set_ylabel)(plain(units.pop()))


def _x_axis(result: Any, ax: Any) -> list[int]:
    labels = result.series[0].labels or []
    x = list(range(len(labels)))
    step = max(1, math.ceil(len(labels) / 10))
    ax.set_xticks(x[::step], [labels[i] for i in x[::step]], rotation=30, ha="right")
    ax.margins(x=0.01)
    ax.grid(axis="y", alpha=0.3)
    return x


def _legend(ax: Any, n: int) -> None:
    ax.legend(fontsize="small", ncols=1 + n // 12, loc="best")


def _lines(result: Any, ax: Any, area: bool) -> None:
    x = _x_axis(result, ax)
    colours: dict[tuple[Any, Any], Any] = {}
    below = [0.0] * len(x)  # the area graph stacks the current period's series
    for s in result.series:
        key = (s.order, str(s.breakdown_value))
        previous = s.compare_label == "previous"
        y = [float(v) for v in s.data]
        if area and not previous:
            y = [b + v for b, v in zip(below, y)]
        (line,) = ax.plot(x, y, ":" if previous else "-", color=colours.get(key), marker="o" if len(x) == 1 else None,
                          label=series_name(s, result))
        colours.setdefault(key, line.get_color())
        if area and not previous:
            ax.fill_between(x, below, y, alpha=0.35, color=line.get_color(), linewidth=0)
            below = y
    ax.set_ylim(bottom=min(0, *(min(s.data or [0]) for s in result.series)))
    _legend(ax, len(result.series))


def _bars(result: Any, ax: Any, stacked: bool) -> None:
    x = _x_axis(result, ax)
    n = len(result.series)
    width = 0.8 if stacked else 0.8 / n
    bottom = [0.0] * len(x)
    for i, s in enumerate(result.series):
        data = [float(v) for v in s.data]
        if stacked:
            ax.bar(x, data, width, bottom=bottom, label=series_name(s, result))
            bottom = [b + v for b, v in zip(bottom, data)]
        else:
            ax.bar([p - 0.4 + width * (i + 0.5) for p in x], data, width, label=series_name(s, result))
    _legend(ax, n)


def _values(result: Any) -> tuple[list[str], list[float]]:
    return [series_name(s, result) for s in result.series], [float(s.aggregated_value or 0) for s in result.series]


def _hbars(result: Any, ax: Any) -> None:
    names, values = _values(result)
    y = list(range(len(names)))[::-1]
    bars = ax.barh(y, values)
    ax.set_yticks(y, names)
    ax.bar_label(bars, labels=[_fmt(v) for v in values], padding=3)
    ax.grid(axis="x", alpha=0.3)


def _pie(result: Any, ax: Any) -> None:
    names, values = _values(result)
    if sum(values) <= 0:
        ax.text(0.5, 0.5, "nothing to show (all values are 0)", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    ax.pie([max(v, 0) for v in values], labels=[f"{n} ({_fmt(v)})" for n, v in zip(names, values)],
           autopct=lambda p: f"{p:.0f}%" if p >= 4 else "", startangle=90, counterclock=False)
    ax.set_aspect("equal")


def _number(result: Any, ax: Any) -> None:
    current = next((s for s in result.series if s.compare_label != "previous"), result.series[0])
    value = float(current.aggregated_value or 0)
    ax.set_axis_off()
    ax.text(0.5, 0.58, _fmt(value), ha="center", va="center", fontsize=64, weight="bold", transform=ax.transAxes)
    ax.text(0.5, 0.22, series_name(current, result), ha="center", va="center", fontsize=14, transform=ax.transAxes)
    previous = next((s for s in result.series if s.compare_label == "previous" and s.order == current.order), None)
    if previous is not None:
        before = float(previous.aggregated_value or 0)
        change = "n/a" if before == 0 else f"{(value - before) / before:+.0%}"
        ax.text(0.5, 0.08, f"{change} vs previous period ({_fmt(before)})", ha="center", va="center",
                fontsize=11, color="dimgray", transform=ax.transAxes)


def _fmt(v: float) -> str:
    if float(v).is_integer() and abs(v) < 1e15:
        return f"{int(v):,}"
    return f"{v:,.4g}"
