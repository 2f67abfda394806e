"""The executors (in process, "processes", a concurrent.futures pool, a Dask LocalCluster) give
the single store's answer; and the public surface around them: open, validation, refusals."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import trendcalc as tc
from trendcalc.partition.layout import person_rows_file

from .test_sessions import NOW as SESSIONS_NOW
from .test_sessions import QUERIES as SESSION_QUERIES
from .test_sessions import world

NOW = "2024-03-15T12:00:00Z"
QUERIES = [
    {"events": [{"id": "$pageview", "math": "dau"}, {"id": "signup"}], "date_from": "-14d",
     "breakdown": "$browser", "breakdown_limit": 2},
    {"events": [{"id": "$pageview", "math": "weekly_active"}], "date_from": "-30d", "compare": True},
    {"events": [{"id": "$pageview", "math": "sum", "math_property": "n"}], "date_from": "-14d",
     "display": "ActionsLineGraphCumulative"},
    {"events": [{"id": "$pageview", "math": "first_time_for_user"}], "date_from": "-14d", "display": "ActionsPie",
     "breakdown": "plan", "breakdown_type": "person"},
]


def records() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """60 persons over 14 days; several distinct_ids per person, browsers and plans spread."""
    events, persons = [], []
    for p in range(60):
        ids = [f"p{p}", f"p{p}-b"]
        persons.append({"distinct_ids": ids, "properties": {"plan": ["free", "pro", "team"][p % 3]}})
        for i in range(p % 9 + 1):
            day = (p * 7 + i * 3) % 14 + 1
            events.append({"event": "$pageview" if i % 4 else "signup", "distinct_id": ids[i % 2],
                           "timestamp": f"2024-03-{day:02d}T{(p + i) % 24:02d}:15:00Z",
                           "properties": {"$browser": ["Chrome", "Firefox", "Safari", "Edge"][(p + i) % 4], "n": i}})
    return events, persons


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[tc.EventStore, tc.PartitionedStore]:
    events, persons = records()
    store = tc.EventStore.from_records(events, persons=persons)
    parts = tc.partition(store, tmp_path_factory.mktemp("parts") / "p", partitions=3, durable=False)
    return store, parts


def single(store: tc.EventStore, query: dict[str, Any]) -> list[dict[str, Any]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tc.TrendcalcWarning)
        return tc.trends(store, query, now=NOW).to_dicts()


@pytest.mark.parametrize("query", QUERIES)
def test_in_process_equals_single_store(data: Any, query: dict[str, Any]) -> None:
    store, parts = data
    want = single(store, query)
    assert want and any(any(s["data"]) if s["data"] else s["aggregated_value"] for s in want)  # not all zeros
    assert tc.trends(parts, query, now=NOW).to_dicts() == want


def test_processes_executor_equals_single_store(data: Any) -> None:
    """Also when asked again: the second time the workers reuse what they unpickled for the
    same message (``messages.message_of``) and the caller its pickled shares."""
    store, parts = data
    for query in QUERIES:
        for _ in range(2):
            assert tc.trends(parts, query, now=NOW, executor="processes").to_dicts() == single(store, query)


def test_a_process_pool_of_two_workers_equals_single_store(data: Any) -> None:
    store, parts = data
    with ProcessPoolExecutor(max_workers=2) as pool:
        for query in QUERIES:
            assert tc.trends(parts, query, now=NOW, executor=pool).to_dicts() == single(store, query)


def opened_partitions() -> list[str]:
    """The partitions this process keeps open (run on each Dask worker)."""
    from trendcalc.partition import worker

    return sorted(Path(p).name for p in worker._open)


def test_dask_local_cluster_equals_single_store(data: Any, tmp_path: Path) -> None:
    """Two worker processes on 127.0.0.1, started and stopped here. Work stealing is off so that
    where each task ran is deterministic: each worker opened only its home partitions. Sessions
    spanning partitions: the workers read their events from the store saved beside the
    partitions (``shared-sessions``)."""
    distributed = pytest.importorskip("distributed", reason="dask[distributed] is the optional extra 'dask'")
    import dask

    store, parts = data
    with dask.config.set({"distributed.scheduler.work-stealing": False}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                           dashboard_address=None)
    try:
        client = distributed.Client(cluster)
        try:
            for query in QUERIES[:2]:
                for _ in range(2):
                    assert tc.trends(parts, query, now=NOW, executor=client).to_dicts() == single(store, query)
            opened = client.run(opened_partitions)
            names = [p.name for p in parts.paths]
            first, second = sorted(opened)
            assert opened[first] == sorted([names[0], names[2]]) and opened[second] == [names[1]]
            sessions = world()
            shared = tc.partition(sessions, tmp_path / "s", partitions=2, durable=False)
            assert shared.shared_session_ids()
            for name in ("entry-url", "duration-filter"):
                query = SESSION_QUERIES[name]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", tc.TrendcalcWarning)
                    want = tc.trends(sessions, query, now=SESSIONS_NOW).to_dicts()
                    assert tc.trends(shared, query, now=SESSIONS_NOW, executor=client).to_dicts() == want, name
            assert all("shared-sessions" in names for names in client.run(opened_partitions).values())
        finally:
            client.close()
    finally:
        cluster.close()


def test_a_dask_cluster_has_a_slot_per_worker_thread() -> None:
    from trendcalc.partition.executors import slots

    assert slots({"tcp://b:2": 1, "tcp://a:1": 2}) == ["tcp://a:1", "tcp://a:1", "tcp://b:2"]
    assert slots({}) == []
    assert slots({"tcp://a:1": 0}) == ["tcp://a:1"]  # (a worker reporting no thread still gets one slot)


def test_open_reads_the_manifest(data: Any) -> None:
    store, parts = data
    again = tc.PartitionedStore.open(parts.root)
    assert again.partitions == 3 and len(again) == len(store) == sum(again.events)
    manifest = json.loads((parts.root / "manifest.json").read_text())
    assert manifest["format"] == "trendcalc-partitioned" and manifest["version"] == 1 and manifest["k"] == 3
    lo = min(b[0] for b in again.time_bounds if b is not None)
    hi = max(b[1] for b in again.time_bounds if b is not None)
    assert (lo, hi) == (int(store.ts.min()), int(store.ts.max()))
    # every person (and so each of its distinct_ids) lives in exactly one partition
    loaded = [again.load(i) for i in range(3)]
    assert sum(len(p.persons) for p in loaded) == len(store.persons)
    seen = [set(p.distinct_ids.tolist()) for p in loaded]
    assert sum(len(s) for s in seen) == len(set().union(*seen)) == len(store.distinct_ids)
    assert all(len(p.persons) for p in loaded)  # the hash spreads 60 persons over all 3


def test_hogql_maths_read_person_ids_of_the_whole_store(data: Any, tmp_path: Path) -> None:
    """``uniq(person.id)``: these persons have no id, so they are named by their row in the whole
    store (the rows ``tc.partition`` saves beside each partition), through every executor; a
    partition written without those rows refuses rather than name a person by its row in it."""
    store, parts = data
    query = {"events": [{"id": "$pageview", "math": "hogql", "math_hogql": "uniq(person.id) * 1000 + count()"}],
             "date_from": "-14d", "breakdown": "$browser"}
    want = single(store, query)
    assert any(any(s["data"]) for s in want) and store.persons.ids[0] is None
    assert tc.trends(parts, query, now=NOW).to_dicts() == want
    assert tc.trends(parts, query, now=NOW, executor="processes").to_dicts() == want
    bare = tc.partition(store, tmp_path / "bare", partitions=2, durable=False)
    for p in bare.paths:
        p.with_name(person_rows_file(p.name)).unlink()
    with pytest.raises(tc.UnsupportedError, match="without"):
        tc.trends(tc.PartitionedStore.open(bare.root), query, now=NOW)

def test_sum_of_non_integers_is_the_single_stores(tmp_path: Path) -> None:
    """Floats whose row-order sums differ with the order (0.1·i) sum exactly on both sides."""
    events = [{"event": "e", "distinct_id": f"u{i}", "timestamp": "2024-03-10T10:00:00Z", "properties": {"x": 0.1 * i}}
              for i in range(10)]
    store = tc.EventStore.from_records(events)
    parts = tc.partition(store, tmp_path / "p", partitions=2, durable=False)
    for math in ("sum", "avg"):
        query = {"events": [{"id": "e", "math": math, "math_property": "x"}], "date_from": "2024-03-09", "date_to": "2024-03-11"}
        assert tc.trends(parts, query, now=NOW).to_dicts() == tc.trends(store, query, now=NOW).to_dicts()


def test_bad_arguments(data: Any, tmp_path: Path) -> None:
    store, parts = data
    with pytest.raises(tc.ValidationError) as e:
        tc.trends(parts, QUERIES[0], now=NOW, executor="threads")
    assert e.value.path == ("executor",)
    with pytest.raises(tc.ValidationError) as e:
        tc.trends(store, QUERIES[0], now=NOW, executor="processes")
    assert e.value.path == ("executor",)
    with pytest.raises(tc.ValidationError) as e:
        tc.partition(store, tmp_path / "q", partitions=0)
    assert e.value.path == ("partitions",)
    with pytest.raises(tc.ValidationError) as e:
        tc.partition(store, tmp_path / "q", partitions=2, assign=lambda s, k: [5] * len(s.persons))
    assert e.value.path == ("assign",)
    with pytest.raises(FileExistsError):
        tc.partition(store, parts.root, partitions=2)
    with pytest.raises(tc.StoreFormatError):
        tc.PartitionedStore.open(tmp_path)


def test_partition_from_a_file(tmp_path: Path) -> None:
    events, persons = records()
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    parts = tc.partition(path, tmp_path / "p", partitions=2, persons=persons, durable=False)
    store = tc.EventStore.from_records(events, persons=persons)
    assert tc.trends(parts, QUERIES[0], now=NOW).to_dicts() == single(store, QUERIES[0])


def test_import_does_not_import_dask() -> None:
    code = "import sys, trendcalc; print(any(m.split('.')[0] in ('dask', 'distributed') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def _refuse(store: tc.EventStore) -> None:
    """A partition task that raises trendcalc's own error inside the worker."""
    raise tc.UnsupportedError(("math_property",), f"refused over {len(store)} events")


