"""Breakdowns evaluated in blocks (engine/blockwise.py) give the one-matrix answer exactly."""

from __future__ import annotations

import datetime as dt
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trendcalc as tc
from trendcalc.engine import blockwise
from trendcalc.limits import Limits
from trendcalc.testing import strategies as tst

LIMITS = Limits(max_buckets=800)
UTC = dt.timezone.utc


def answer(scenario: tst.Scenario, block_cells: int | None = None):
    w = scenario.world
    with mock.patch.object(blockwise, "BLOCK_CELLS", block_cells or blockwise.BLOCK_CELLS):
        try:
            return tc.trends(w.store(), scenario.query, project=w.project, now=w.now, limits=LIMITS).to_dicts()
        except tc.ValidationError as exc:
            return ("error", exc.path, exc.message)


# Dates that cover the worlds' events and intervals that keep the axis short, so most examples
# have rows and more (value × bucket) cells than the tiny blocks.
SCENARIOS = tst.scenarios(min_events=10, max_events=60, breakdown=True, date_froms=("all", "-30d", "-90d", "-7d"),
                          intervals=("day", "week", "month"))


@settings(max_examples=200, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(SCENARIOS, st.integers(1, 6))
def test_blocks_equal_one_matrix(scenario: tst.Scenario, block_cells: int) -> None:
    assert answer(scenario, block_cells) == answer(scenario)


def test_many_values_many_buckets() -> None:
    """2,000 session ids × 721 hourly buckets (1.4 M cells) with a 1,000-cell block: top 25 and
    Other as the one-matrix path computes them; DAU per value needs per-block distinct counts."""
    n = 6000
    t0 = dt.datetime(2024, 1, 1, tzinfo=UTC)
    events = [{"event": "$pageview", "distinct_id": f"u{i % 300}", "timestamp": t0 + dt.timedelta(minutes=7 * i),
               "properties": {"sid": f"s{(i * 7919) % 2000:04d}", "n": i % 13}} for i in range(n)]
    store = tc.EventStore.from_records(events)
    now = "2024-01-31T00:00:00Z"
    assert len({e["properties"]["sid"] for e in events}) == 2000
    for math in ({}, {"math": "dau"}, {"math": "sum", "math_property": "n"}, {"math": "median", "math_property": "n"}):
        q = {"events": [{"id": "$pageview", **math}], "date_from": "2024-01-01", "date_to": "2024-01-30",
             "interval": "hour", "breakdown": "sid"}
        whole = tc.trends(store, q, now=now).to_dicts()
        for kept_factor in (blockwise.KEPT_CELLS_FACTOR, 0):  # 0: pass two recomputes the blocks
            with mock.patch.multiple(blockwise, BLOCK_CELLS=1000, KEPT_CELLS_FACTOR=kept_factor):
                parts = tc.trends(store, q, now=now).to_dicts()
            assert parts == whole
        assert len(whole) == 26 and whole[-1]["breakdown_value"] == "$$_posthog_breakdown_other_$$"
        unbroken = tc.trends(store, {**q, "breakdown": None}, now=now).to_dicts()[0]
        if not math or math.get("math") == "sum":  # additive maths: the 26 series sum to the total
            assert sum(s["count"] for s in whole) == unbroken["count"]
