"""Where the partitions run: a registry of executors by kind.

``None`` runs them in this process one after another; ``"processes"`` on a local process pool
(one worker per core, kept warm across queries, each worker keeping its partitions open); any ``concurrent.futures.Executor`` you pass;
or a ``dask.distributed.Client`` (recognised by its type's module, so dask is never imported
here), whose workers load their partition from its path — a path they must be able to read.
"""

from __future__ import annotations

import atexit
import datetime as dt
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ..errors import ValidationError
from ..limits import Limits
from ..project import Project
from ..query.model import TrendsFilter
from .partials import partial_answers
from .store import PartitionedStore
from .worker import answers_at, answers_at_many

Args = tuple[TrendsFilter, Project, dt.datetime, Limits]


def _in_process(_executor: Any, parts: PartitionedStore, args: Args) -> list[Any]:
    return [partial_answers(parts.load(i), *args) for i in range(parts.partitions)]


_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _warm_pool() -> ProcessPoolExecutor:
    """One process pool per process (a worker per core), kept across queries: its workers keep
    their partitions open (``worker.py``), so a query pays neither start-up nor loading again."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(max_workers=_workers())
            atexit.register(shutdown_pool)
        return _pool


def _workers() -> int:
    return max(1, os.cpu_count() or 1)


def shutdown_pool() -> None:
    """Stop the warm pool of ``executor="processes"`` (it starts again when next needed)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def _processes(_executor: Any, parts: PartitionedStore, args: Args) -> list[Any]:
    try:
        return _batched(_warm_pool(), parts, args)
    except BrokenProcessPool:  # (a worker died, e.g. killed): a fresh pool, once
        shutdown_pool()
        return _batched(_warm_pool(), parts, args)


def _batched(pool: ProcessPoolExecutor, parts: PartitionedStore, args: Args) -> list[Any]:
    """One task per worker, each answering every n-th partition: a round trip per worker, not
    per partition (hash-split partitions are of one size, so the shares are even)."""
    n = max(1, min(parts.partitions, _workers()))
    paths = [str(p) for p in parts.paths]
    futures = [pool.submit(answers_at_many, paths[i::n], *args) for i in range(n)]
    out: list[Any] = [None] * len(paths)
    for i, f in enumerate(futures):
        out[i::n] = f.result()
    return out


def _on_executor(pool: Executor, parts: PartitionedStore, args: Args) -> list[Any]:
    futures = [pool.submit(answers_at, str(p), *args) for p in parts.paths]
    return [f.result() for f in futures]


def _dask(client: Any, parts: PartitionedStore, args: Args) -> list[Any]:
    futures = [client.submit(answers_at, str(p), *args, pure=False) for p in parts.paths]
    return list(client.gather(futures))


def _is_dask_client(executor: Any) -> bool:
    return type(executor).__module__.split(".")[0] == "distributed" and hasattr(executor, "gather")


Runner = Callable[[Any, PartitionedStore, Args], list[Any]]


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
