"""The store's slot index (engine/block_positions.py) finds the rows a binary search would."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import trendcalc as tc
from trendcalc.engine import block_positions as bp
from trendcalc.engine.select import Rows, event_selection

BASE = 1_700_000_000_000_000
QUARTER = 900_000_000


def _store(rng: np.random.Generator, span: int, whole_seconds: bool) -> tc.EventStore:
    n = int(rng.integers(1, 1500))
    names = [f"e{i}" for i in range(int(rng.integers(2, 7)))]
    ts = BASE + rng.integers(0, span, n)
    if whole_seconds:  # ties, and rows on the index's second-before bounds
        ts = BASE + rng.integers(0, span // 10**6 + 1, n) * 10**6 + rng.choice([0, 1, 999_999, 500_000], n)
    return tc.EventStore.from_records([
        {"event": str(rng.choice(names)), "distinct_id": "d",
         "timestamp": dt.datetime.fromtimestamp(int(t) / 1e6, dt.timezone.utc).isoformat()} for t in ts])


def _bounds(rng: np.random.Generator, span: int, k: int) -> np.ndarray:
    grid = BASE + rng.integers(-2, span // QUARTER + 3, k) * QUARTER
    return np.concatenate([
        BASE + rng.integers(-10**9, span + 10**9, k),
        grid + rng.choice([-1, 0, 1, -10**6, -999_999, 1 - 10**6], k),
    ])


@pytest.mark.parametrize("seed", range(6))
def test_positions_equal_binary_search(seed):
    rng = np.random.default_rng(seed)
    span = int(rng.choice([10**9, 10**11, 10**13, 10**14]))
    store = _store(rng, span, whole_seconds=seed % 2 == 0)
    assert bp.slot_index(store) is not None
    codes = np.arange(len(store.event_names))
    for k in (1, 2, 30):  # the Python path for a range's bounds, the vectorised one for edges
        xs = _bounds(rng, span, k)
        want = bp._searched(store, codes, xs)
        assert bp.block_positions(store, codes, xs).tolist() == want.tolist()
        assert bp.block_positions(store, codes[::-1], xs).tolist() == want[::-1].tolist()
    extreme = np.array([np.iinfo(np.int64).min + 1, np.iinfo(np.int64).max - 1])
    assert bp.block_positions(store, codes, extreme).tolist() == bp._searched(store, codes, extreme).tolist()


@pytest.mark.parametrize("seed", range(4))
def test_rows_between_and_selection(seed):
    rng = np.random.default_rng(10 + seed)
    span = 10**12
    store = _store(rng, span, whole_seconds=True)
    codes = np.arange(len(store.event_names))
    for lo, hi in zip(_bounds(rng, span, 10).tolist(), _bounds(rng, span, 10).tolist()):
        slices = [store.event_slice(c, lo, hi) for c in codes.tolist()]
        assert bp.rows_between(store, codes, lo, hi) == sum(max(s.stop - s.start, 0) for s in slices)
        sel = event_selection(store, [None], lo, hi)
        assert sel.index().tolist() == Rows(slices).index().tolist()
        edges = np.sort(np.unique(np.concatenate([[lo], _bounds(rng, span, 5), [hi]])))
        fast_rows, fast_runs = sel.bucket_runs(store.ts, edges, store)
        slow_rows, slow_runs = sel.bucket_runs(store.ts, edges)
        assert fast_rows.index().tolist() == slow_rows.index().tolist()
        assert [r.tolist() for r in fast_runs] == [r.tolist() for r in slow_runs]


def test_no_index_for_an_empty_store():
    empty = tc.EventStore.from_records([])
    assert bp.slot_index(empty) is None


def test_slices_across_event_blocks_take_the_searching_path():
    rng = np.random.default_rng(3)
    store = _store(rng, 10**11, whole_seconds=False)
    n = len(store)
    rows = Rows([slice(0, n // 2), slice(n // 2, n)])  # each may span several events' blocks
    edges = np.sort(_bounds(rng, 10**11, 6))
    fast = rows.bucket_runs(store.ts, edges, store)
    slow = rows.bucket_runs(store.ts, edges)
    assert fast[0].index().tolist() == slow[0].index().tolist()
    assert [r.tolist() for r in fast[1]] == [r.tolist() for r in slow[1]]
