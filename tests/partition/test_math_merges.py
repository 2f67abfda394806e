"""Each math's partial state → merge → finalize against the single store, on a small world made
to break naive merges: sessions shared by persons in different partitions (and session events
in partitions where the series has no rows), group keys spread over partitions, non-dyadic
float values whose row-order sums depend on the order, missing and non-numeric values, events
without a session; split round-robin, all-in-one (empty partitions) and by the hash."""

from __future__ import annotations

import warnings
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

import trendcalc as tc
from trendcalc.engine.exactsum import ExactSums, split_sums
from trendcalc.engine.math import EXPRESSION_MATHS, MATHS
from trendcalc.engine.trends import resolve_now
from trendcalc.partition.merge import (
    EXPRESSION_MERGES,
    GROUP_MERGES,
    MERGES,
    SESSION_DURATION_MERGES,
)
from trendcalc.partition.run import run_stores
from trendcalc.partition.split import person_partitions, subset

from .splits import SPLITS

NOW = "2024-03-20T12:00:00Z"
SESSIONS = [f"018e{i:04x}-0000-7000-8000-{i:012x}" for i in range(6)]
PRICES = [9.99, 0.1, 0.2, 0.3, 19.95, 1e16, -1e16, 2.5, "n/a", None]


def world() -> tuple[tc.EventStore, tc.Project]:
    """14 persons; every session is used by several persons, group keys are shared by persons,
    prices do not add associatively; u12 and u13 only open sessions (before the range)."""
    events: list[dict[str, Any]] = []
    for p in range(12):
        for i in range(p % 5 + 2):
            day = 10 + (p + 2 * i) % 7
            props: dict[str, Any] = {
                "$browser": ["Chrome", "Safari", "Firefox"][(p + i) % 3],
                "$group_0": f"org{(p + i) % 4}",
                "price": PRICES[(p * 3 + i) % len(PRICES)],
            }
            if (p + i) % 4:
                props["$session_id"] = SESSIONS[(p + i) % 6]
            name = "buy" if i % 3 else "view"
            events.append({"event": name, "distinct_id": f"u{p}", "properties": props,
                           "timestamp": f"2024-03-{day:02d}T{(p * 5 + i * 7) % 24:02d}:{(p * 13) % 60:02d}:00Z"})
        # a session's first event in a partition where "buy" has no rows for it
        events.append({"event": "ping", "distinct_id": f"u{p}", "properties": {"$session_id": SESSIONS[p % 6]},
                       "timestamp": f"2024-03-{9 + p % 3:02d}T00:00:0{p % 10}Z"})
    for p in (12, 13):  # persons with only early session events: alone in a partition without "buy" rows
        events.append({"event": "ping", "distinct_id": f"u{p}", "properties": {"$session_id": SESSIONS[p % 6]},
                       "timestamp": "2024-03-01T00:00:00Z"})
    persons = [{"distinct_ids": [f"u{p}"], "properties": {"plan": ["free", "pro"][p % 2], "seats": [1.5, 0.1, 3][p % 3]}}
               for p in range(14)]
    groups = [{"group_type_index": 0, "group_key": f"org{g}", "properties": {"tier": ["a", "b"][g % 2]}} for g in range(4)]
    store = tc.EventStore.from_records(events, persons=persons, groups=groups)
    project = tc.Project.from_dict({"timezone": "UTC", "group_types": [{"group_type_index": 0, "group_type": "organization"}]})
    return store, project


def series_for(math: str) -> dict[str, Any]:
    s: dict[str, Any] = {"id": "buy", "math": math}
    if math in ("sum", "avg", "min", "max", "median", "p75", "p90", "p95", "p99"):
        s["math_property"] = "price"
    if math == "unique_group":
        s["math_group_type_index"] = 0
    return s


VARIANTS: list[dict[str, Any]] = [
    {},
    {"breakdown": "$browser"},
    {"breakdown": "plan", "breakdown_type": "person"},
    {"display": "ActionsLineGraphCumulative"},
    {"display": "ActionsPie", "breakdown": "$browser", "breakdown_limit": 1},
    {"display": "BoldNumber"},
    {"interval": "week"},
]
MATH_NAMES = sorted(MATHS)
EXTRA_SERIES = [
    {"id": "buy", "math": "sum", "math_property": "$session_duration"},
    {"id": "buy", "math": "median", "math_property": "$session_duration"},
    {"id": "buy", "math": "max", "math_property": "$session_duration"},
    {"id": "buy", "math": "avg", "math_property": "seats", "math_property_type": "person_properties"},
    {"id": "buy", "math": "dau", "math_group_type_index": 0},
    {"id": "buy", "math": "weekly_active", "math_group_type_index": 0},
    {"id": "buy", "math": "monthly_active", "math_group_type_index": 0},
    {"id": "buy", "math": "p90", "math_property": "$time"},
    {"id": "buy", "math": "avg", "math_property": "price", "math_property_type": "group_properties"},
    {"id": "buy", "math": "avg", "math_property": "$session_duration", "math_property_type": "group_properties"},
]


def pings_apart(store: tc.EventStore, k: int) -> np.ndarray:
    """Persons u12 and u13 (session events only) in the last partition, the rest round-robin."""
    ids = np.asarray(store.persons.ids).tolist()
    dids = np.asarray(store.distinct_ids).tolist()
    pod = np.asarray(store.persons.person_of_distinct_id)
    apart = {int(pod[dids.index(d)]) for d in ("u12", "u13")}
    return np.array([k - 1 if i in apart else i % (k - 1) for i in range(len(ids))], dtype=np.int32)


