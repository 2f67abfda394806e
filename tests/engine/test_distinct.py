"""Distinct counts: every method (bitmap, marks, sort), forced, agrees with the others and with
a plain set count on random data; threads do not change answers; the cost model picks what it
should for the shapes it was made for."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trendcalc as tc
from trendcalc.engine import distinct
from trendcalc.limits import default_threads


@st.composite
def bucketed(draw):
    """(key, runs, n_keys, n_buckets, bucket per row): 1-3 time-ordered blocks of bucket runs."""
    n_keys = draw(st.integers(1, 500))
    n_buckets = draw(st.integers(1, 9))
    n_blocks = draw(st.integers(1, 3))
    sizes = np.array(draw(st.lists(st.lists(st.integers(0, 60), min_size=n_buckets, max_size=n_buckets),
                                   min_size=n_blocks, max_size=n_blocks)), dtype=np.int64)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    runs = [np.concatenate([[0], np.cumsum(s)]) for s in sizes]
    bucket = np.concatenate([np.repeat(np.arange(n_buckets), s) for s in sizes])
    hot = draw(st.integers(1, n_keys))  # keys drawn from the first `hot`: dense or sparse use of the space
    key = rng.integers(0, hot, len(bucket))
    return key, runs, n_keys, n_buckets, bucket


def _ref(key, group, n_groups):
    return np.array([len(set(key[group == g].tolist())) for g in range(n_groups)], dtype=np.float64)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bucketed(), st.sampled_from([None, *distinct.METHODS]), st.sampled_from([1, 2, 3]))
def test_runs_every_method_and_thread_count_agree(threads_always, data, method, threads):
    key, runs, n_keys, n_buckets, bucket = data
    ref = _ref(key, bucket, n_buckets)
    got = distinct.count_distinct_runs(key, runs, n_keys, n_buckets, method=method, threads=threads)
    np.testing.assert_array_equal(got, ref)


@settings(max_examples=60, deadline=None)
@given(bucketed(), st.sampled_from([np.int32, np.int64, np.uint16]), st.sampled_from([1, 2]))
def test_runs_agree_whatever_the_key_type(data, dtype, threads):
    """The stores' person codes are int32: the bitmap's one-block loop indexes with an intp copy
    of them, other key types as they are or copied likewise; every method gives the count."""
    key, runs, n_keys, n_buckets, bucket = data
    key = key.astype(dtype)
    ref = _ref(key, bucket, n_buckets)
    for method in (None, *distinct.METHODS):
        got = distinct.count_distinct_runs(key, runs, n_keys, n_buckets, method=method, threads=threads)
        np.testing.assert_array_equal(got, ref)


@pytest.fixture
def threads_always():
    """Threads on every scan, however small, so that the threaded path is exercised."""
    old = distinct.THREAD_MIN_ROWS
    distinct.THREAD_MIN_ROWS = 0
    yield
    distinct.THREAD_MIN_ROWS = old


@settings(max_examples=150, deadline=None)
@given(bucketed(), st.integers(1, 6), st.sampled_from([None, *distinct.METHODS]))
def test_cells_every_method_agrees(data, n_groups, method):
    key, _, n_keys, n_buckets, bucket = data
    rng = np.random.default_rng(len(key) * 31 + n_groups)
    group = rng.integers(0, n_groups, len(key))
    cell = group * n_buckets + bucket
    n_cells = n_groups * n_buckets
    got = distinct.count_distinct(cell, key, n_keys, n_cells, method=method)
    np.testing.assert_array_equal(got, _ref(key, cell, n_cells))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans(), st.booleans(), st.sampled_from([None, "last", *distinct.METHODS]))
def test_rolling_every_method_matches_brute_force(seed, ordered, per_bucket_width, method):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    t = rng.integers(0, 40, n) * 10
    if ordered:
        t = np.sort(t)
    key = rng.integers(0, int(rng.integers(1, 300)), n)
    starts = np.sort(rng.choice(np.arange(0, 450, 10), size=int(rng.integers(1, 20)), replace=False))
    width = rng.integers(1, 12, len(starts)) * 10 if per_bucket_width else int(rng.integers(1, 12)) * 10
    window = starts - width  # per-bucket widths make windows that do not only slide forward
    ref = np.array([len(set(key[(t > w) & (t <= s)].tolist())) for s, w in zip(starts, window)], dtype=float)
    np.testing.assert_array_equal(distinct.rolling_one_group(key, t, starts, window, method=method), ref)


@pytest.mark.parametrize("method", distinct.METHODS)
def test_distinct_values_and_counts(method):
    rng = np.random.default_rng(3)
    scratch = distinct.Scratch(1000)
    for _ in range(20):  # the scratch arrays are reused across calls, as over buckets
        x = rng.integers(0, int(rng.integers(1, 1000)), int(rng.integers(0, 300)))
        assert distinct.n_distinct(x, method, scratch) == len(set(x.tolist()))
        assert sorted(distinct.distinct_values(x, method, scratch).tolist()) == sorted(set(x.tolist()))
    assert not scratch.bits().any()  # the bitmap is left cleared


def test_cost_model_choices():
    # a day of the sparse benchmark shape at 10 M: 34 k rows among 400 k persons → the bitmap
    # (it fits the cache; a sort costs ~ rows log rows, marks a random write and read a row)
    assert distinct.choose(34_000, 400_000) == "bitmap"
    # rows far more than keys → bitmap; few rows over a huge space → never the bitmap
    assert distinct.choose(1_000_000, 20_000) == "bitmap"
    assert distinct.choose(500, 5_000_000) != "bitmap"
    # spaces beyond the limits rule methods out
    assert distinct.choose(10**6, distinct.BITMAP_LIMIT + 1) == "sort"
    assert distinct.choose(100, distinct.MARKS_LIMIT + 1) in ("bitmap", "sort")
    # a fresh scratch array's page faults count when the space is large: few rows → sort
    assert distinct.choose(1_000, 30_000_000, fresh=True) == "sort"
    # marks outgrow the cache: a 50 M-event day slot (205 k rows, 1.9 M persons, keys wanted)
    # takes the bitmap, not marks (Q9 at 50 M: 65 vs 114 ms with either forced)
    assert distinct.choose(205_000, 1_900_000, values=True) == "bitmap"
    assert distinct.cost("marks", 205_000, 8_000_000) > distinct.cost("marks", 205_000, 40_000)


def test_one_method_per_scan():
    sizes = np.array([0, 30_000, 40_000, 35_000, 0])
    # priced as three buckets of the mean size, empty buckets left out
    assert distinct.choose_scan(sizes, 400_000) == distinct.choose(35_000, 400_000)
    assert distinct.choose_scan(np.array([200, 300]), 8_000_000) == "sort"
    assert distinct.choose_scan(np.zeros(3, dtype=np.int64), 1_000) in distinct.METHODS


def test_env_forces_a_method(monkeypatch):
    for m in distinct.METHODS:
        monkeypatch.setenv("TRENDCALC_DISTINCT", m)
        assert distinct.choose(34_000, 400_000) == m
        assert distinct.choose_scan(np.array([34_000]), 400_000) == m
    monkeypatch.setenv("TRENDCALC_DISTINCT", "bitmap")
    assert distinct.choose(10, distinct.BITMAP_LIMIT + 1) == "sort"  # not allowed there: ignored


def test_limits_threads(monkeypatch):
    monkeypatch.setenv("TRENDCALC_THREADS", "3")
    assert default_threads() == 3 and tc.Limits().threads == 3
    monkeypatch.setenv("TRENDCALC_THREADS", "zero")
    with pytest.warns(UserWarning, match="TRENDCALC_THREADS"):
        assert default_threads() >= 1
    monkeypatch.delenv("TRENDCALC_THREADS")
    assert default_threads() == 2
    with pytest.raises(ValueError, match="threads"):
        tc.Limits(threads=0)


def test_dau_same_answer_on_one_and_two_threads(monkeypatch):
    """The engine's DAU through Limits.threads: equal answers, threads forced on a small store."""
    monkeypatch.setattr(distinct, "THREAD_MIN_ROWS", 0)
    rng = np.random.default_rng(5)
    n = 3000
    start = np.datetime64("2026-09-21T00:00:00", "s")
    records = [{"event": "$pageview", "distinct_id": f"u{int(d)}", "timestamp": f"{start + int(s)}Z"}
               for d, s in zip(rng.integers(0, 400, n), np.sort(rng.integers(0, 20 * 86400, n)))]
    store = tc.EventStore.from_records(records)
    q = {"events": [{"id": "$pageview", "math": "dau"}], "date_from": "2026-09-20", "date_to": "2026-10-15",
         "interval": "day"}
    answers = [tc.trends(store, q, limits=tc.Limits(threads=k)) for k in (1, 2)]
    assert answers[0][0]["data"] == answers[1][0]["data"]
    assert sum(answers[0][0]["data"]) > 0


