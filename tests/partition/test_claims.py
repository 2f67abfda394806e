"""Work sharing on the claims board (``partition/claims.py``): every partition computed, each
process's own share first, a slow worker's partitions taken over by the caller, errors raised
as ``executor=None`` raises them."""

from __future__ import annotations

import importlib
import os
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import trendcalc as tc
from trendcalc.partition.claims import (
    SLOTS,
    cells_of,
    claim_order,
    gather,
    new_board,
    next_call,
    run_claiming,
)
from trendcalc.partition.tasks import Task


@given(st.integers(1, 6), st.integers(0, 40), st.data())
def test_a_partys_claim_order_is_its_own_share_then_the_others_from_the_end(parties: int, count: int,
                                                                             data: st.DataObject) -> None:
    party = data.draw(st.integers(0, parties - 1))
    order = claim_order(party, parties, count)
    assert sorted(order) == list(range(count))
    own = list(range(party, count, parties))
    assert order[:len(own)] == own
    assert order[len(own):] == sorted(order[len(own):], reverse=True)


def _where(store: tc.EventStore, seconds: dict[int, float]) -> tuple[int, int]:
    """The partition's size and the process that computed it, after ``seconds[pid]``."""
    time.sleep(seconds.get(os.getpid(), 0.0))
    return len(store), os.getpid()


def _fail_on(store: tc.EventStore, sizes: tuple[int, ...]) -> int:
    if len(store) in sizes:
        raise ValueError(f"partition of {len(store)} events")
    return len(store)


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> tc.PartitionedStore:
    """Six partitions of one person each, of distinct sizes (1..6 events, ``SIZES``): a
    partition's answer says which it is."""
    events = [{"event": "e", "distinct_id": f"p{p}", "timestamp": "2024-03-10T10:00:00Z"}
              for p in range(6) for _ in range(p + 1)]
    path = tmp_path_factory.mktemp("claims") / "p"
    parts = tc.partition(tc.EventStore.from_records(events), path, partitions=6,
                         assign=lambda s, k: np.arange(len(s.persons)) % k, durable=False)
    assert sorted(_sizes(parts)) == [1, 2, 3, 4, 5, 6]
    return parts


def _paths(parts: tc.PartitionedStore) -> list[str]:
    return [str(p) for p in parts.paths]


def _sizes(parts: tc.PartitionedStore) -> list[int]:
    return [len(parts.load(i)) for i in range(parts.partitions)]


def test_parties_on_one_board_compute_each_partition_once_in_a_call(parts: tc.PartitionedStore) -> None:
    cells = cells_of(new_board())
    paths, tasks = _paths(parts), [Task(_fail_on, ((),))] * 6
    for _ in range(2):  # a second call's claims start afresh
        next_call(cells)
        first = run_claiming(cells, 0, 3, paths, tasks, None)
        assert [i for i, _, _ in first] == [0, 3, 5, 4, 2, 1]  # nothing claimed yet: it takes all
        assert run_claiming(cells, 2, 3, paths, tasks, None) == []
        assert gather(6, [first]) == _sizes(parts)
    next_call(cells)
    cells[2 + 5] = cells[0] << 8 | 1  # partition 5 already claimed by party 1 in this call
    cells[2 + 1] = (cells[0] - 1) << 8 | 0  # partition 1 claimed in the call before: free again
    mine = run_claiming(cells, 2, 3, paths, tasks, None)
    assert [i for i, _, _ in mine] == [2, 4, 3, 1, 0]  # its own (2), then the others' from the end, not 5


def test_gather_keeps_the_first_answer_and_raises_the_lowest_partitions_error() -> None:
    boom, bang = ValueError("3"), KeyError("1")
    assert gather(3, [[(2, True, "c"), (0, True, "a")], [(1, True, "b"), (2, True, "c2")]]) == ["a", "b", "c"]
    with pytest.raises(KeyError):
        gather(4, [[(3, False, boom), (0, True, "a")], [(1, False, bang), (2, True, "c")]])
    with pytest.raises(AssertionError, match=r"\[1\]"):
        gather(3, [[(0, True, "a"), (2, True, "c")]])


