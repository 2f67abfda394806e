"""The public entry points: ``trends()``, ``stickiness()``, ``lifecycle()``, ``actors()`` and ``parse_filter()``."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, cast

import attrs

from .errors import QueryWarning, TrendcalcWarning, ValidationError
from .lifecycle_result import LifecycleResult
from .limits import DEFAULT_LIMITS, Limits
from .partition.store import PartitionedStore
from .project import Project
from .query.lifecycle import LifecycleQuery, is_lifecycle
from .query.model import TrendsFilter
from .query.parse import parse_filter as _parse_filter
from .query.stickiness import StickinessQuery, is_stickiness
from .results import ActorsResult, TrendsResult
from .stickiness_result import StickinessResult
from .store import EventStore


def parse_filter(query: Any, *, limits: Limits = DEFAULT_LIMITS) -> TrendsFilter:
    """Validate a legacy filter dict or a TrendsQuery dict into a TrendsFilter (no data needed):
    the pure parse, then the engine's check that it computes everything the query asks for."""
    from .engine.supported import check_supported

    return check_supported(_parse_filter(query, limits=limits))


def trends(
    store: EventStore | PartitionedStore,
    query: Mapping[str, Any] | TrendsFilter,
    *,
    project: Project | Mapping[str, Any] | None = None,
    now: str | dt.datetime | None = None,
    limits: Limits = DEFAULT_LIMITS,
    executor: Any = None,
) -> TrendsResult:
    """Answer a Trends query over ``store``; a pure function of (store, query, project, now).

    Raises ValidationError (bad input, with its JSON path) or UnsupportedError (a valid PostHog
    feature not implemented here); never returns a partial answer.

    ``store`` may be a ``PartitionedStore`` (``tc.partition``): the partitions run on
    ``executor`` — None (here, one after another), ``"processes"`` (a local process pool), a
    ``concurrent.futures.Executor`` or a ``dask.distributed.Client`` — and their answers merge
    exactly, or the query raises UnsupportedError before any partition runs (docs/scale-out.md).
    A partitioned store gives the same advice warnings, from its manifest.
    """
    if is_stickiness(query):  # shown_as "Stickiness" / insight STICKINESS: the endpoint answered stickiness
        return stickiness(store, cast(Mapping[str, Any], query), project=project, now=now, limits=limits, executor=executor)
    if is_lifecycle(query) and not isinstance(query, TrendsFilter):  # shown_as "Lifecycle" / LIFECYCLE /
        return lifecycle(store, query, project=project, now=now, limits=limits, executor=executor)  # LifecycleQuery: as the endpoint did
    from .engine.supported import check_project  # (the engine loads on first use, not at import)
    from .engine.trends import resolve_now, run_trends

    store, project = _check_inputs(store, project, limits, partitioned=True)
    filt = parse_filter(query, limits=limits)
    check_project(filt, project, limits)
    clock = resolve_now(now)
    from .engine.advice import advise, range_advice

    outline = _outline(store)
    advice = advise(outline, filt, project)
    if isinstance(store, PartitionedStore):
        from .partition.run import run_partitioned

        result = run_partitioned(store, filt, project, clock, limits, executor)
    else:
        _no_executor(executor)
        result = run_trends(store, filt, project, clock, limits)
    if result.series:
        first = result.series[0].filter
        advice += range_advice(outline, filt, first.get("date_from"), first.get("date_to"), clock)
    return _with_warnings(result, advice)


def _outline(store: EventStore | PartitionedStore) -> Any:
    """What advice reads of ``store`` (``engine/advice.py``): a partitioned store's from its manifest."""
    if isinstance(store, PartitionedStore):
        from .partition.outline import manifest_outline

        return manifest_outline(store)
    from .engine.advice import store_outline

    return store_outline(store)


