"""Where the partitions run: a registry of executors by kind.

``None`` runs them in this process one after another; ``"processes"`` on a local process pool
(one worker per core, at most one per partition; one pool for all phases of a query); any
``concurrent.futures.Executor`` you pass; or a ``dask.distributed.Client`` (recognised by its
type's module, so dask is never imported here), whose workers load their partition from its
path — a path they must be able to read.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from ..errors import ValidationError
from .store import PartitionedStore
from .tasks import Map, Task, run_at


@contextmanager
def _in_process(_executor: Any, parts: PartitionedStore) -> Iterator[Map]:
    yield lambda task: [task.for_partition(i)(parts.load(i)) for i in range(parts.partitions)]


@contextmanager
def _processes(_executor: Any, parts: PartitionedStore) -> Iterator[Map]:
    workers = max(1, min(parts.partitions, os.cpu_count() or 1))
    with ProcessPoolExecutor(max_workers=workers) as pool, _on_executor(pool, parts) as run:
        yield run


@contextmanager
def _on_executor(pool: Executor, parts: PartitionedStore) -> Iterator[Map]:
    def run(task: Task) -> list[Any]:
        futures = [pool.submit(run_at, str(p), task.for_partition(i)) for i, p in enumerate(parts.paths)]
        return [f.result() for f in futures]

    yield run


@contextmanager
def _dask(client: Any, parts: PartitionedStore) -> Iterator[Map]:
    def run(task: Task) -> list[Any]:
        futures = [client.submit(run_at, str(p), task.for_partition(i), pure=False) for i, p in enumerate(parts.paths)]
        return list(client.gather(futures))

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
