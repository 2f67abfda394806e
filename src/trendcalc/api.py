"""The public entry points: ``trends()`` and ``parse_filter()``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from .errors import ValidationError
from .filters.model import TrendsFilter
from .filters.parse import parse_filter as _parse_filter
from .limits import DEFAULT_LIMITS, Limits
from .project import Project
from .results import TrendsResult
from .store import EventStore


def parse_filter(query: Any, *, limits: Limits = DEFAULT_LIMITS) -> TrendsFilter:
    """Validate a legacy filter dict or a TrendsQuery dict into a TrendsFilter (no data needed)."""
    return _parse_filter(query, limits=limits)


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
    from .engine.trends import resolve_now, run_trends

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
    filt = parse_filter(query, limits=limits)
    return run_trends(store, filt, project, resolve_now(now), limits)
