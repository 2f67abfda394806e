"""A task run on every partition, and the map that runs it: the unit of work of every phase of
a partitioned query (phase 1: the earliest event, histogram bounds; phase 2: the partials).

A ``Task`` is a module-level function of one partition's EventStore plus fixed arguments, so a
process pool or a Dask worker can receive it pickled and run it on the partition it loads by
path (``run_at``). A ``Map`` runs one task on every partition and returns the answers in
partition order; ``executors.partition_map`` gives the Map of an executor, ``on_stores`` the Map
of partitions already in memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np

from ..recent import Recent
from ..store import EventStore
from .messages import reduces_by_fields
from .worker import load_partition


@reduces_by_fields
@attrs.frozen
class Task:
    """``fn(store, *args)`` for each partition's ``store`` (``fn`` module-level: picklable)."""

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    each: tuple[Any, ...] | None = None
    """One more argument per partition (partition order), appended by ``for_partition``."""

    def __call__(self, store: EventStore) -> Any:
        return self.fn(store, *self.args)

    def for_partition(self, i: int) -> Task:
        """The task partition ``i`` runs (with its own argument from ``each``)."""
        return self if self.each is None else Task(self.fn, self.args + (self.each[i],))


def run_at(path: str, task: Task, stamp: int | None = None) -> Any:
    """``task`` over the saved partition at ``path`` (what pool and Dask workers run), opened
    once per worker and kept (``worker.load_partition``; ``stamp``: the manifest's, as the
    caller found it)."""
    return task(load_partition(path, stamp))


def run_on_one_thread(path: str, task: Task, stamp: int | None = None) -> Any:
    """``run_at`` with the query on one thread: what a Dask worker or your executor runs. Their
    task slots (worker threads or processes) are the parallelism, one per core as usual, so a
    task that also took ``Limits.threads`` threads for its distinct counts would oversubscribe
    the cores ``Limits.threads`` times."""
    from ..engine.distinct import capped_here

    with capped_here(1):
        return run_at(path, task, stamp)


def run_many_on_one_thread(paths: Sequence[str], tasks: Sequence[Task], stamp: int | None = None) -> list[Any]:
    """``run_on_one_thread`` of several partitions in order: one Dask slot's share of a phase."""
    return [run_on_one_thread(p, task, stamp) for p, task in zip(paths, tasks)]


Map = Callable[[Task], list[Any]]
"""Runs a task on every partition; the answers in partition order."""


def on_stores(stores: Sequence[EventStore]) -> Map:
    """The Map over partitions already in memory (each an EventStore holding whole persons)."""
    return lambda task: [task.for_partition(i)(s) for i, s in enumerate(stores)]


RowsHandle = "str | np.ndarray | None"
"""Where a partition's persons' rows in the whole store are: the path of its ``.person_rows.npy``
(read memory-mapped by the worker), the array itself (partitions in memory), or None (written
without them)."""


_ROWS: Recent[tuple[tuple[int, int, int], np.ndarray]] = Recent(256)


def load_rows(handle: Any) -> np.ndarray | None:
    """The rows a RowsHandle points at (None: the partition has none). A file is opened once
    per process and kept while its modification time, size and inode are unchanged: opening it
    (``np.load`` memory-mapped) cost ~130 µs per partition per query, one ``stat`` ~5 µs."""
    if handle is None or isinstance(handle, np.ndarray):
        return handle
    path = os.fspath(handle)
    st = os.stat(path)
    stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    hit = _ROWS.find(path)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    rows = np.load(path, mmap_mode="r")
    _ROWS.put(path, (stamp, rows))
    return rows
