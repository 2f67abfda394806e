"""A query's cost is estimated from its plan and checked before any row is read (engine/cost.py),
and the filters every series shares are evaluated once per query run (engine/shared_filters.py).

The reproducers of issue #19 item 5, at a size that runs in seconds: each refused query must be
refused before its rows are selected (selection is patched to fail), never by a timing."""

from __future__ import annotations

from typing import Any

import pytest

import trendcalc as tc
from trendcalc.engine import cost, shared_filters, trends
from trendcalc.engine.predicates import properties as props

NOW = "2020-07-01T00:00:00Z"
T0 = 1577836800  # 2020-01-01


def world(n: int = 600, names: int = 3) -> tc.EventStore:
    return tc.EventStore.from_records([
        {"event": f"e{i % names}", "distinct_id": f"u{i % 37}", "timestamp": T0 + i * 3 * 3600 * 7 % (180 * 86400),
         "properties": {"browser": f"b{i % 5}", "email": f"x{i % 11}@{'test' if i % 4 == 0 else 'real'}.com",
                        "plan": f"p{i % 30}"}}
        for i in range(n)
    ], persons=[{"distinct_ids": [f"u{k}"], "created_at": "2020-01-01T00:00:00Z"} for k in range(37)])  # fmt: skip


STORE = world()


@pytest.fixture
def no_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail if any series' rows are selected: the check must come first."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("rows were selected before the cost check")

    monkeypatch.setattr(trends.SeriesSource, "selection", refuse)


def refused(store: tc.EventStore, query: dict, limit: str, path: tuple, fn: Any = tc.trends, now: str = NOW, **kw: Any) -> str:
    with pytest.raises(tc.ValidationError) as err:
        fn(store, query, now=now, **kw)
    assert f"{limit}=" in err.value.message, err.value
    assert err.value.path == path, err.value
    return err.value.message


# --- the reproducers ---------------------------------------------------------------------------


def test_mau_series_hourly_with_a_breakdown_is_refused_before_rows_are_read(no_rows: None) -> None:
    # 200 MAU series x 4,800 hourly buckets x (25 values + Other) = 24.96 M numbers > max_cells
    q = {"events": [{"id": "e0", "math": "monthly_active"}] * 200, "interval": "hour", "date_from": "2020-01-01",
         "date_to": "2020-07-18T23:59:59", "breakdown": "plan"}
    msg = refused(STORE, q, "max_cells", ("events",))
    assert "24,960,000" in msg and "fewer series" in msg
    tq = {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "e0", "math": "monthly_active"}] * 200,
          "interval": "hour", "dateRange": {"date_from": "2020-01-01", "date_to": "2020-07-18T23:59:59"},
          "breakdownFilter": {"breakdown": "plan"}}
    refused(STORE, tq, "max_cells", ("series",))


def test_unique_id_breakdown_hourly_over_2000_days_is_refused_before_rows_are_read(no_rows: None) -> None:
    n = 22_000  # unique ids in range: 22,000 values x 48,000 hourly buckets > 1 billion cells
    store = tc.EventStore.from_records([
        {"event": "$pageview", "distinct_id": f"u{i % 50}", "timestamp": 1420070400 + i * 7600, "properties": {"uid": f"id{i}"}}
        for i in range(n)
    ])  # fmt: skip
    q = {"events": [{"id": "$pageview"}], "interval": "hour", "date_from": "2015-01-01", "date_to": "2020-06-22T23:59:59",
         "breakdown": "uid"}
    msg = refused(store, q, "max_breakdown_cells", ("breakdown",), now="2020-06-23")
    assert "fewer values" in msg


def test_many_series_with_many_filters_are_refused_by_max_work(no_rows: None) -> None:
    leaves = [{"key": "email", "operator": "not_icontains", "value": f"@t{k}.com"} for k in range(50)]
    q = {"events": [{"id": "e0", "properties": leaves}] * 100, "date_from": "2020-01-01", "date_to": "2020-01-30"}
    # 100 series x 50 leaves, each leaf evaluation at least LEAF_OVERHEAD row visits
    limits = tc.Limits(max_work=100 * 50 * cost.LEAF_OVERHEAD)
    msg = refused(STORE, q, "max_work", ("events",), limits=limits)
    assert "row visits" in msg and "fewer series or filters" in msg


