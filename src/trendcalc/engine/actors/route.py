"""Which actors query a request is (Trends, Stickiness or Lifecycle data point), parsed once
without data (``plan_actors``), and its answer over a store (``answer_actors``). ``tc.actors``
runs both; a partitioned run (``partition/actors.py``) plans once and answers per partition."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from ...errors import ValidationError
from ...limits import Limits
from ...project import Project
from ...query.actors_request import ActorsRequest, split_actors_query
from ...store import EventStore
from .run import ActorHooks


@attrs.frozen
class ActorsPlan:
    """A parsed actors request: ``kind`` ("trends", "stickiness", "lifecycle"), the parsed
    insight query (TrendsFilter, StickinessQuery, LifecycleQuery), the request, and for a
    lifecycle the status and the path it was given at."""

    kind: str
    query: Any
    request: ActorsRequest
    status: Any = None
    status_path: tuple[Any, ...] = ()

    @property
    def base(self) -> Any:
        """The query's TrendsFilter (series, dates, filters)."""
        return self.query if self.kind == "trends" else self.query.base


def plan_actors(query: Any, overrides: Mapping[str, Any], status: Any, project: Project, limits: Limits) -> ActorsPlan:
    """Parse and check an actors request (ValidationError / UnsupportedError; reads no data)."""
    from ...query.lifecycle import is_lifecycle, parse_lifecycle
    from ...query.parse import parse_filter
    from ...query.stickiness import is_stickiness, parse_stickiness
    from ..supported import check_project, check_supported

    source, request = split_actors_query(query, overrides, limits)
    if is_stickiness(source):  # a stickiness data point: day is the number of intervals
        return ActorsPlan("stickiness", parse_stickiness(source, limits=limits), request)
    if is_lifecycle(source):  # the persons modal of a lifecycle: a status on a day
        insight = query.get("source") if isinstance(query, Mapping) and query.get("kind") == "ActorsQuery" else query
        prefix = ("source",) if insight is not query else ()
        in_query = insight.get("status") if isinstance(insight, Mapping) and insight.get("kind") == "InsightActorsQuery" else None
        if status is not None and in_query is not None:
            raise ValidationError(("actors_request", "status"), "status is given both in the query and as an argument")
        path = ("actors_request", "status") if in_query is None else prefix + ("status",)
        try:
            lq = parse_lifecycle(source, limits=limits)
        except ValidationError as exc:
            if source is query:
                raise
            raise exc.prefixed(prefix + ("source",)) from None
        check_supported(lq.base)
        check_project(lq.base, project, limits)
        return ActorsPlan("lifecycle", lq, request, in_query if in_query is not None else status, path)
    if status is not None:
        raise ValidationError(("actors_request", "status"), "status is for the actors of a lifecycle query")
    filt = check_supported(parse_filter(source, limits=limits))
    check_project(filt, project, limits)
    return ActorsPlan("trends", filt, request)


def answer_actors(store: EventStore, plan: ActorsPlan, project: Project, now: dt.datetime, limits: Limits,
                  hooks: ActorHooks | None = None) -> Any:
    """The page of actors ``plan`` asks for over ``store``: an ActorsResult, or what
    ``hooks.page`` makes of the ActorSet (see ActorHooks)."""
    if plan.kind == "stickiness":
        from ..stickiness_actors import run_stickiness_actors

        return run_stickiness_actors(store, plan.query, project, now, limits, plan.request, hooks)
    if plan.kind == "lifecycle":
        from ..lifecycle_actors import run_lifecycle_actors

        return run_lifecycle_actors(store, plan.query, project, now, limits, plan.request, plan.status,
                                    plan.status_path, hooks)
    from .run import run_actors

    return run_actors(store, plan.query, project, now, limits, plan.request, hooks)


__all__ = ["ActorsPlan", "answer_actors", "plan_actors"]