def test_an_error_in_a_pool_worker_reaches_the_caller(tmp_path: Path) -> None:
    """A partition task raising at run time raises the same UnsupportedError from "processes" —
    the error pickles, it does not surface as BrokenProcessPool — and the warm pool keeps working."""
    from trendcalc.partition.executors import partition_map
    from trendcalc.partition.tasks import Task

    events = [{"event": "e", "distinct_id": f"u{i}", "timestamp": "2024-03-10T10:00:00Z", "properties": {"f": i + 0.5}}
              for i in range(8)]
    parts = tc.partition(tc.EventStore.from_records(events), tmp_path / "p", partitions=2, durable=False)
    with pytest.raises(tc.UnsupportedError) as err, partition_map("processes", parts) as run:
        run(Task(_refuse))
    assert err.value.path == ("math_property",) and err.value.message.startswith("refused over ")
    ok = {"events": [{"id": "e"}], "date_from": "-7d"}
    assert tc.trends(parts, ok, now=NOW, executor="processes").to_dicts() == tc.trends(parts, ok, now=NOW).to_dicts()


def _len(store: tc.EventStore) -> int:
    return len(store)


@pytest.mark.parametrize("spin", [0.0, 0.05])
def test_a_pipe_pool_answers_with_and_without_spinning(tmp_path: Path, spin: float) -> None:
    """Workers that poll between tasks (spin > 0) answer the same as workers that sleep at once,
    also for calls spaced wider than the spin (the worker has gone back to a blocking read)."""
    import time

    from trendcalc.partition.pipes import PipePool
    from trendcalc.partition.tasks import Task, run_many_on_one_thread

    events = [{"event": "e", "distinct_id": f"u{i}", "timestamp": "2024-03-10T10:00:00Z"} for i in range(9)]
    parts = tc.partition(tc.EventStore.from_records(events), tmp_path / "p", partitions=3, durable=False)
    paths = [str(p) for p in parts.paths]
    sizes = [len(parts.load(i)) for i in range(3)]
    pool = PipePool(1, 1, spin=spin)
    try:
        for pause in (0.0, 0.0, 0.12, 0.0):
            time.sleep(pause)
            answers = pool.call([(run_many_on_one_thread, (paths[:2], [Task(_len)] * 2))], here=(run_many_on_one_thread, (paths[2:], [Task(_len)])))
            assert answers == [sizes[:2], sizes[2:]]
    finally:
        pool.shutdown()
    assert sum(sizes) == 9