def test_test_account_filters_are_evaluated_once_for_all_series(monkeypatch: pytest.MonkeyPatch) -> None:
    filters = [{"key": "email", "operator": "not_icontains", "value": f"@t{k}.com", "type": "event"} for k in range(300)]
    filters.append({"key": "email", "operator": "not_icontains", "value": "@test.com", "type": "event"})
    project = tc.Project(test_account_filters=filters)
    calls: list[str] = []
    real = props.leaf_mask

    def counted(ctx: Any, leaf: Any, rows: Any, sources: Any = None) -> Any:
        calls.append(leaf.key)
        return real(ctx, leaf, rows, sources)

    monkeypatch.setattr(props, "leaf_mask", counted)
    # 200 series over three events and two windows (compare): one evaluation per window
    q = {"events": [{"id": f"e{i % 3}"} for i in range(100)], "filter_test_accounts": True, "compare": True,
         "date_from": "2020-02-01", "date_to": "2020-03-01"}
    got = tc.trends(STORE, q, project=project, now=NOW).to_dicts()
    assert len(got) == 200
    assert len(calls) == 2 * len(filters)  # not 200 x 301
    # the same numbers as each series on its own
    for i in range(3):
        calls.clear()
        one = tc.trends(STORE, {**q, "events": [{"id": f"e{i}"}]}, project=project, now=NOW).to_dicts()
        assert [s["data"] for s in one] == [got[i]["data"], got[100 + i]["data"]]
        assert sum(one[0]["data"]) > 0 and one[0]["data"] != tc.trends(
            STORE, {**q, "events": [{"id": f"e{i}"}], "filter_test_accounts": False}, project=project, now=NOW,
        ).to_dicts()[0]["data"]  # the filters do filter