def stickiness(
    store: EventStore | PartitionedStore,
    query: Mapping[str, Any] | StickinessQuery,
    *,
    project: Project | Mapping[str, Any] | None = None,
    now: str | dt.datetime | None = None,
    limits: Limits = DEFAULT_LIMITS,
    executor: Any = None,
) -> StickinessResult:
    """Answer a Stickiness query over ``store``: how many actors were active on exactly 1, 2, ...
    N of the range's intervals (PostHog's StickinessQueryRunner).

    ``query`` is a legacy filter dict with ``shown_as: "Stickiness"`` (or ``insight:
    "STICKINESS"``) or a ``{"kind": "StickinessQuery", ...}`` dict. Pure, like ``trends()``;
    raises ValidationError / UnsupportedError the same way. ``store`` may be a PartitionedStore
    (run on ``executor`` as by ``trends()``).
    """
    from .engine.stickiness import run_stickiness, stickiness_advice
    from .engine.supported import check_project
    from .engine.trends import resolve_now
    from .query.stickiness import parse_stickiness

    store, project = _check_inputs(store, project, limits, partitioned=True)
    q = parse_stickiness(query, limits=limits)
    check_project(q.base, project, limits)
    clock = resolve_now(now)
    if isinstance(store, PartitionedStore):
        from .partition.insights import stickiness_partitioned
        from .partition.partials import empty_store

        result = _on_partitions(store, executor, stickiness_partitioned, q, project, clock, limits, n_events=len(store),
                                shared_sessions=store.shared_session_events)
        return _with_warnings(result, stickiness_advice(empty_store(), q, project, clock, limits, _outline(store)))
    _no_executor(executor)
    result = run_stickiness(store, q, project, clock, limits)
    advice = stickiness_advice(store, q, project, clock, limits)
    return _with_warnings(result, advice)


def lifecycle(
    store: EventStore | PartitionedStore,
    query: Mapping[str, Any] | LifecycleQuery,
    *,
    project: Project | Mapping[str, Any] | None = None,
    now: str | dt.datetime | None = None,
    limits: Limits = DEFAULT_LIMITS,
    executor: Any = None,
) -> LifecycleResult:
    """Answer a Lifecycle query: per bucket, how many actors were new, returning, resurrecting
    and dormant (negative), with PostHog's definitions (see docs/lifecycle.md).

    ``query`` is a legacy filter dict (``shown_as: "Lifecycle"`` or ``insight: "LIFECYCLE"``,
    answered as PostHog's legacy engine did: weeks start on Monday) or a ``{"kind":
    "LifecycleQuery", ...}`` dict (PostHog's query runner: the project's week start). Pure in
    (store, query, project, now); raises ValidationError / UnsupportedError like ``trends()``.
    ``store`` may be a PartitionedStore (run on ``executor`` as by ``trends()``).
    """
    from .engine.advice import advise, legacy_lifecycle_advice
    from .engine.lifecycle import run_lifecycle
    from .engine.supported import check_project, check_supported
    from .engine.trends import resolve_now
    from .query.lifecycle import parse_lifecycle

    store, project = _check_inputs(store, project, limits, partitioned=True)
    lq = parse_lifecycle(query, limits=limits)
    check_supported(lq.base)
    check_project(lq.base, project, limits)
    advice = advise(_outline(store), lq.base, project) + [
        QueryWarning("not_read", (k,), f"{k!r} is not read by a lifecycle (PostHog ignores it too)") for k in lq.ignored]
    if lq.engine == "legacy":
        advice += legacy_lifecycle_advice(_outline(store))
    if isinstance(store, PartitionedStore):
        from .partition.insights import lifecycle_partitioned

        result = _on_partitions(store, executor, lifecycle_partitioned, lq, project, resolve_now(now), limits,
                                n_events=len(store), shared_sessions=store.shared_session_events)
    else:
        _no_executor(executor)
        result = run_lifecycle(store, lq, project, resolve_now(now), limits)
    return _with_warnings(result, advice)


