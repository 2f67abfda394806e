"""The up-front cost check of a partitioned Trends query: the single store's estimate
(``engine/cost.py``) over all the partitions, and its refusal, before any partition computes.

The estimate reads per planned query a few store facts — rows in the window (binary searches per
event name), rows touched, and per breakdown item how many values its dictionary holds
(``engine.cost.QueryFacts``). Every partition reports its facts in a cheap first phase
(``facts_of``: no row is read); the coordinator adds them up (``combine``) and runs the engine's
own estimate and check on the sums, so a query the single store refuses for ``max_work``,
``max_cells`` or ``max_breakdown_cells`` is refused here with the same ValidationError.

Rows add exactly (a row is in one partition). A breakdown item's value bound is the most any
partition reports when the partitions share the whole store's dictionaries (partitions of an
EventStore held in memory, or saved before compact dictionaries: the single store's bound), and
their sum when each partition has its own (streamed from files: the union of the values has at
most that many) — an upper bound, as every bound of the estimate is. Partitions saved from an
EventStore hold compact event and person property dictionaries (``compact.py``): the manifest
then records the whole store's bound of every such property (``"value_bounds"``), which event
items, stored person properties and the event-property fallback of ``event_metadata`` take as
is; every other item (groups, copied whole; cohorts; event names; virtual person properties,
derived per partition) is still shared, its most. distinct_ids and persons are never shared:
their bounds add. (Stickiness and lifecycle run the same check with their own plans,
``insights.check_insight_cost``, without breakdowns: they read no value bound.)

The facts depend on the data and the plan only, so the coordinator keeps each query's combined
facts per opened store (``memo``): a query asked again pays no phase. And most queries need no
facts at all: the estimate only grows with them, so when it is within the limits with every
fact at its largest — every event of the store in every query's window, every row its own
breakdown value — the exact estimate is too (``fits_at_full_size``). A query with a moving clock
(``now=None``: a new window every call, which no memo serves) then pays no phase either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from ..engine.cost import QueryFacts, check_estimate, estimate, query_facts
from ..errors import ValidationError
from ..limits import Limits
from ..project import Project
from ..query.model import TrendsFilter
from ..recent import Recent
from ..store import EventStore
from ..store.virtual import VIRTUAL
from .compact import COMPACT
from .tasks import Map, Task

PER_PARTITION_KEYS = frozenset({("event_metadata", "distinct_id"), ("event_metadata", "person_id")})
"""Breakdown items whose values are never shared between partitions (each partition numbers its
own distinct_ids and persons)."""
METADATA_OWN_BOUNDS = frozenset({"distinct_id", "event", "person_id"})
"""The ``event_metadata`` keys ``engine.cost._metadata_values`` bounds by the store's own
tables; any other key is bounded as the event property of that name."""


def facts_of(store: EventStore, filt: TrendsFilter, project: Project, now: dt.datetime, limits: Limits,
             earliest: dict[str, Any]) -> list[QueryFacts]:
    """This partition's facts of every planned query (``earliest``: ``date_from: "all"``'s
    earliest event over all partitions, when the query has one)."""
    from ..engine.trends import plan_queries
    from .partials import context

    ctx = context(store, filt, project, now, limits)
    ctx.given.update(earliest)
    return query_facts(ctx, plan_queries(ctx))


ValueBounds = Mapping[str, Mapping[str, int]]
"""The whole store's value bound per event and per person property key (the manifest's
``"value_bounds"``: ``{"event": {key: n}, "person": {key: n}}``)."""


def dictionaries_of(manifest: Mapping[str, Any]) -> tuple[bool, ValueBounds | None]:
    """(``shared``, ``value_bounds``) for ``combine`` from a partitioned store's manifest:
    ``"shared"`` dictionaries, or ``"compact"`` ones with the whole store's bounds; anything else
    (``"per-partition"``, or compact without readable bounds) adds the partitions' bounds."""
    kind = manifest.get("dictionaries")
    if kind == "shared":
        return True, None
    bounds = manifest.get("value_bounds")
    if kind == COMPACT and isinstance(bounds, Mapping) and all(isinstance(bounds.get(s), Mapping) for s in ("event", "person")):
        return True, bounds
    return False, None


