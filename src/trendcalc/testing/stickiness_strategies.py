"""Hypothesis strategies for Stickiness: legacy filters (``shown_as: "Stickiness"``) and
``StickinessQuery`` dicts over the worlds of ``testing.strategies``, and scenarios whose expected
answer comes from ``testing.reference_stickiness``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from ..limits import Limits
from . import strategies as tst
from .reference_stickiness import reference_stickiness

# Maths a stickiness series can carry: persons for all but unique_group (groups).
MATHS = ("total", "dau", "unique_group", "weekly_active", "monthly_active")
CRITERIA_OPERATORS = ("gte", "lte", "exact")


@st.composite
def stickiness_filters(draw: st.DrawFn, **kwargs: Any) -> dict[str, Any]:
    """A legacy stickiness filter: a Trends filter (no breakdown, formula or smoothing) with
    ``shown_as: "Stickiness"`` or ``insight: "STICKINESS"``. ``kwargs`` go to ``trends_filters``."""
    kwargs.setdefault("maths", MATHS)
    q = draw(tst.trends_filters(breakdown=False, formula=False, max_smoothing=1,
                                displays=("ActionsLineGraph", "ActionsBar"), **kwargs))
    q.pop("aggregation_group_type_index", None)
    if draw(st.integers(0, 3)) == 0:
        q["insight"] = "STICKINESS"
    else:
        q["shown_as"] = "Stickiness"
    return q


@st.composite
def stickiness_queries(draw: st.DrawFn, **kwargs: Any) -> dict[str, Any]:
    """A ``{"kind": "StickinessQuery"}`` dict: the query form of ``stickiness_filters`` plus
    ``intervalCount``, cumulative mode and ``stickinessCriteria`` now and then."""
    legacy = draw(stickiness_filters(**kwargs))
    q = tst.to_trends_query({k: v for k, v in legacy.items() if k not in ("shown_as", "insight")})
    q["kind"] = "StickinessQuery"
    q.pop("trendsFilter", None)
    if draw(st.integers(0, 2)) == 0:
        q["intervalCount"] = draw(st.sampled_from((1, 2, 3, 7)))
    sf: dict[str, Any] = {}
    if draw(st.integers(0, 2)) == 0:
        sf["computedAs"] = draw(st.sampled_from(("cumulative", "non_cumulative")))
    if draw(st.integers(0, 2)) == 0:
        op = draw(st.sampled_from(CRITERIA_OPERATORS))
        sf["stickinessCriteria"] = {"operator": op, "value": draw(st.integers(0 if op == "gte" else 1, 3))}
    if sf or draw(st.integers(0, 1)) == 1:
        q["stickinessFilter"] = sf
    return q


@dataclass(frozen=True)
class StickinessScenario:
    """A world and a stickiness query over it."""

    world: tst.World
    query: dict[str, Any]

    def expected(self, limits: Limits | None = None) -> list[dict[str, Any]]:
        """The reference answer (series dicts without ``action``)."""
        w = self.world
        return reference_stickiness(w.events, w.persons, w.groups, query=self.query, project=w.project, now=w.now,
                                    limits=limits or Limits())


@st.composite
def stickiness_scenarios(draw: st.DrawFn, *, query_form: bool | None = None, max_events: int = 30,
                         timezone: str | None = None, **kwargs: Any) -> StickinessScenario:
    """A world and a stickiness query (legacy or query form; None = either) over it."""
    tz = timezone or draw(tst.timezones())
    w = draw(tst.worlds(max_events=max_events, timezone=tz))
    kwargs.setdefault("cohort_ids", [c["id"] for c in w.project.cohorts])
    common = {"now": w.now, "timezone": w.project.timezone, "action_ids": [a["id"] for a in w.project.actions], **kwargs}
    use_query = draw(st.booleans()) if query_form is None else query_form
    q = draw(stickiness_queries(**common) if use_query else stickiness_filters(**common))
    return StickinessScenario(w, q)


__all__ = ["StickinessScenario", "stickiness_filters", "stickiness_queries", "stickiness_scenarios"]
