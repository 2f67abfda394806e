"""Display modes: one entry per ChartDisplayType PostHog accepts, saying how its numbers are shaped."""

from __future__ import annotations

import attrs


@attrs.frozen
class DisplayMode:
    name: str
    total_value: bool = False  # one aggregated_value over the whole range instead of buckets
    cumulative: bool = False
    exact_timerange: bool = False  # BoldNumber: relative dates are not truncated (§1.9)
    breakdown_limit: int | None = None  # a fixed breakdown limit (WorldMap: 250)


DISPLAYS: dict[str, DisplayMode] = {
    m.name: m
    for m in (
        DisplayMode("ActionsLineGraph"),
        DisplayMode("ActionsBar"),
        DisplayMode("ActionsStackedBar"),
        DisplayMode("ActionsUnstackedBar"),
        DisplayMode("ActionsAreaGraph"),
        DisplayMode("ActionsLineGraphCumulative", cumulative=True),
        DisplayMode("ActionsTable", total_value=True),
        DisplayMode("ActionsPie", total_value=True),
        DisplayMode("ActionsBarValue", total_value=True),
        DisplayMode("WorldMap", total_value=True, breakdown_limit=250),
        DisplayMode("BoldNumber", total_value=True, exact_timerange=True),
        # PostHog routes these to other runners (engine.supported says trendcalc does not).
        DisplayMode("CalendarHeatmap"),
        DisplayMode("BoxPlot"),
        DisplayMode("SlopeGraph"),
    )
}