@pytest.mark.parametrize("tz", ["UTC", "America/Los_Angeles", "Asia/Kolkata"])
@pytest.mark.parametrize("math", ["weekly_active", "monthly_active"])
def test_active_users_day_slots_match_the_general_path(monkeypatch, tz, math):
    """WAU/MAU by local-midnight slots (engine/active_slots.py) equal the per-row truncation
    path, on two events (two time-ordered blocks), with and without a property filter."""
    from trendcalc.engine import math as engine_math

    rng = np.random.default_rng(11)
    n = 4000
    start = np.datetime64("2026-08-01T00:00:00", "s")
    records = [{"event": str(e), "distinct_id": f"u{int(d)}", "timestamp": f"{start + int(s)}Z",
                "properties": {"k": int(k)}}
               for e, d, s, k in zip(rng.choice(["a", "b"], n), rng.integers(0, 600, n),
                                     rng.integers(0, 80 * 86400, n), rng.integers(0, 3, n))]
    store = tc.EventStore.from_records(records)
    project = {"timezone": tz}
    queries = [
        {"events": [{"id": "a", "math": math}, {"id": "b", "math": math}], "date_from": "2026-09-01",
         "date_to": "2026-10-15", "interval": "day"},
        {"actions": [], "events": [{"id": "a", "math": math, "properties": [{"key": "k", "value": [1, 2]}]}],
         "date_from": "2026-09-01", "date_to": "2026-10-15", "interval": "day"},
    ]
    fast = [tc.trends(store, q, project=project) for q in queries]
    monkeypatch.setattr(engine_math, "active_by_day_slots", lambda *a: None)
    slow = [tc.trends(store, q, project=project) for q in queries]
    for f, s in zip(fast, slow):
        assert [x["data"] for x in f] == [x["data"] for x in s]
        assert all(sum(x["data"]) > 0 for x in f)


