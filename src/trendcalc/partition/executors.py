"""Where the partitions run: a registry of executors by kind.

``None`` runs them in this process one after another; ``"processes"`` on a local process pool
(one worker per core, at most one per partition); any ``concurrent.futures.Executor`` you pass;
or a ``dask.distributed.Client`` (recognised by its type's module, so dask is never imported
here), whose workers load their partition from its path — a path they must be able to read.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from ..errors import ValidationError
from ..limits import Limits
from ..project import Project
from ..query.model import TrendsFilter
from .partials import partial_answers, partial_answers_at
from .store import PartitionedStore

Args = tuple[TrendsFilter, Project, dt.datetime, Limits]


def _in_process(_executor: Any, parts: PartitionedStore, args: Args) -> list[Any]:
    return [partial_answers(parts.load(i), *args) for i in range(parts.partitions)]


def _processes(_executor: Any, parts: PartitionedStore, args: Args) -> list[Any]:
    workers = max(1, min(parts.partitions, os.cpu_count() or 1))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return _on_executor(pool, parts, args)


def _on_executor(pool: Executor, parts: PartitionedStore, args: Args) -> list[Any]:
    futures = [pool.submit(partial_answers_at, str(p), *args) for p in parts.paths]
    return [f.result() for f in futures]


def _dask(client: Any, parts: PartitionedStore, args: Args) -> list[Any]:
    futures = [client.submit(partial_answers_at, str(p), *args, pure=False) for p in parts.paths]
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