def test_a_store_with_more_partitions_than_the_board_runs_fixed_shares(parts: tc.PartitionedStore,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    claims = importlib.import_module("trendcalc.partition.claims")
    monkeypatch.setattr(claims, "SLOTS", 4)
    cells = cells_of(new_board())
    next_call(cells)
    paths, tasks = _paths(parts), [Task(_fail_on, ((),))] * 6
    shares = [run_claiming(cells, p, 2, paths, tasks, None) for p in (0, 1)]
    assert [[i for i, _, _ in s] for s in shares] == [[0, 2, 4], [1, 3, 5]]
    assert SLOTS > 4 and gather(6, shares) == _sizes(parts)


def test_the_caller_takes_over_a_slow_workers_partitions(parts: tc.PartitionedStore) -> None:
    """A pool of one worker plus the caller: the worker's share is partitions 0, 2, 4. When the
    worker is slow (0.5 s a partition, the caller 0.05 s), the caller, done with 1, 3, 5,
    computes 4 and 2 too; the answers are the same and in partition order."""
    from trendcalc.partition.executors import _batched
    from trendcalc.partition.pipes import PipePool

    pool = PipePool(1, 1)
    try:
        worker_pid = pool._procs[0].pid
        _batched(pool, parts, Task(_where, ({},)))  # (the worker started and opened its share)
        answers = _batched(pool, parts, Task(_where, ({worker_pid: 0.5, os.getpid(): 0.05},)))
        assert [size for size, _ in answers] == _sizes(parts)
        by = [pid for _, pid in answers]
        assert by[0] == worker_pid and by[1] == by[3] == by[5] == os.getpid()
        assert by[4] == os.getpid() and by[2] == os.getpid()  # taken over
        again = _batched(pool, parts, Task(_where, ({},)))  # nobody slow (who computes what: timing)
        assert [size for size, _ in again] == _sizes(parts)
        assert {pid for _, pid in again} <= {worker_pid, os.getpid()}
        with pytest.MonkeyPatch.context() as patch:  # not sharing: the fixed shares, however slow
            patch.setattr(importlib.import_module("trendcalc.partition.claims"), "SHARE_WORK", False)
            fixed = _batched(pool, parts, Task(_where, ({worker_pid: 0.05},)))
        assert fixed == [(size, worker_pid if i % 2 == 0 else os.getpid()) for i, size in enumerate(_sizes(parts))]
    finally:
        pool.shutdown()


def test_a_failing_partition_raises_its_error_through_the_pool(parts: tc.PartitionedStore) -> None:
    """The lowest-numbered failing partition's error, wherever it ran (partition 1 runs in the
    caller, partition 2 in the worker), as executor=None raises it."""
    from trendcalc.partition.executors import _batched
    from trendcalc.partition.pipes import PipePool

    sizes = _sizes(parts)
    pool = PipePool(1, 1)
    try:
        for failing in [(1, 2), (2, 3), (4, 5), (0, 5)]:
            with pytest.raises(ValueError, match=f"partition of {sizes[failing[0]]} events"):
                _batched(pool, parts, Task(_fail_on, (tuple(sizes[i] for i in failing),)))
        assert _batched(pool, parts, Task(_fail_on, ((),))) == sizes  # the pool serves on
    finally:
        pool.shutdown()


def test_the_processes_executor_answers_like_the_single_store_with_work_shared(tmp_path: Path) -> None:
    events = [{"event": "$pageview", "distinct_id": f"u{i % 23}", "timestamp": f"2024-03-{i % 14 + 1:02d}T10:00:00Z"}
              for i in range(300)]
    store = tc.EventStore.from_records(events)
    parts = tc.partition(store, tmp_path / "p", partitions=7, durable=False)
    query = {"events": [{"id": "$pageview", "math": "dau"}], "date_from": "-14d"}
    now = "2024-03-15T12:00:00Z"
    want = tc.trends(store, query, now=now).to_dicts()
    for _ in range(3):
        assert tc.trends(parts, query, now=now, executor="processes").to_dicts() == want