def actors(
    store: EventStore | PartitionedStore,
    query: Mapping[str, Any] | TrendsFilter,
    *,
    project: Project | Mapping[str, Any] | None = None,
    now: str | dt.datetime | None = None,
    series: int | None = None,
    day: str | int | dt.datetime | dt.date | None = None,
    breakdown: str | int | float | Sequence[str | int | float] | None = None,
    compare: str | None = None,
    include_recordings: bool | None = None,
    select: Sequence[str] | None = None,
    order_by: Sequence[str] | None = None,
    limit: int | None = None,
    offset: int | None = None,
    status: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    executor: Any = None,
) -> ActorsResult:
    """The persons (or groups) behind one data point of a Trends result: PostHog's
    InsightActorsQuery over the Trends ``query``, run as an ActorsQuery.

    ``query`` is what ``trends()`` takes, or an ``{"kind": "InsightActorsQuery", "source": ...}``
    / ``{"kind": "ActorsQuery", "source": {"kind": "InsightActorsQuery", ...}}`` dict carrying the
    request fields itself. The point: ``series`` (index into the query's series, default 0),
    ``day`` (the result's ``days`` value; required for time series, not allowed for total-value
    displays; for a stickiness query the number of intervals: the actors active on exactly that
    many, or at least that many in cumulative mode), ``breakdown`` (the result's ``breakdown_value``), ``compare`` ("current" or
    "previous"). The rows: ``select`` (column names), ``order_by`` ("event_count DESC", ...),
    ``limit`` (default 100, at most 50,000) and ``offset``; ``include_recordings`` allows the
    ``matched_recordings`` column. A bad request raises ValidationError with its path, e.g.
    ``("actors_request", "day")``. Pure, like ``trends()``.

    With a lifecycle query (``lifecycle()``'s forms) the point is ``status`` (new, returning,
    resurrecting, dormant; also the InsightActorsQuery's ``status``) on ``day``.

    ``store`` may be a PartitionedStore: each partition's candidates for the page are merged
    and ordered as one store orders them (run on ``executor`` as by ``trends()``).
    """
    from .engine.actors.route import answer_actors, plan_actors
    from .engine.trends import resolve_now

    store, project = _check_inputs(store, project, limits, partitioned=True)
    overrides = {
        "series": series, "day": day, "breakdown": breakdown, "compare": compare,
        "include_recordings": include_recordings, "select": select, "order_by": order_by,
        "limit": limit, "offset": offset,
    }
    plan = plan_actors(query, overrides, status, project, limits)
    if isinstance(store, PartitionedStore):
        from .partition.actors import actors_partitioned

        return _on_partitions(store, executor, actors_partitioned, plan, project, resolve_now(now), limits,
                              shared_sessions=store.shared_session_events)
    _no_executor(executor)
    return answer_actors(store, plan, project, resolve_now(now), limits)


def _with_warnings(result: Any, advice: Sequence[QueryWarning]) -> Any:
    """``result`` carrying ``advice`` as its warnings, each also issued as a TrendcalcWarning at
    the caller's line (the first frame outside trendcalc)."""
    from .store.report import user_stacklevel

    for w in advice:
        warnings.warn(TrendcalcWarning(str(w)), stacklevel=user_stacklevel())
    if not advice and not result.warnings:
        return result  # nothing to add: no copy of the result
    return attrs.evolve(result, warnings=tuple(advice))


def _no_executor(executor: Any) -> None:
    if executor is not None:
        raise ValidationError(("executor",), "an executor runs the partitions of a PartitionedStore; this is one EventStore")


def _on_partitions(parts: PartitionedStore, executor: Any, answer: Any, *args: Any, **options: Any) -> Any:
    """``answer(run, *args, rows, **options)`` with ``run`` the Map over ``parts`` on ``executor``
    and ``rows`` where each partition's persons' rows in the whole store are."""
    from .partition.executors import partition_map

    with partition_map(executor, parts) as run:
        return answer(run, *args, parts.person_rows_handles(), **options)


def _check_inputs(store: Any, project: Any, limits: Any, *, partitioned: bool = False) -> tuple[Any, Project]:
    if partitioned and isinstance(store, PartitionedStore):
        pass
    elif not isinstance(store, EventStore):
        expected = "an EventStore or a PartitionedStore" if partitioned else "an EventStore"
        raise ValidationError(("store",), f"expected {expected}, got {type(store).__name__}")
    if project is None:
        project = Project()
    elif isinstance(project, Mapping):
        project = Project.from_dict(project)
    elif not isinstance(project, Project):
        raise ValidationError(("project",), f"expected a Project or a dict, got {type(project).__name__}")
    if not isinstance(limits, Limits):
        raise ValidationError(("limits",), "expected a trendcalc.Limits")
    return store, project