def _sleep_then(seconds: float, value: int) -> int:
    import time

    time.sleep(seconds)
    return value


def _die() -> None:
    import os

    os._exit(3)


@pytest.mark.parametrize(("worker_s", "here_s"), [(0.0, 0.0), (0.05, 0.0), (0.05, 0.01), (0.0, 0.03), (0.03, 0.03)])
def test_the_caller_polls_for_answers_then_reads_them_in_order(worker_s: float, here_s: float) -> None:
    """Workers answering before, about when, and long after the caller's own share (past its
    poll, so it blocks in a read): every answer comes back in order."""
    from trendcalc.partition.pipes import PipePool

    pool = PipePool(2, 1)
    try:
        for _ in range(3):
            shares = [(_sleep_then, (worker_s, 1)), (_sleep_then, (worker_s / 2, 2))]
            assert pool.call(shares, here=(_sleep_then, (here_s, 3))) == [1, 2, 3]
        assert pool.call([(_sleep_then, (worker_s, 4))]) == [4]  # (nothing here: no poll)
    finally:
        pool.shutdown()


def test_a_worker_that_dies_mid_call_breaks_the_pool_and_the_executor_starts_a_fresh_one(tmp_path: Path) -> None:
    """A worker dying while the caller polls or reads raises BrokenPool and stops the pool;
    ``executor="processes"`` then answers from a fresh pool (a killed warm worker costs one retry)."""
    import os
    import signal

    from trendcalc.partition import executors
    from trendcalc.partition.pipes import BrokenPool, PipePool

    pool = PipePool(1, 1)
    with pytest.raises(BrokenPool, match="a partition worker died"):
        pool.call([(_die, ())], here=(_sleep_then, (0.01, 0)))
    assert pool.broken
    with pytest.raises(BrokenPool, match="was stopped"):
        pool.call([(_sleep_then, (0.0, 1))])

    events = [{"event": "e", "distinct_id": f"u{i}", "timestamp": "2024-03-10T10:00:00Z"} for i in range(6)]
    parts = tc.partition(tc.EventStore.from_records(events), tmp_path / "p", partitions=2, durable=False)
    query = {"events": [{"id": "e", "math": "dau"}], "date_from": "-7d"}
    want = tc.trends(parts, query, now=NOW).to_dicts()
    assert tc.trends(parts, query, now=NOW, executor="processes").to_dicts() == want
    warm = executors._warm_pool()
    if warm.workers:  # (a 1-core machine's pool has no worker: the caller computes every share)
        os.kill(warm._procs[0].pid, signal.SIGKILL)
        warm._procs[0].join(timeout=5)
    assert tc.trends(parts, query, now=NOW, executor="processes").to_dicts() == want
    assert executors._warm_pool() is not warm or not warm.workers


