"""Lifecycle results: the Trends result classes with a ``status`` per series, PostHog's lifecycle
series dict, and a plot of stacked bars with dormant below zero.

``to_records``/``to_csv``/``to_pandas``/``to_polars``/``table`` are the Trends ones (a series'
label already names its status, e.g. ``"$pageview - dormant"``).
"""

from __future__ import annotations

import copy
from typing import Any

import attrs

from .results import SeriesResult, TrendsResult

STATUS_COLOURS = {"new": "#1d4aff", "returning": "#29c76f", "resurrecting": "#a05eff", "dormant": "#f04f58"}


@attrs.frozen
class LifecycleSeries(SeriesResult):
    """One status of one series: ``status`` is new, returning, resurrecting or dormant."""

    status: str = "new"

    def to_dict(self) -> dict[str, Any]:
        """PostHog's lifecycle series: action, data, count, labels, days, label, status."""
        return {
            "action": copy.deepcopy(self.action),
            "data": list(self.data or []),
            "count": self.count,
            "labels": list(self.labels or []),
            "days": list(self.days or []),
            "label": self.label,
            "status": self.status,
        }


@attrs.frozen
class LifecycleResult(TrendsResult):
    """The answer to one ``lifecycle()`` call: four series per series (new, returning,
    resurrecting, dormant — dormant values are negative).

    ``warnings`` also name the legacy filter fields PostHog's lifecycle engine does not read
    (e.g. a breakdown left over from a Trends insight); ``toggled`` is the display-only
    ``toggledLifecycles`` (the statuses a chart shows), as given; every status is always
    computed.
    """

    toggled: tuple[str, ...] | None = None

    def by_status(self) -> dict[str, list[Any]]:
        """``{status: data}`` of the first series' four statuses."""
        out: dict[str, list[Any]] = {}
        for s in self.series:
            out.setdefault(getattr(s, "status", s.label), list(s.data or []))
        return out

    def __repr__(self) -> str:
        return f"<LifecycleResult {len(self.series)} series>\n{self.table()}"

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Stacked bars per bucket: new, returning, resurrecting above zero, dormant below (only
        the ``toggledLifecycles`` statuses when the query set them). Needs ``trendcalc[plot]``."""
        return plot_lifecycle(self, ax, **kwargs)


def plot_lifecycle(result: LifecycleResult, ax: Any = None, *, title: str | None = None,
                   figsize: tuple[float, float] = (8, 4.5), dpi: int = 100) -> Any:
    """A matplotlib Figure of stacked status bars (dormant stacks downwards from zero)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("LifecycleResult.plot needs matplotlib: pip install 'trendcalc[plot]'") from None
    from ._plotting import _figure_class, _legend, _x_axis

    if ax is None:
        fig = _figure_class()(figsize=figsize, dpi=dpi, layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    shown = [s for s in result.series if result.toggled is None or getattr(s, "status", None) in result.toggled]
    if not shown:
        ax.text(0.5, 0.5, "no series", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    else:
        x = _x_axis(result, ax)
        up = [0.0] * len(x)
        down = [0.0] * len(x)
        for s in shown:
            data = [float(v) for v in s.data or []]
            negative = getattr(s, "status", "") == "dormant"
            bottom = down if negative else up
            ax.bar(x, data, 0.8, bottom=bottom, label=s.label, color=STATUS_COLOURS.get(getattr(s, "status", "")))
            if negative:
                down = [b + v for b, v in zip(down, data)]
            else:
                up = [b + v for b, v in zip(up, data)]
        ax.axhline(0, color="black", linewidth=0.8)
        _legend(ax, len(shown))
    if title:
        ax.set_title(title)
    return fig


__all__ = ["LifecycleResult", "LifecycleSeries", "plot_lifecycle"]