@pytest.mark.parametrize("method", distinct.METHODS)
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint16])
def test_counts_whatever_the_key_dtype(method, dtype):
    # the bitmap and marks index with an intp copy of the keys (Scratch.index): int32 codes (the
    # stores' persons) and other widths count the same, and the reused buffer grows as needed
    rng = np.random.default_rng(5)
    scratch = distinct.Scratch(3000)
    for n in (0, 1, 17, 400, 2500, 90):
        x = rng.integers(0, 3000, n).astype(dtype)
        assert distinct.n_distinct(x, method, scratch) == len(set(x.tolist()))
        got = distinct.distinct_values(x, method, scratch)
        assert sorted(got.tolist()) == sorted(set(x.tolist()))


def test_choose_scan_prices_as_choose(monkeypatch):
    # a scan of equal buckets takes the method one such bucket would (empty buckets left out)
    for r in (1, 10, 500, 5_000, 34_000, 10**6):
        for space in (1, 20_000, 400_000, 5_000_000, distinct.MARKS_LIMIT + 1, distinct.BITMAP_LIMIT + 1):
            for values in (False, True):
                rows = np.array([r, 0, r, r])
                assert distinct.choose_scan(rows, space, values=values) == distinct.choose(r, space, values=values)
    monkeypatch.setenv("TRENDCALC_DISTINCT", "marks")
    assert distinct.choose_scan(np.array([10, 34_000]), 400_000) == "marks"


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 300), st.sampled_from([1, 2]))
def test_rolling_last_and_slots_agree_on_blocks(seed, n_slots, threads):
    """Several time-ordered blocks, keys repeated within a slot, empty slots, more slots than a
    byte counts (the slots' counts widen): both ways slide to the same answers."""
    rng = np.random.default_rng(seed)
    space = int(rng.integers(1, 200))
    blocks, keys, offset = [], [], 0
    for _ in range(int(rng.integers(1, 4))):
        sizes = rng.integers(0, 6, n_slots) * rng.integers(0, 2, n_slots)  # some slots empty
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        blocks.append((offset, bounds))
        keys.append(rng.integers(0, space, int(bounds[-1])))
        offset += int(bounds[-1])
    key = np.concatenate(keys).astype(np.int32)
    if len(key) == 0:
        return
    slots = np.arange(n_slots) * 10
    starts = np.sort(rng.choice(slots, size=min(n_slots, 40), replace=False))
    window = starts - rng.integers(1, n_slots + 2) * 10
    by_last = distinct.rolling_slots(key, blocks, slots, starts, window, method="last")
    by_slots = distinct.rolling_slots(key, blocks, slots, starts, window, method="sort", threads=threads)
    np.testing.assert_array_equal(by_last, by_slots)
    slot_of = np.concatenate([np.repeat(np.arange(n_slots), np.diff(b)) for _, b in blocks])
    ref = [len(set(key[(slots[slot_of] > w) & (slots[slot_of] <= s)].tolist())) for s, w in zip(starts, window)]
    np.testing.assert_array_equal(by_last, np.array(ref, dtype=float))