def test_the_spin_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from trendcalc.partition.pipes import POLL_CAP_MS, PipePool, _spin_seconds

    assert POLL_CAP_MS == 20.0
    monkeypatch.delenv("TRENDCALC_POOL_SPIN_MS", raising=False)
    assert _spin_seconds() == 0.02
    monkeypatch.setenv("TRENDCALC_POOL_SPIN_MS", "0")
    assert _spin_seconds() == 0.0
    monkeypatch.setenv("TRENDCALC_POOL_SPIN_MS", "2.5")
    assert _spin_seconds() == 0.0025
    for bad in ("-1", "soon", "nan", "inf"):
        monkeypatch.setenv("TRENDCALC_POOL_SPIN_MS", bad)
        with pytest.warns(UserWarning, match="TRENDCALC_POOL_SPIN_MS must be a non-negative number of milliseconds, "
                                             "got .*; using the default, 20"):
            assert _spin_seconds() == 0.02
    with pytest.raises(ValueError, match="spin must be a non-negative number"):
        PipePool(1, 1, spin=-0.5)


def test_the_poll_window_adapts_to_the_gaps_between_queries() -> None:
    """``PollWindow``: closed at first; a query that came after the worker blocked, within the
    cap, opens it to 1.5 times that gap (at least twice the window, at most the cap); one that
    came while it polled leaves it; a gap over the cap closes it."""
    from trendcalc.partition.pipes import PollWindow

    w = PollWindow(0.02)
    assert w.seconds == 0.0
    w.update(0.004, caught=False)  # a stream: 4 ms between queries
    assert w.seconds == pytest.approx(0.006)
    w.update(0.005, caught=True)  # caught while polling: as it was
    assert w.seconds == pytest.approx(0.006)
    w.update(0.001, caught=False)  # blocked, then a query: at least twice the window
    assert w.seconds == pytest.approx(0.012)
    w.update(0.018, caught=False)  # at most the cap
    assert w.seconds == pytest.approx(0.02)
    w.update(0.02, caught=False)  # (a gap of the cap itself still counts as a stream)
    assert w.seconds == pytest.approx(0.02)
    w.update(3.0, caught=False)  # a notebook's pause: no polling until the next stream
    assert w.seconds == 0.0
    w.update(0.002, caught=False)
    assert w.seconds == pytest.approx(0.003)
    off = PollWindow(0.0)  # TRENDCALC_POOL_SPIN_MS=0: never polls
    for gap in (0.0, 1e-4, 0.5):
        off.update(gap, caught=False)
        assert off.seconds == 0.0


