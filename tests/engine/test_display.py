"""Display values: aggregated values per math, cumulative, smoothing and sampling (spec §5, §9, §10)."""

from __future__ import annotations

import numpy as np
import pytest

import trendcalc as tc
from trendcalc.engine.post import cumulative, smooth
from trendcalc.engine.sampling import correct, sample_threshold
from trendcalc.store.cityhash import cityhash64

from .fixture import pageviews, run


def test_cumulative_total():
    out = run({**pageviews(), "display": "ActionsLineGraphCumulative"})[0]
    assert out["data"] == [1, 1, 2, 5, 6, 6, 8, 8, 9, 9, 10, 10]
    assert out["count"] == 10


def test_cumulative_dau_counts_new_actors_once():
    out = run({**pageviews(math="dau"), "display": "ActionsLineGraphCumulative"})[0]
    assert out["data"] == [1, 1, 2, 3, 3, 3, 4, 4, 4, 4, 4, 4]


def test_cumulative_breakdown_is_an_exact_running_sum():
    out = run({**pageviews(), "display": "ActionsLineGraphCumulative", "breakdown": "$browser"})
    assert out[0]["data"] == [0, 0, 1, 2, 3, 3, 4, 4, 5, 5, 6, 6]


def test_cumulative_fill_replaces_non_positive_values():
    assert cumulative(np.array([0.0, 2.0, -3.0, 0.0, 4.0]), forward_fill=True).tolist() == [0, 2, 2, 2, 3]
    assert cumulative(np.array([0.0, 2.0, -3.0]), forward_fill=False).tolist() == [0, 2, -1]


def test_smoothing():
    out = run({**pageviews(), "smoothing_intervals": 7})[0]
    assert out["data"] == [1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0]
    assert smooth(np.array([3.0, 0.0]), 2).tolist() == [3, 1]


def test_smoothing_sums_each_window_exactly():
    # found by tests/property: a prefix-sum difference gave (1 + 1) / 2 = 0.999… → 0 after 4/3
    assert smooth(np.array([0.0, 0.0, 0.0, 4 / 3, 0.0, 1.0, 1.0]), 2).tolist() == [0, 0, 0, 0, 0, 0, 1]


def test_smoothing_skipped_for_breakdowns():
    out = run({**pageviews(), "smoothing_intervals": 7, "breakdown": "$browser"})
    assert out[0]["data"] == [0, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0]


@pytest.mark.parametrize(
    ("series", "expected"),
    [
        (pageviews(), 10),
        (pageviews(math="dau"), 4),  # distinct over the range, not the sum of daily uniques (10)
        (pageviews(math="unique_session"), 1),
        (pageviews(math="sum", math_property="prop"), 170.0),
        (pageviews(math="max", math_property="prop"), 40.0),
        (pageviews(math="first_time_for_user"), 4),
    ],
)
def test_aggregated_value_is_the_whole_range_rule(series, expected):
    for display in ("BoldNumber", "ActionsTable", "ActionsPie", "ActionsBarValue", "WorldMap"):
        out = run({**series, "display": display})[0]
        assert out["aggregated_value"] == expected
        assert out["data"] == [] and out["days"] == [] and out["count"] == 0


def test_bold_number_with_month_interval():
    assert run({**pageviews(), "display": "BoldNumber", "interval": "month"})[0]["aggregated_value"] == 10


def test_cityhash64_matches_clickhouse():
    assert cityhash64("") == 11160318154034397263
    assert cityhash64("a") == 2603192927274642682
    assert cityhash64("hello world") == 12386028635079221413
    assert cityhash64("person1") == 14135707217450623794
    assert cityhash64("x" * 20) == 7054000592804751239
    assert cityhash64("y" * 40) == 4028249523963281896
    assert cityhash64("z" * 100) == 13704750216355009491


def test_sample_threshold_is_exact_decimal_fraction_of_2_64():
    assert sample_threshold(1) is None
    assert sample_threshold(0.5) == 1 << 63
    assert sample_threshold(0.1) == (1 << 64) // 10


def test_sampling_correction_rounds_each_value_and_count_separately():
    assert [correct(v, 0.3, True) for v in (1, 1)] == [3, 3]
    assert correct(2.0, 0.3, True) == 7
    assert correct(2.0, 0.3, False) == 2.0
    assert correct(5, 1, True) == 5


def test_sampling_keeps_whole_distinct_ids_and_corrects_counts():
    dids = [f"user{i}" for i in range(40)]
    events = [{"event": "e", "distinct_id": d, "timestamp": "2020-01-10T01:00:00Z"} for d in dids for _ in range(2)]
    world = tc.EventStore.from_records(events)
    bound = sample_threshold(0.25)
    kept = sum(cityhash64(d) < bound for d in dids)
    base = {"events": [{"id": "e"}], "date_from": "2020-01-10", "date_to": "2020-01-10", "sampling_factor": 0.25}
    out = run(base, world=world)[0]
    assert out["data"] == [round(2 * kept * (1 / 0.25))]
    dau = run({**base, "events": [{"id": "e", "math": "dau"}]}, world=world)[0]
    assert dau["data"] == [round(kept * 4)]
    # per-actor maths are not corrected: every sampled actor has 2 events
    avg = run({**base, "events": [{"id": "e", "math": "avg_count_per_actor"}], "display": "ActionsTable"}, world=world)[0]
    assert avg["aggregated_value"] == 2.0
    assert 0 < kept < 40
