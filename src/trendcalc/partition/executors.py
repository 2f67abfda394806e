"""Where the partitions run: a registry of executors by kind.

``None`` runs them in this process one after another; ``"processes"`` on a local pool of worker processes
(``pipes.py``: one per core, started on first use and kept warm across queries; each worker
keeps the partitions it opened, ``worker.py``, and gets one message per phase holding its share
of the partitions); any ``concurrent.futures.Executor`` you pass; or a ``dask.distributed.Client``
(recognised by its type's module, so dask is never imported here): one task per worker thread,
each holding the same partitions at every query, which its worker loads by path — a path it
must be able to read.

Every executor gives a ``Map`` (``tasks.py``): it runs one ``Task`` on every partition and
returns the answers in partition order; a query's phases each run one task.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from typing import Any

from ..errors import ValidationError
from ..recent import Recent
from .claims import gather, run_claiming, run_share
from .messages import MEMO_BYTES, dumps
from .pipes import BrokenPool, PipePool
from .store import PartitionedStore
from .tasks import Map, Task, run_many_on_one_thread, run_on_one_thread


@contextmanager
def _in_process(_executor: Any, parts: PartitionedStore) -> Iterator[Map]:
    def run(task: Task) -> list[Any]:
        stamp = parts.stamp()  # once for all partitions
        return [task.for_partition(i)(parts.load(i, stamp)) for i in range(parts.partitions)]

    yield run


_pool: PipePool | None = None
_pool_lock = threading.Lock()


def _cores() -> int:
    return max(1, os.cpu_count() or 1)


def _warm_pool() -> PipePool:
    """One pool per process (``pipes.py``: a worker per core but the caller's, which computes a
    share itself), kept across queries: its workers keep their partitions open (``worker.py``),
    so a query pays neither start-up nor loading again. Each worker's queries use one thread."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool.broken:
            _pool = PipePool(_cores() - 1, 1)
            atexit.register(shutdown_pool)
        return _pool