@pytest.mark.parametrize("executor", [None, "processes"])
def test_a_store_rewritten_in_place_is_read_afresh(tmp_path: Path, executor: Any) -> None:
    """Partitions kept open (in this process and in the pool's workers) are opened again when
    the store at their path is rewritten: the caller reads the manifest's stamp once per query
    and the workers compare theirs with it."""
    import os
    import time

    def store_of(n: int) -> tc.EventStore:
        return tc.EventStore.from_records([{"event": "e", "distinct_id": f"u{i}", "timestamp": "2024-03-10T10:00:00Z"}
                                           for i in range(n)])

    query = {"events": [{"id": "e", "math": "dau"}], "date_from": "-7d"}
    path = tmp_path / "p"
    old = tc.partition(store_of(6), path, partitions=2, durable=False)
    assert max(tc.trends(old, query, now=NOW, executor=executor).series[0].data) == 6
    stamp = old.stamp()
    time.sleep(0.01)
    tc.partition(store_of(9), path, partitions=2, durable=False, overwrite=True)
    manifest = path / "manifest.json"
    if os.stat(manifest).st_mtime_ns == stamp:  # a coarse file-system clock: make the change visible
        os.utime(manifest, ns=(stamp + 1_000_000, stamp + 1_000_000))
    for parts in (old, tc.PartitionedStore.open(path)):
        assert max(tc.trends(parts, query, now=NOW, executor=executor).series[0].data) == 9