def test_rolling_method_choices(monkeypatch):
    # a partition of the 10 M benchmark: 39 day slots of ~9.4 k rows among 96 k persons → last
    # (2.0 ms, against 4.2 ms by the per-key counts it replaced and ~5 ms by slots, measured);
    # the whole store's 37 k a slot among 384 k too
    assert distinct.rolling_method(np.full(39, 9_400), 96_000, 31) == "last"
    assert distinct.rolling_method(np.full(39, 37_000), 384_000, 31, threads=2) == "last"
    # a few rows a slot among ten million keys: a pass over the keys per bucket is dearer → slots
    assert distinct.rolling_method(np.full(39, 2_500), 10_000_000, 31) == "slots"
    monkeypatch.setenv("TRENDCALC_DISTINCT", "marks")  # a forced distinct method is the slots way's
    assert distinct.rolling_method(np.full(39, 9_400), 96_000, 31) == "slots"


def test_over_buckets_hands_each_bucket_to_one_thread_as_they_claim_them() -> None:
    """Every bucket runs exactly once; the calling thread works too, so a pool thread that is
    slow to start leaves it the buckets it has not claimed (no fixed half to wait for)."""
    import threading
    import time

    seen: list[tuple[int, str]] = []
    lock = threading.Lock()
    caller = threading.current_thread().name

    def work(buckets: Any) -> None:
        if threading.current_thread().name != caller:
            time.sleep(0.05)  # a pool thread that starts late
        for b in buckets:
            with lock:
                seen.append((b, threading.current_thread().name))

    distinct.over_buckets(40, distinct.THREAD_MIN_ROWS, 2, work)
    assert sorted(b for b, _ in seen) == list(range(40))
    assert sum(name == caller for _, name in seen) == 40  # (the late thread found none left)


def test_over_buckets_raises_a_pool_threads_error_after_every_thread_is_done() -> None:
    import threading

    done = []
    caller = threading.current_thread().name
    claimed = threading.Event()

    def work(buckets: Any) -> None:
        if threading.current_thread().name != caller:
            for b in buckets:  # claims one bucket, then fails on it
                claimed.set()
                raise ValueError(f"bucket {b}")
            claimed.set()
            return
        assert claimed.wait(10)
        for b in buckets:
            done.append(b)

    with pytest.raises(ValueError, match="bucket"):
        distinct.over_buckets(1000, distinct.THREAD_MIN_ROWS, 2, work)
    assert len(done) + 1 == 1000  # (the caller took every bucket but the one that raised)


def test_rolling_last_over_more_slots_than_two_bytes_count():
    """40 000 slots (the last slot seen widens to int32), windows sliding forward, jumping and
    going back: the brute-force answers."""
    rng = np.random.default_rng(7)
    n_slots = 40_000
    slot_of = np.sort(rng.integers(0, n_slots, 3_000))
    key = rng.integers(0, 50, len(slot_of)).astype(np.int32)
    bounds = np.searchsorted(slot_of, np.arange(n_slots + 1))
    slots = np.arange(n_slots)
    starts = np.array([100, 35_000, 39_999, 20_000, 20_001])
    window = starts - np.array([50, 30_000, 2, 10, 15_000])
    got = distinct.rolling_slots(key, [(0, bounds)], slots, starts, window, method="last")
    ref = [len(set(key[(slot_of > w) & (slot_of <= s)].tolist())) for s, w in zip(starts, window)]
    assert got.tolist() == ref == [2, 50, 0, 2, 50]
