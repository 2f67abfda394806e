"""Evaluate property filters directly over a small store: one event per input, in input order."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

import trendcalc as tc
from trendcalc.engine.context import QueryContext
from trendcalc.engine.predicates.properties import mask_rows
from trendcalc.limits import DEFAULT_LIMITS
from trendcalc.query.displays import DISPLAYS
from trendcalc.query.model import TrendsFilter
from trendcalc.query.properties import parse_global_properties

NOW = dt.datetime(2020, 1, 10, 12, 0, tzinfo=dt.timezone.utc)
BASE = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)


def events_of(props: Sequence[Mapping[str, Any] | None], *, event: str = "e", distinct_ids: Sequence[str] | None = None) -> list[dict]:
    """Events with the given properties, one second apart so row order = input order."""
    out = []
    for i, p in enumerate(props):
        rec = {"event": event, "distinct_id": distinct_ids[i] if distinct_ids else f"d{i}",
               "timestamp": (BASE + dt.timedelta(seconds=i)).isoformat()}
        if p is not None:
            rec["properties"] = p
        out.append(rec)
    return out


def context(store: tc.EventStore, project: tc.Project | Mapping | None = None, now: dt.datetime = NOW) -> QueryContext:
    # filter unit tests pin the operators' semantics per declared type (untyped = String, as
    # filters.md §0.2); inference from the data has its own tests (tests/store/test_inferred_types.py)
    if project is None:
        project = tc.Project(infer_property_types=False)
    elif isinstance(project, Mapping):
        project = tc.Project.from_dict({"infer_property_types": False, **project})
    return QueryContext(store, TrendsFilter(series=()), project, now, DEFAULT_LIMITS, DISPLAYS["ActionsLineGraph"])


def mask(props: Sequence[Mapping[str, Any] | None] | tc.EventStore, properties: Any, *, project: Any = None,
         now: dt.datetime = NOW, **store_kw: Any) -> list[bool]:
    """The row mask of global ``properties`` over one event per entry of ``props``."""
    store = props if isinstance(props, tc.EventStore) else tc.EventStore.from_records(events_of(props), **store_kw)
    group = parse_global_properties(properties, ("properties",), DEFAULT_LIMITS)
    ctx = context(store, project, now)
    rows = np.arange(len(store), dtype=np.int64)
    order = np.argsort(store.ts[rows], kind="stable")  # row order = input order
    return mask_rows(ctx, group, rows)[order].tolist()


def leaf(key: str, operator: str | None, value: Any = None, **extra: Any) -> list[dict]:
    d: dict[str, Any] = {"key": key, **extra}
    if operator is not None:
        d["operator"] = operator
    if value is not None:
        d["value"] = value
    return [d]