def test_a_repeated_querys_shares_are_pickled_once(data: Any) -> None:
    """The caller pickles a task's shares once per identity of its values (a dashboard's same
    parsed query and clock); another clock, another partitioned store or a large message is
    pickled afresh and answers the same."""
    import datetime as dt

    from trendcalc.partition.executors import _shares
    from trendcalc.partition.phases import NOTHING, partial_answers_in
    from trendcalc.partition.tasks import Task

    store, parts = data
    filt, project, limits = tc.parse_filter(QUERIES[0]), tc.Project(), tc.Limits()
    now = dt.datetime(2024, 3, 15, 12, tzinfo=dt.timezone.utc)
    task = Task(partial_answers_in, (filt, project, now, limits, NOTHING), each=parts.person_rows_handles())
    sent, here = _shares(parts, task, 2, parts.stamp())
    again = _shares(parts, Task(task.fn, task.args, task.each), 2, parts.stamp())
    assert again[0] is sent and again[1] is here and len(sent) == 1
    later = now + dt.timedelta(microseconds=1)
    moved = _shares(parts, Task(task.fn, (filt, project, later, limits, NOTHING), task.each), 2, parts.stamp())
    assert moved[0] is not sent and moved[0] != sent
    reopened = tc.PartitionedStore.open(parts.root)
    assert _shares(reopened, task, 2, reopened.stamp())[0] is not sent
    for when in (now, later, now):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", tc.TrendcalcWarning)
            want = tc.trends(store, QUERIES[0], now=when).to_dicts()
        assert tc.trends(parts, QUERIES[0], now=when, executor="processes").to_dicts() == want


def test_persons_rows_files_are_opened_once_and_again_when_rewritten(tmp_path: Path) -> None:
    import numpy as np

    from trendcalc.partition.tasks import load_rows

    path = tmp_path / "part-000.person_rows.npy"
    np.save(path, np.array([3, 1, 2], dtype=np.int64))
    first = load_rows(str(path))
    assert first is not None and first.tolist() == [3, 1, 2] and load_rows(str(path)) is first
    np.save(tmp_path / "new.npy", np.array([7, 8], dtype=np.int64))
    (tmp_path / "new.npy").replace(path)  # as a rewritten store replaces its files
    again = load_rows(str(path))
    assert again is not None and again.tolist() == [7, 8]
    assert load_rows(None) is None


def thread_cap(_store: tc.EventStore) -> Any:
    """The cap on query threads where a partition task runs (a Task's module-level function)."""
    from trendcalc.engine import distinct

    return getattr(distinct._LOCAL, "cap", None)


def test_a_given_executors_tasks_run_their_query_on_one_thread(data: Any) -> None:
    """Its workers are the parallelism: k slots x Limits.threads would oversubscribe the cores."""
    from concurrent.futures import ThreadPoolExecutor

    from trendcalc.partition.executors import partition_map
    from trendcalc.partition.tasks import Task

    _, parts = data
    with ThreadPoolExecutor(max_workers=2) as pool, partition_map(pool, parts) as run:
        assert run(Task(thread_cap)) == [1, 1, 1]
    with partition_map(None, parts) as run:
        assert run(Task(thread_cap)) == [None, None, None]  # (in process: Limits.threads as given)


def test_workers_exit_when_the_process_that_started_them_is_killed() -> None:
    """A pool's process killed outright (no exit handlers) cannot stop its workers; they notice
    within ORPHAN_CHECK_MS and exit, instead of holding their partitions (and any inherited
    socket, a server's port) for ever. Found as leftover workers of killed test servers."""
    import os
    import signal
    import time

    from trendcalc.partition.pipes import ORPHAN_CHECK_MS

    code = ("import os, sys, time\n"
            "from trendcalc.partition.pipes import PipePool\n"
            "pool = PipePool(2, 1, spin=0.0)\n"
            "assert pool.call([(os.getpid, ()), (os.getpid, ())]) != []\n"
            "print(' '.join(str(p.pid) for p in pool._procs), flush=True)\n"
            "time.sleep(60)\n")
    owner = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(p) for p in owner.stdout.readline().split()]  # type: ignore[union-attr]
        assert len(workers) == 2

        def alive(pid: int) -> bool:
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    return fh.read().split(")")[-1].split()[0] != "Z"
            except FileNotFoundError:
                return False

        assert all(alive(p) for p in workers)
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(timeout=10)
        deadline = time.monotonic() + 10 * ORPHAN_CHECK_MS / 1000
        while any(alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(alive(p) for p in workers)
    finally:
        if owner.poll() is None:
            owner.kill()
