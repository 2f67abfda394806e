"""The public entry points: ``trends()``, ``actors()`` and ``parse_filter()``."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import TrendcalcWarning, ValidationError
from .limits import DEFAULT_LIMITS, Limits
from .project import Project
from .query.model import TrendsFilter
from .query.parse import parse_filter as _parse_filter
from .results import ActorsResult, TrendsResult
from .store import EventStore


def parse_filter(query: Any, *, limits: Limits = DEFAULT_LIMITS) -> TrendsFilter:
    """Validate a legacy filter dict or a TrendsQuery dict into a TrendsFilter (no data needed):
    the pure parse, then the engine's check that it computes everything the query asks for."""
    from .engine.supported import check_supported

    return check_supported(_parse_filter(query, limits=limits))


def trends(
    store: EventStore,
    query: Mapping[str, Any] | TrendsFilter,
    *,
    project: Project | Mapping[str, Any] | None = None,
    now: str | dt.datetime | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> TrendsResult:
    """Answer a Trends query over ``store``; a pure function of (store, query, project, now).

    Raises ValidationError (bad input, with its JSON path) or UnsupportedError (a valid PostHog
    feature not implemented here); never returns a partial answer.
    """
    from .engine.advice import advise, range_advice
    from .engine.supported import check_project
    from .engine.trends import resolve_now, run_trends

    store, project = _check_inputs(store, project, limits)
    filt = parse_filter(query, limits=limits)
    check_project(filt, project, limits)
    clock = resolve_now(now)
    advice = advise(store, filt, project)
    result = run_trends(store, filt, project, clock, limits)
    if result.series:
        first = result.series[0].filter
        advice += range_advice(store, filt, first.get("date_from"), first.get("date_to"), clock)
    for w in advice:
        warnings.warn(TrendcalcWarning(str(w)), stacklevel=2)
    result.warnings = tuple(advice)
    return result


def actors(
    store: EventStore,
    query: Mapping[str, Any] | TrendsFilter,
    *,
    project: Project | Mapping[str, Any] | None = None,
    now: str | dt.datetime | None = None,
    series: int | None = None,
    day: str | dt.datetime | dt.date | None = None,
    breakdown: str | int | float | Sequence[str | int | float] | None = None,
    compare: str | None = None,
    include_recordings: bool | None = None,
    select: Sequence[str] | None = None,
    order_by: Sequence[str] | None = None,
    limit: int | None = None,
    offset: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> ActorsResult:
    """The persons (or groups) behind one data point of a Trends result: PostHog's
    InsightActorsQuery over the Trends ``query``, run as an ActorsQuery.

    ``query`` is what ``trends()`` takes, or an ``{"kind": "InsightActorsQuery", "source": ...}``
    / ``{"kind": "ActorsQuery", "source": {"kind": "InsightActorsQuery", ...}}`` dict carrying the
    request fields itself. The point: ``series`` (index into the query's series, default 0),
    ``day`` (the result's ``days`` value; required for time series, not allowed for total-value
    displays), ``breakdown`` (the result's ``breakdown_value``), ``compare`` ("current" or
    "previous"). The rows: ``select`` (column names), ``order_by`` ("event_count DESC", ...),
    ``limit`` (default 100, at most 50,000) and ``offset``; ``include_recordings`` allows the
    ``matched_recordings`` column. A bad request raises ValidationError with its path, e.g.
    ``("actors_request", "day")``. Pure, like ``trends()``.
    """
    from .engine.actors import run_actors
    from .engine.supported import check_project
    from .engine.trends import resolve_now
    from .query.actors_request import split_actors_query

    store, project = _check_inputs(store, project, limits)
    overrides = {
        "series": series, "day": day, "breakdown": breakdown, "compare": compare,
        "include_recordings": include_recordings, "select": select, "order_by": order_by,
        "limit": limit, "offset": offset,
    }
    source, request = split_actors_query(query, overrides, limits)
    filt = parse_filter(source, limits=limits)
    check_project(filt, project, limits)
    return run_actors(store, filt, project, resolve_now(now), limits, request)


def _check_inputs(store: Any, project: Any, limits: Any) -> tuple[EventStore, Project]:
    if not isinstance(store, EventStore):
        raise ValidationError(("store",), f"expected an EventStore, got {type(store).__name__}")
    if project is None:
        project = Project()
    elif isinstance(project, Mapping):
        project = Project.from_dict(project)
    elif not isinstance(project, Project):
        raise ValidationError(("project",), f"expected a Project or a dict, got {type(project).__name__}")
    if not isinstance(limits, Limits):
        raise ValidationError(("limits",), "expected a trendcalc.Limits")
    return store, project