def test_shared_filters_give_the_answers_of_per_series_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every way a series reads rows (date range, look-back, first-time, actions, sampling,
    compare, stickiness, lifecycle) answers the same with the shared filters evaluated once."""
    project = tc.Project(
        test_account_filters=[{"key": "email", "operator": "not_icontains", "value": "@test.com", "type": "event"}],
        actions=[{"id": 1, "name": "a", "steps": [{"event": "e1"}, {"event": "e2", "properties": [{"key": "browser", "value": "b1"}]}]}],
    )
    glob = [{"key": "browser", "operator": "is_not", "value": "b3"}]
    series = [{"id": "e0"}, {"id": "e1", "math": "weekly_active"}, {"id": "e2", "math": "first_time_for_user"},
              {"id": 1, "type": "actions"}, {"id": "e0", "math": "dau", "properties": [{"key": "plan", "value": "p3", "operator": "is_not"}]},
              {"id": None}]  # fmt: skip
    queries: list[tuple[Any, dict]] = [
        (tc.trends, {"events": [s for s in series if s.get("type") != "actions"], "actions": [series[3]], "properties": glob,
                     "filter_test_accounts": True, "date_from": "2020-02-01", "date_to": "2020-04-01", "compare": True}),
        (tc.trends, {"events": [series[0], series[4]], "properties": glob, "filter_test_accounts": True, "sampling_factor": 0.5,
                     "date_from": "2020-02-01", "date_to": "2020-04-01", "breakdown": "browser"}),
        (tc.stickiness, {"insight": "STICKINESS", "shown_as": "Stickiness", "events": [series[0], series[5]], "properties": glob,
                         "filter_test_accounts": True, "date_from": "2020-02-01", "date_to": "2020-03-01"}),
        (tc.lifecycle, {"insight": "LIFECYCLE", "shown_as": "Lifecycle", "events": [series[0]], "properties": glob,
                        "filter_test_accounts": True, "date_from": "2020-02-01", "date_to": "2020-04-01", "interval": "week"}),
    ]  # fmt: skip
    shared = [fn(STORE, q, project=project, now=NOW).to_dicts() for fn, q in queries]

    def per_call(self: Any, q: Any, rows: Any, window: Any) -> Any:
        return props.mask_rows(self.ctx, self.group, rows)

    monkeypatch.setattr(shared_filters.SharedFilters, "mask", per_call)
    alone = [fn(STORE, q, project=project, now=NOW).to_dicts() for fn, q in queries]
    assert shared == alone
    assert all(any(sum(map(abs, s["data"])) for s in r) for r in shared)


# --- the estimate: an upper bound, and not a loose one ------------------------------------------


def plan(query: dict, project: tc.Project | None = None) -> tuple[Any, list[Any]]:
    from trendcalc.engine.context import QueryContext
    from trendcalc.query.displays import DISPLAYS

    filt = tc.parse_filter(query)
    ctx = QueryContext(STORE, filt, project or tc.Project(), trends.resolve_now(NOW), tc.Limits(), DISPLAYS[filt.display])
    return ctx, trends.plan_queries(ctx)


def answer_cells(query: dict) -> int:
    return sum(len(s["data"]) for s in tc.trends(STORE, query, now=NOW).to_dicts())


@pytest.mark.parametrize("query", [
    {"events": [{"id": "e0"}], "breakdown": "browser", "date_from": "2020-01-01", "date_to": "2020-01-30"},
    {"events": [{"id": "e0"}, {"id": "e1"}], "breakdown": "plan", "date_from": "2020-01-01", "date_to": "2020-01-30"},
    {"events": [{"id": "e0"}], "breakdown": "plan", "breakdown_limit": 3, "date_from": "2020-01-01", "date_to": "2020-03-01"},
    {"events": [{"id": "e0"}], "breakdowns": [{"property": "browser"}, {"property": "plan"}], "date_from": "2020-01-01",
     "date_to": "2020-01-30"},
    {"events": [{"id": "e0"}], "breakdown": "distinct_id", "breakdown_type": "event_metadata", "date_from": "2020-01-01",
     "date_to": "2020-01-30"},
    {"events": [{"id": "e1", "math": "monthly_active"}], "breakdown": "browser", "date_from": "2020-01-01", "date_to": "2020-01-30",
     "compare": True},
    {"events": [{"id": None}], "interval": "hour", "date_from": "2020-01-01", "date_to": "2020-01-05"},
])  # fmt: skip
def test_the_estimate_bounds_the_answer(query: dict) -> None:
    ctx, queries = plan(query)
    est = cost.estimate(ctx, queries)
    assert answer_cells(query) <= est.cells <= 8 * max(answer_cells(query), 30)


def test_a_small_breakdown_is_values_times_buckets_not_rows_times_buckets() -> None:
    q = {"events": [{"id": None}], "breakdown": "browser", "date_from": "2020-01-01", "date_to": "2020-01-30"}
    ctx, queries = plan(q)
    est = cost.estimate(ctx, queries)
    assert est.rows > 100
    assert est.cells == est.breakdown_cells == answer_cells(q) == 5 * 30  # every event has a browser
    ctx, queries = plan({**q, "breakdown": "nothing"})
    assert cost.estimate(ctx, queries).cells == 30  # an absent property: the null value only


def test_rows_are_counted_in_the_window_from_the_event_index() -> None:
    ctx, queries = plan({"events": [{"id": "e0"}], "date_from": "2020-02-01", "date_to": "2020-02-29"})
    ts = STORE.ts[STORE.offsets[0]:STORE.offsets[1]]
    lo = queries[0].axis.lo_us - cost.LOOKBACK_US
    assert cost.query_rows(ctx, queries[0]) == int(((ts >= lo) & (ts < queries[0].axis.hi_us)).sum())
    assert cost.query_rows(ctx, queries[0]) < len(ts)


def test_limits_still_hold_at_the_estimate(no_rows: None) -> None:
    q = {"events": [{"id": "e0"}], "breakdown": "browser", "date_from": "2020-01-01", "date_to": "2020-01-10"}
    refused(STORE, q, "max_cells", ("events",), limits=tc.Limits(max_cells=49))
    refused(STORE, q, "max_breakdown_cells", ("breakdown",), limits=tc.Limits(max_breakdown_cells=49))
    tq = {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "e0"}], "breakdownFilter": {"breakdown": "browser"},
          "dateRange": {"date_from": "2020-01-01", "date_to": "2020-01-10"}}
    refused(STORE, tq, "max_breakdown_cells", ("breakdownFilter",), limits=tc.Limits(max_breakdown_cells=49))


def test_stickiness_and_lifecycle_are_checked_before_rows_are_read(no_rows: None) -> None:
    stick = {"insight": "STICKINESS", "shown_as": "Stickiness", "events": [{"id": "e0"}] * 3, "date_from": "2020-01-01",
             "date_to": "2020-01-10"}
    refused(STORE, stick, "max_cells", ("events",), fn=tc.stickiness, limits=tc.Limits(max_cells=29))
    life = {"insight": "LIFECYCLE", "shown_as": "Lifecycle", "events": [{"id": "e0"}], "date_from": "2020-01-01",
            "date_to": "2020-01-10"}
    refused(STORE, life, "max_cells", ("events",), fn=tc.lifecycle, limits=tc.Limits(max_cells=39))  # 4 statuses x 10 days
    refused(STORE, life, "max_work", ("events",), fn=tc.lifecycle, limits=tc.Limits(max_work=1_000))