def _store_bound(item: Any, value_bounds: ValueBounds | None) -> int | None:
    """The whole store's bound of a breakdown item read from a property the partitions hold in
    compact dictionaries (None: not one of those, or not recorded)."""
    if value_bounds is None or not isinstance(item.property, str):
        return None
    key = item.property
    if item.type == "event" or (item.type == "event_metadata" and key not in METADATA_OWN_BOUNDS):
        scope = "event"
    elif item.type == "person" and key not in VIRTUAL:  # (a virtual column is derived, never stored)
        scope = "person"
    else:
        return None
    found = value_bounds[scope].get(key)
    return int(found) if isinstance(found, int) and not isinstance(found, bool) else None


def combine(filt: TrendsFilter, per_partition: Sequence[Sequence[QueryFacts]], shared: bool,
            value_bounds: ValueBounds | None = None) -> list[QueryFacts]:
    """The whole store's facts of each query from the partitions' (``shared``: the partitions
    share the whole store's dictionaries, or hold compact ones whose whole store's bounds are
    ``value_bounds``, ``dictionaries_of``)."""
    items = filt.breakdown.items if filt.breakdown is not None else ()
    adds = [not shared or (item.type, item.property) in PER_PARTITION_KEYS for item in items]
    fixed = [_store_bound(item, value_bounds) for item in items]
    out = []
    for facts in zip(*per_partition):
        bounds: list[int | None] = []
        for j in range(len(facts[0].bounds)):
            values = [f.bounds[j] for f in facts]
            if any(v is None for v in values):
                bounds.append(None)
            elif fixed[j] is not None:
                bounds.append(fixed[j])
            else:
                known = [int(v) for v in values if v is not None]
                bounds.append(sum(known) if adds[j] else max(known))
        out.append(QueryFacts(rows=sum(f.rows for f in facts), touched=sum(f.touched for f in facts),
                              bounds=tuple(bounds), shared=any(f.shared for f in facts)))
    return out


def fits_at_full_size(ctx: Any, queries: Sequence[Any], n_events: int | None, outputs_per_bucket: int = 1, *,
                      breakdown: bool = True) -> bool:
    """Whether the estimate of ``queries`` is within the limits whatever the partitions' facts:
    with each query reading all ``n_events`` events (rows and touched rows), every breakdown item
    bounded by the rows only, and every query's rows counted for the shared filters. Each term of
    ``engine.cost.estimate`` is non-decreasing in these, so the exact estimate is within the
    limits too and the check needs no facts phase. False when ``n_events`` is unknown (None)."""
    if n_events is None:
        return False
    b = ctx.filter.breakdown if breakdown else None
    n_items = len(b.items) if b is not None else 0
    largest = [QueryFacts(rows=n_events, touched=n_events, bounds=(None,) * n_items, shared=True) for _ in queries]
    try:
        check_estimate(ctx, estimate(ctx, queries, outputs_per_bucket, breakdown=breakdown, facts=largest), len(queries))
    except ValidationError:
        return False
    return True


def check_partitioned_cost(ctx: Any, queries: list[Any], run: Map, filt: TrendsFilter, project: Project,
                           now: dt.datetime, limits: Limits, earliest: dict[str, Any], shared: bool,
                           memo: Recent[Any] | None = None, value_bounds: ValueBounds | None = None) -> list[QueryFacts]:
    """Raise the single store's ValidationError when the estimate over all partitions exceeds a
    limit (``ctx``/``queries``: the coordinator's plan); else return the combined facts (which
    also say how many breakdown values a query may have, ``topn.py``). ``shared`` and
    ``value_bounds``: as ``combine`` takes them. ``memo``: combined facts
    kept per (query, clock, limits, earliest) for this opened store, once they passed the check
    (a query refused is refused again: it asks the partitions again)."""
    key = (id(filt), id(project), now, limits, earliest.get("earliest_us"))
    hit = memo.find(key) if memo is not None else None
    if hit is not None and hit[0] is filt and hit[1] is project:
        return hit[2]  # checked when stored: the estimate is a function of the key's values
    facts = combine(filt, run(Task(facts_of, (filt, project, now, limits, earliest))), shared, value_bounds)
    if len(facts) != len(queries):
        raise AssertionError("partitions planned different queries")  # planning reads no rows
    check_estimate(ctx, estimate(ctx, queries, facts=facts), len(queries))
    if memo is not None:
        memo.put(key, (filt, project, facts))
    return facts


__all__ = ["ValueBounds", "check_partitioned_cost", "combine", "dictionaries_of", "facts_of", "fits_at_full_size"]