def shutdown_pool() -> None:
    """Stop the warm pool of ``executor="processes"`` (it starts again when next needed)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown()


_SHARES: Recent[tuple[Any, ...]] = Recent(64)


def _shares(parts: PartitionedStore, task: Task, n: int, stamp: int) -> tuple[list[bytes], tuple[Any, ...]]:
    """The workers' messages for ``task`` over ``n`` processes, pickled (``messages.dumps``), and
    the arguments of the caller's own share: each process is a party of ``claims.run_claiming``
    with every partition's path and task, its own share first. Memoised by the identity of the
    task's values: a dashboard sends the same query (the same parsed filter, project, limits and
    clock objects) again and again, and pickling its shares cost ~20 µs a query; a new clock
    (``now=None``) is a new key."""
    key = (id(parts), stamp, n, task.fn, tuple(map(id, task.args)), id(task.each))
    hit = _SHARES.find(key)
    if hit is not None and hit[0] is parts and hit[1].fn is task.fn and hit[1].each is task.each and all(
            a is b for a, b in zip(hit[1].args, task.args)):
        return hit[2], hit[3]
    paths = list(parts.path_strings()[:-1])
    tasks = [task.for_partition(i) for i in range(len(paths))]
    sent = [dumps((run_share, (j, n, paths, tasks, stamp))) for j in range(n - 1)]  # (raises before anything is sent)
    here = (n - 1, n, paths, tasks, stamp)
    if sum(map(len, sent)) <= MEMO_BYTES:  # (keeps the task's values alive: only small ones)
        _SHARES.put(key, (parts, task, sent, here))
    return sent, here


def _batched(pool: PipePool, parts: PartitionedStore, task: Task) -> list[Any]:
    """One share per core, each of every n-th partition, sent in one message per worker (a
    round trip per worker, not per partition); the last share runs in this process. The same
    partitions go to the same process at every query, which keeps them open; a process done
    with its share takes the partitions the others have not started (``claims.py``), so a late
    or slow worker holds the answer back by at most about one partition."""
    n = max(1, min(parts.partitions, pool.workers + 1))
    stamp = parts.stamp()  # the manifest's, once for all partitions (no stat in the workers)
    sent, here = _shares(parts, task, n, stamp)
    return gather(parts.partitions, pool.call(sent, here=(run_claiming, (pool.cells, *here))))


@contextmanager
def _processes(_executor: Any, parts: PartitionedStore) -> Iterator[Map]:
    def run(task: Task) -> list[Any]:
        try:
            return _batched(_warm_pool(), parts, task)
        except BrokenPool:  # a worker died (e.g. killed): a fresh pool, once
            shutdown_pool()
            return _batched(_warm_pool(), parts, task)

    yield run


@contextmanager
def _on_executor(pool: Executor, parts: PartitionedStore) -> Iterator[Map]:
    def run(task: Task) -> list[Any]:
        stamp = parts.stamp()
        futures = [pool.submit(run_on_one_thread, str(p), task.for_partition(i), stamp) for i, p in enumerate(parts.paths)]
        return [f.result() for f in futures]

    yield run


def slots(threads: dict[str, int]) -> list[str]:
    """A Dask cluster's task slots: each worker's address once per thread, workers by address."""
    return [addr for addr in sorted(threads) for _ in range(max(1, int(threads[addr] or 1)))]


@contextmanager
def _dask(client: Any, parts: PartitionedStore) -> Iterator[Map]:
    """One task per slot of the cluster (``slots``), holding every n-th partition: a Dask task
    round trip costs milliseconds (11 ms for one, 25 ms for four on a 2-worker LocalCluster),
    so a phase pays one per slot, not one per partition. Each goes to its slot's worker as a
    loose restriction — the scheduler may still move it (a worker lost, stealing from a busy
    one) — so the same partitions go to the same worker at every query while the cluster is
    unchanged, and a worker opens only its share and keeps it open (``worker.load_partition``).
    A cluster with no worker yet gets one unrestricted task per partition."""
    info = client.scheduler_info().get("workers", {})
    slot = slots({addr: w.get("nthreads", 1) for addr, w in info.items()})
    n = min(parts.partitions, len(slot)) if slot else parts.partitions
    paths = list(parts.path_strings()[:-1])

    def run(task: Task) -> list[Any]:
        stamp = parts.stamp()
        futures = [client.submit(run_many_on_one_thread, paths[j::n], [task.for_partition(i) for i in range(j, len(paths), n)],
                                 stamp, pure=False, workers=[slot[j]] if slot else None, allow_other_workers=True)
                   for j in range(n)]
        out: list[Any] = [None] * len(paths)
        for j, answers in enumerate(client.gather(futures)):
            out[j::n] = answers
        return out

    yield run


def _is_dask_client(executor: Any) -> bool:
    return type(executor).__module__.split(".")[0] == "distributed" and hasattr(executor, "gather")


Runner = Callable[[Any, PartitionedStore], Any]
"""``runner(executor, parts)``: a context manager giving the Map that runs tasks there."""


def runner_of(executor: Any) -> Runner:
    """The runner of an executor value, or ValidationError naming what is accepted."""
    if executor is None:
        return _in_process
    if isinstance(executor, str):
        named: dict[str, Runner] = {"processes": _processes}
        if executor in named:
            return named[executor]
        raise ValidationError(("executor",), f"unknown executor {executor!r}: expected None, 'processes', a "
                                             "concurrent.futures.Executor or a dask.distributed.Client")
    if _is_dask_client(executor):
        return _dask
    if isinstance(executor, Executor):
        return _on_executor
    raise ValidationError(("executor",), f"expected None, 'processes', a concurrent.futures.Executor or a "
                                         f"dask.distributed.Client, got {type(executor).__name__}")


def partition_map(executor: Any, parts: PartitionedStore) -> Any:
    """A context manager giving the Map that runs tasks on ``parts`` with ``executor`` (validated
    here, before anything runs)."""
    return runner_of(executor)(executor, parts)
