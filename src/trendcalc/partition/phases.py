"""First phases of a partitioned query: the global values a plan needs before the partitions can
compute their partials — computed on every partition, combined exactly, and handed back to the
partitions (and to the coordinator's own plan) through the engine's ``QueryContext.given``.

- ``date_from: "all"`` starts at the earliest event of the series' event names (the engine's
  ``plan.earliest_event_us``: unfiltered, so the minimum over partitions is the minimum over
  the data set); stickiness' "all" is the first event of any name after 2015
  (``stickiness.first_event_us``). The manifest's time bounds are not enough: they are over
  every event name.
- Session filters and breakdowns read each row's session's facts; a session seen in more than
  one partition gets them from all its events (``sessions.py``: two phases gathering those
  events; the partitions then read a session table spliced with their facts).
- A histogram breakdown puts its bin edges on the numeric minimum and maximum of the property
  over the query's rows (``breakdown.numeric_bounds``): each partition reports them per query
  and histogram item over its rows, the coordinator takes the min of minima and the max of
  maxima, and the partitions then bucket with those edges, so their bins add up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from ..limits import Limits
from ..project import Project
from ..query.model import BreakdownItem, TrendsFilter
from ..store import EventStore
from .merge import needs_sessions
from .messages import reduces_by_fields
from .partials import partial_answers
from .sessions import shared_sessions
from .tasks import Map, Task, load_rows


@reduces_by_fields
@attrs.frozen
class Given:
    """What the first phases found: ``common`` facts of the whole query, and per planned query
    (in plan order) the facts of that query (histogram bounds); both go into ``ctx.given``."""

    common: Mapping[Any, Any] = attrs.Factory(dict)
    per_query: tuple[Mapping[Any, Any], ...] | None = None

    def apply(self, ctx: Any) -> None:
        """Put the common facts into a QueryContext (before it plans)."""
        ctx.given.update(self.common)

    def with_rows(self, handle: Any) -> Given:
        """These facts and a partition's persons' rows in the whole store (``tasks.load_rows``),
        which name the persons without an id as one store does (``QueryContext.person_ids``)."""
        return Given({**self.common, "person_rows": load_rows(handle)}, self.per_query)

    def for_store(self, store: EventStore) -> Given:
        """These facts for one partition: the events of sessions spanning partitions become its
        session table with their global facts (``sessions.spliced_sessions``)."""
        if "shared_sessions" not in self.common:
            return self
        from .sessions import spliced_sessions

        common = {k: v for k, v in self.common.items() if k != "shared_sessions"}
        common["sessions"] = spliced_sessions(store, self.common["shared_sessions"])
        return Given(common, self.per_query)

    def apply_query(self, ctx: Any, i: int) -> None:
        """Put query ``i``'s facts into the QueryContext (before it computes query ``i``)."""
        if self.per_query is not None:
            ctx.given.update(self.per_query[i])


NOTHING = Given()


def prepare(filt: TrendsFilter, project: Project, now: dt.datetime, limits: Limits, run: Map,
            check: Callable[[Mapping[Any, Any]], None] | None = None, known: Mapping[str, Any] | None = None) -> Given:
    """Run the first phases a Trends query needs (none for most): the earliest event for
    ``date_from: "all"``, then ``check`` (the up-front cost check, given that earliest event),
    then the sessions spanning partitions and the histogram bounds (whose rows depend on the range).
    ``known``: facts the manifest gave, passed on to every partition; the sessions spanning
    partitions stay here: ``shared_session_ids`` spare the phase that finds them, and
    ``shared_session_events`` (called only when the query reads session facts) gives their
    events as kept by the opened store (``PartitionedStore.shared_session_events``)."""
    known = known or {}
    common: dict[Any, Any] = {k: v for k, v in known.items() if k not in ("shared_session_ids", "shared_session_events")}
    if filt.date_from == "all" and filt.series:
        common["earliest_us"] = min_or_none(run(Task(earliest_us_of, (filt, project, now, limits))))
    if check is not None:
        check(common)
    if needs_sessions(filt, project):
        gather = known.get("shared_session_events")
        records = gather() if gather is not None else shared_sessions(run, known.get("shared_session_ids"))
        if records:
            common["shared_sessions"] = records
    items = histogram_items(filt)
    if not items:
        return Given(common) if common else NOTHING
    found = run(Task(histogram_bounds_of, (filt, project, now, limits, Given(common), items)))
    per_query = tuple({("histogram_bounds", item): _combine([p[i][j] for p in found]) for j, item in enumerate(items)}
                      for i in range(len(found[0]) if found else 0))
    return Given(common, per_query)


def min_or_none(values: Sequence[int | None]) -> int | None:
    """The least of the values that are not None (None: all are None)."""
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _combine(bounds: Sequence[tuple[float, float] | None]) -> tuple[float, float] | None:
    present = [b for b in bounds if b is not None]
    if not present:
        return None
    return min(b[0] for b in present), max(b[1] for b in present)


def histogram_items(filt: TrendsFilter) -> tuple[BreakdownItem, ...]:
    """The breakdown items binned into a histogram (cohort breakdowns have none)."""
    if filt.breakdown is None or filt.breakdown.items[0].type == "cohort":
        return ()
    return tuple(dict.fromkeys(i for i in filt.breakdown.items if i.histogram_bin_count is not None))


# --- the worker side ------------------------------------------------------------------------------


def earliest_us_of(store: EventStore, filt: TrendsFilter, project: Project, now: dt.datetime, limits: Limits) -> int | None:
    """This partition's earliest event of the series' event names (None: none occurs)."""
    from ..engine.plan import earliest_event_us
    from .partials import context

    ctx = context(store, filt, project, now, limits)
    return earliest_event_us(ctx, filt.series)


def histogram_bounds_of(store: EventStore, filt: TrendsFilter, project: Project, now: dt.datetime, limits: Limits,
                        given: Given, items: tuple[BreakdownItem, ...]) -> list[list[tuple[float, float] | None]]:
    """Per planned query, per histogram item: the numeric (min, max) over this partition's rows
    of the query — the rows the engine's breakdown grouping reads (None: no numeric value)."""
    from ..engine.breakdown import numeric_bounds, source_of
    from ..engine.math import effective_series
    from ..engine.trends import build_frame, plan_queries
    from .partials import context

    ctx = context(store, filt, project, now, limits)
    given.for_store(store).apply(ctx)
    out: list[list[tuple[float, float] | None]] = []
    for q in plan_queries(ctx):
        series = effective_series(q.series, filt.interval)
        frame = build_frame(ctx, q if series is q.series else attrs.evolve(q, series=series))
        if frame is None or q.cohort is not None:
            out.append([None] * len(items))
            continue
        rows = frame.row_key if frame.breakdown_rows is None else frame.breakdown_rows
        row: list[tuple[float, float] | None] = []
        for item in items:
            source = source_of(item.type)
            row.append(None if source is None else numeric_bounds(source(ctx, item, rows)))
        out.append(row)
    return out


def partial_answers_in(store: EventStore, filt: TrendsFilter, project: Project, now: dt.datetime, limits: Limits,
                       given: Given, *rows: Any) -> list[Any]:
    """``partials.partial_answers`` with the first phases' facts and (when given: ``rows``, a
    ``tasks.RowsHandle``) the partition's persons' rows in the whole store."""
    given = given.for_store(store)
    return partial_answers(store, filt, project, now, limits, given.with_rows(rows[0]) if rows else given)
