"""One result dict (time-math-breakdown.md §3) and its post-processing: cumulative (§5.2),
smoothing (§9.1), integral rendering and the sampling correction (§10.1)."""

from __future__ import annotations

import math
from typing import Any

from ...project import Project
from ...query.model import TrendsFilter
from .maths import COUNTING_MATHS, effective_math
from .sampling import correct_for_sampling
from .supported import CUMULATIVE_DISPLAY, TOTAL_VALUE_DISPLAYS
from .timeaxis import Query, day_string, label


def cumulative_forward_filled(values: list[float]) -> list[float]:
    """§5.2 without a breakdown: running total; then every bucket after the first whose value is
    <= 0 takes the previous bucket's value (PostHog's arrayFill)."""
    out = running_sum(values)
    for i in range(1, len(out)):
        if out[i] <= 0:
            out[i] = out[i - 1]
    return out


def running_sum(values: list[float]) -> list[float]:
    """§5.2 with a breakdown: an exact running sum."""
    out, total = [], 0.0
    for v in values:
        total += v
        out.append(total)
    return out


def smooth(values: list[float], n: int) -> list[float]:
    """§9.1: floor of the mean of the last min(i+1, n) values."""
    out = []
    for i in range(len(values)):
        window = values[max(0, i + 1 - n): i + 1]
        out.append(float(math.floor(math.fsum(window) / len(window))))  # the exact sum of the window
    return out


def render_numbers(values: list[float]) -> list[int | float]:
    """Integral series render as ints, any other as floats."""
    if all(v == int(v) for v in values):
        return [int(v) for v in values]
    return [float(v) for v in values]


def series_dict(filt: TrendsFilter, project: Project, q: Query, values: list[float], *, label_text: str,
                breakdown: Any = None, has_breakdown: bool = False, forward_fill: bool) -> dict[str, Any]:
    """§3.1/§3.2: one result dict (without ``filter`` and ``action``)."""
    d: dict[str, Any] = {"label": label_text, "order": q.series.index}
    if filt.display in TOTAL_VALUE_DISPLAYS:
        v = values[0] if values else 0.0
        counting = effective_math(q.series.math, filt.interval) in COUNTING_MATHS
        math_name = effective_math(q.series.math, filt.interval)
        aggregated = int(v) if counting else float(v)
        d.update(data=[], days=[], count=0, aggregated_value=correct_for_sampling(aggregated, filt.sampling_factor, math_name))
    else:
        data = list(values)
        if filt.display == CUMULATIVE_DISPLAY:
            data = cumulative_forward_filled(data) if forward_fill else running_sum(data)
        if filt.smoothing_intervals > 1 and not has_breakdown:
            data = smooth(data, filt.smoothing_intervals)
        rendered = render_numbers(data)
        count = (rendered[-1] if rendered else 0) if filt.display == CUMULATIVE_DISPLAY else float(sum(data))
        math_name = effective_math(q.series.math, filt.interval)
        d.update(
            data=[correct_for_sampling(v, filt.sampling_factor, math_name) for v in rendered],  # §10.1: per point
            days=[day_string(s, q.range.interval) for s in q.starts],
            labels=[label(s, q.range.interval, q.label_range or q.range, project.week_start_day) for s in q.starts],
            count=correct_for_sampling(count, filt.sampling_factor, math_name),
        )
    if has_breakdown:
        d["breakdown_value"] = list(breakdown) if isinstance(breakdown, tuple) else breakdown
    if q.period is not None:
        d.update(compare=True, compare_label=q.period)
    return d