def answers(query: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(configuration, partitioned answer, single-store answer) for every split and k."""
    store, project = world()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tc.TrendcalcWarning)
        want = tc.trends(store, query, project=project, now=NOW).to_dicts()
        filt = tc.parse_filter(query)
        out = []
        for k in (2, 3, 5):
            for name, assign in {**SPLITS, "pings-apart": pings_apart}.items():
                part = person_partitions(store, k, assign)
                stores = [subset(store, part == p) for p in range(k)]
                rows = [np.flatnonzero(part == p) for p in range(k)]  # (name persons without an id as one store)
                out.append((f"{name} k={k}", run_stores(stores, filt, project, resolve_now(NOW), person_rows=rows).to_dicts(),
                            want))
    return out


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: ",".join(f"{k}={v[k]}" for k in v) or "plain")
@pytest.mark.parametrize("math", MATH_NAMES)
def test_every_math_merges_to_the_single_store(math: str, variant: dict[str, Any]) -> None:
    query = {"events": [series_for(math)], "date_from": "2024-03-08", "date_to": "2024-03-17", **variant}
    for config, got, want in answers(query):
        assert got == want, config


@pytest.mark.parametrize("variant", VARIANTS[:4], ids=lambda v: ",".join(f"{k}={v[k]}" for k in v) or "plain")
@pytest.mark.parametrize("series", EXTRA_SERIES, ids=lambda s: f"{s['math']}-{s.get('math_property') or s.get('math_group_type_index')}")
def test_session_group_and_person_property_forms(series: dict[str, Any], variant: dict[str, Any]) -> None:
    query = {"events": [series], "date_from": "2024-03-08", "date_to": "2024-03-17", **variant}
    for config, got, want in answers(query):
        assert got == want, config


HOGQL = [
    "count()", "sum(properties.price)", "avg(properties.price) + 1000", "min(properties.price)",
    "max(properties.price) - min(properties.price)", "median(properties.price)", "quantile(0.9)(properties.price)",
    "countIf(properties.$browser = 'Chrome') * 100 / count()", "uniq(properties.$session_id)", "uniq(distinct_id)",
    "sumIf(properties.price, properties.$browser = 'Safari') / avg(person.properties.seats)",
    "count(properties.price) + uniqIf(properties.$group_0, properties.price > 1)", "avgIf(properties.price, 1 = 0)",
    "uniq(person_id)", "count() / uniq(person.id)", "uniqIf(person_id, properties.price > 1) + uniq(distinct_id)",
]


@pytest.mark.parametrize("variant", VARIANTS[:3] + VARIANTS[5:6], ids=lambda v: ",".join(f"{k}={v[k]}" for k in v) or "plain")
@pytest.mark.parametrize("expr", HOGQL)
def test_hogql_expressions(expr: str, variant: dict[str, Any]) -> None:
    query = {"events": [{"id": "buy", "math": "hogql", "math_hogql": expr}], "date_from": "2024-03-08",
             "date_to": "2024-03-17", **variant}
    for config, got, want in answers(query):
        assert got == want, config


def test_hogql_reading_person_ids_without_the_whole_stores_rows_raises() -> None:
    """A person without an id is named by its row in the whole store: partitions given without
    those rows refuse, rather than name it by its row in its partition and miscount."""
    store, project = world()
    filt = tc.parse_filter({"events": [{"id": "buy", "math": "hogql", "math_hogql": "uniq(person_id)"}]})
    part = person_partitions(store, 2, None)
    with pytest.raises(tc.UnsupportedError, match="without"):
        run_stores([subset(store, part == p) for p in range(2)], filt, project, resolve_now(NOW))

def test_the_world_is_adversarial() -> None:
    """Sessions, group keys and prices really do span the round-robin partitions."""
    store, _ = world()
    part = person_partitions(store, 2, SPLITS["round-robin"])
    stores = [subset(store, part == p) for p in range(2)]
    for key in ("$session_id", "$group_0"):
        seen = [{s.column(key).dictionary.values[c] for c in s.column(key).codes if c >= 0} for s in stores]
        assert seen[0] & seen[1], key
    prices = [v for v in PRICES if isinstance(v, float)]
    assert sum(prices) != sum(reversed(prices))  # row-order float sums depend on the order


def test_the_registry_covers_every_fixed_math() -> None:
    """Every fixed math of the engine has a merge; only expression maths may raise."""
    assert set(MATHS) <= set(MERGES)
    assert set(GROUP_MERGES) == {"dau", "unique_group", "weekly_active", "monthly_active"}
    assert {"sum", "avg", "min", "max", "median", "p90"} <= set(SESSION_DURATION_MERGES)
    assert set(EXPRESSION_MATHS) <= set(EXPRESSION_MERGES)


@pytest.mark.parametrize("seed", range(8))
def test_exact_sums_merge_in_any_split(seed: int) -> None:
    """Split sums of parts, merged as integer limbs, are the exact sum rounded once."""
    rng = np.random.default_rng(seed)
    n = 400
    values = rng.normal(size=n) * 10.0 ** rng.integers(-20, 20, n)
    values[rng.random(n) < 0.05] = np.nan
    cell = rng.integers(0, 4, n)
    exact = [sum((Fraction(v) for v, c in zip(values, cell) if c == k and not np.isnan(v)), Fraction(0)) for k in range(4)]
    part = rng.integers(0, 3, n)
    merged = ExactSums.empty(4)
    for p in range(3):
        merged = merged.merge(split_sums(cell[part == p], values[part == p], 4).exact())
    assert merged.values().tolist() == [float(x) for x in exact]
    assert split_sums(cell, values, 4).values().tolist() == [float(x) for x in exact]
