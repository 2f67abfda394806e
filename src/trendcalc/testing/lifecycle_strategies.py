"""Hypothesis strategies for Lifecycle scenarios: worlds whose persons and groups carry
``created_at`` (before, at or after their activity, or unknown), some personless events, and a
lifecycle query over them in the legacy form (``shown_as: "Lifecycle"``, sometimes with the
Trends fields the legacy engine ignores) or as a ``LifecycleQuery``.

    from trendcalc.testing.lifecycle_strategies import lifecycle_scenarios
    @given(lifecycle_scenarios())
    def test(s): assert tc.lifecycle(s.world.store(), s.query, ...).to_dicts() == s.expected()
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from hypothesis import strategies as st

from ..limits import Limits
from . import strategies as tst
from .world_strategies import tc_timestamp

LIFECYCLE_INTERVALS = ("hour", "day", "week", "month")
IGNORED_LEGACY = ("display", "breakdown", "breakdown_type", "breakdowns", "compare", "compare_to", "formula",
                  "smoothing_intervals", "breakdown_limit", "breakdown_hide_other_aggregation",
                  "breakdown_group_type_index", "breakdown_normalize_url", "breakdown_histogram_bin_count")


@dataclass(frozen=True)
class LifecycleScenario:
    """A world and a lifecycle query over it."""

    world: tst.World
    query: dict[str, Any]

    def expected(self, limits: Limits | None = None) -> list[dict[str, Any]]:
        """The plain reference's answer (``testing.reference_lifecycle``)."""
        from .reference_lifecycle import reference_lifecycle

        w = self.world
        return reference_lifecycle(w.events, w.persons, w.groups, query=self.query, project=w.project, now=w.now,
                                   limits=limits or Limits())


def _stamp(d: dt.datetime) -> str:
    return d.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@st.composite
def created_ats(draw: st.DrawFn, first: dt.datetime | None, now: dt.datetime) -> str | None:
    """A created_at: unknown, at the first activity, shortly before or after it, or anywhere."""
    kind = draw(st.sampled_from(("none", "first", "first", "before", "after", "random")))
    if kind == "none":
        return None
    base = first or now
    if kind == "first":
        return _stamp(base)
    if kind == "before":
        return _stamp(base - dt.timedelta(hours=draw(st.integers(1, 24 * 40))))
    if kind == "after":
        return _stamp(base + dt.timedelta(hours=draw(st.integers(1, 24 * 10))))
    return _stamp(now - dt.timedelta(hours=draw(st.integers(0, 24 * 100))))


@st.composite
def lifecycle_worlds(draw: st.DrawFn, *, max_events: int = 30, timezone: str | None = None,
                     min_days: int = -100, event_names: Sequence[str] = tst.EVENT_NAMES) -> tst.World:
    """``strategies.worlds`` with created_at on persons and groups and some personless events
    (events within [now+min_days, now+2 days])."""
    w = draw(tst.worlds(max_events=max_events, timezone=timezone, min_days=min_days, event_names=event_names))
    first: dict[str, dt.datetime] = {}
    for e in w.events:
        ts = tc_timestamp(e["timestamp"])
        d = str(e["distinct_id"])
        first[d] = min(first.get(d, ts), ts)
    persons = []
    for p in w.persons:
        seen = [first[str(d)] for d in p["distinct_ids"] if str(d) in first]
        persons.append({**p, "created_at": draw(created_ats(min(seen) if seen else None, w.now))})
    groups = [{**g, "created_at": draw(created_ats(None, w.now))} for g in w.groups]
    events = []
    for e in w.events:
        if draw(st.integers(0, 7)) == 0:
            flag = draw(st.sampled_from((False, "false", True)))
            e = {**e, "properties": {**(e.get("properties") or {}), "$process_person_profile": flag}}
        events.append(e)
    return replace(w, events=events, persons=persons, groups=groups)


def to_lifecycle_query(legacy: dict[str, Any]) -> dict[str, Any]:
    """The ``LifecycleQuery`` form of a legacy lifecycle filter from ``lifecycle_filters``."""
    q = tst.to_trends_query({k: v for k, v in legacy.items() if k not in IGNORED_LEGACY and k != "shown_as"})
    out = {k: v for k, v in q.items() if k not in ("breakdownFilter", "trendsFilter", "compareFilter")}
    out["kind"] = "LifecycleQuery"
    return out


@st.composite
def lifecycle_filters(draw: st.DrawFn, *, now: dt.datetime, timezone: str, action_ids: Sequence[int] = (),
                      cohort_ids: Sequence[Any] = (), intervals: Sequence[str] = LIFECYCLE_INTERVALS,
                      max_series: int = 2, filters: bool | None = None,
                      event_names: Sequence[str] = tst.EVENT_NAMES) -> dict[str, Any]:
    """A legacy lifecycle filter (``shown_as: "Lifecycle"``), built from ``trends_filters`` (its
    breakdown/compare/formula/display fields are kept now and then: the engine ignores them)."""
    q = draw(tst.trends_filters(now=now, timezone=timezone, action_ids=action_ids, cohort_ids=cohort_ids,
                                intervals=intervals, max_series=max_series, max_smoothing=1, filters=filters,
                                event_names=event_names))
    if draw(st.booleans()):
        for k in IGNORED_LEGACY:
            q.pop(k, None)
    q["shown_as"] = "Lifecycle"
    return q


@st.composite
def lifecycle_scenarios(draw: st.DrawFn, *, max_events: int = 30, timezone: str | None = None,
                        query_form: bool | None = None, intervals: Sequence[str] = LIFECYCLE_INTERVALS,
                        dense: bool = False) -> LifecycleScenario:
    """A world and a lifecycle query (legacy form or LifecycleQuery; ``query_form`` None = either).
    ``dense``: the events fall in the last three weeks and the query has no property filters,
    so most actors go through several statuses."""
    tz = timezone or draw(tst.timezones())
    names = ("$pageview", "purchase") if dense else tst.EVENT_NAMES
    w = draw(lifecycle_worlds(max_events=max_events, timezone=tz, min_days=-21 if dense else -100, event_names=names))
    q = draw(lifecycle_filters(now=w.now, timezone=w.project.timezone, action_ids=[a["id"] for a in w.project.actions],
                               cohort_ids=[c["id"] for c in w.project.cohorts], intervals=intervals,
                               filters=False if dense else None, event_names=names))
    if query_form or (query_form is None and draw(st.integers(0, 1)) == 1):
        q = to_lifecycle_query(q)
        q.pop("aggregation_group_type_index", None)
        if draw(st.integers(0, 3)) == 0:
            q["aggregation_group_type_index"] = draw(st.sampled_from((0, 1)))
    return LifecycleScenario(w, q)


__all__ = ["LifecycleScenario", "lifecycle_filters", "lifecycle_scenarios", "lifecycle_worlds", "to_lifecycle_query"]
