"""What PostHog echoes of the query in every result series: the ``action`` dict (the series as
the response describes it) and the ``filter`` dict (the query's resolved dates, interval,
display, breakdown and display-only fields). Shaping, kept apart from the computation."""

from __future__ import annotations

from typing import Any

import attrs

from .context import QueryContext
from .plan import Query


def action_dict(ctx: QueryContext, q: Query) -> dict[str, Any]:
    s = q.series
    return {
        "days": q.axis.action_day_strings(),
        "id": None if s.kind == "group" else s.id,
        "type": "events",
        "order": s.index,
        "name": s.label,
        "custom_name": s.custom_name,
        "math": s.math,
        "math_property": s.math_property,
        "math_hogql": s.math_hogql,
        "math_group_type_index": s.math_group_type_index,
        "properties": {},
    }


def filter_dict(ctx: QueryContext, q: Query) -> dict[str, Any]:
    def build() -> dict[str, Any]:
        filt = ctx.filter
        date_from, date_to = q.axis.label_range_strings()  # the current period's, also on previous-period series
        d: dict[str, Any] = {
            "insight": "TRENDS",
            "properties": properties_dict(filt.properties),
            "filter_test_accounts": filt.filter_test_accounts,
            "date_from": date_from,
            "date_to": date_to,
            "entity_type": "events",
            "interval": filt.interval,
            "display": filt.display,
        }
        if filt.sampling_factor is not None:
            d["sampling_factor"] = filt.sampling_factor
        if filt.aggregation_group_type_index is not None:
            d["aggregation_group_type_index"] = filt.aggregation_group_type_index
        if filt.smoothing_intervals != 1:
            d["smoothingIntervals"] = filt.smoothing_intervals
        if filt.formulas:
            d["formula"] = filt.formulas[0].text
        if filt.compare:
            d["compare"] = True
        if filt.breakdown is not None:
            b = filt.breakdown
            if b.multi:
                d["breakdowns"] = [attrs.asdict(i, filter=lambda a, _v: not a.metadata.get("internal")) for i in b.items]
            else:
                d["breakdown"] = b.items[0].property if not isinstance(b.items[0].property, tuple) else list(b.items[0].property)
                d["breakdown_type"] = b.items[0].type
            d["breakdown_limit"] = b.limit
        d.update(dict(filt.echo))
        return d

    return ctx.memo(("filter_dict", id(q.axis)), build)


def properties_dict(group) -> Any:
    if not group.values:
        return {}
    return attrs.asdict(group, filter=lambda a, _v: not a.metadata.get("internal"))
