"""Work sharing between the processes of ``executor="processes"``: a board in shared memory on
which each process claims a partition before it computes it.

Why: a call gives every process (the caller and each worker) a share of the partitions, every
n-th one, so the same partitions go to the same process at every query (it keeps them open).
With shares of one size they finish together — unless one process starts late or runs slowly:
a worker the machine wakes late, a vCPU the hypervisor withholds, a partition larger than the
others. A fixed split then waits for the slow share while the other cores idle. On the board,
each process takes its own share first, in order, and then the partitions of the other shares
no one has claimed yet, from their ends backwards (the ones their owners would reach last):
a process that is ahead takes over the work of one that is behind, a whole partition at a time.

The board is an array of int64 in shared memory (``multiprocessing.RawArray``, given to each
worker when it starts): cell 0 holds the number of the current call, which the caller bumps
before it sends the call's messages (so a worker, which reads it after its message, sees it);
cell 1 whether the call shares work (``SHARE_WORK``); cell ``2 + i`` holds ``call << 8 | party``
of whoever claimed partition ``i`` in that call.
A claim is a read and a write, not an atomic exchange: two processes that reach the same
partition at the same moment may both claim it and both compute it. That costs a partition's
time, never correctness: a partition's answer does not depend on who computes it, and the
caller keeps the first it reads. No partition is left out: a process passes over a partition
only when someone has claimed it, and a claimer computes what it claims.

Each process answers ``(i, ok, value)`` per partition it computed — a task that raises is
recorded and the process carries on — and the caller raises the error of the lowest-numbered
partition that failed, as ``executor=None`` (partitions in order) would.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Sequence
from typing import Any

import numpy as np

from .tasks import Task
from .worker import load_partition

SLOTS = 1 << 14
"""Partitions a board holds claims for: a store with more runs each process's own share only."""

SHARE_WORK = True
"""Whether the pool's processes take over each other's partitions (False: each computes its
own share only, as before the board; for benchmarks to compare, ``benchmarks.partitioned_pairs
--claims-ab``). Read by the caller at each call and passed on the board."""

PARTY_BITS = 8
"""Bits of a claim that say who made it: at most 256 processes share a board."""

Answer = tuple[int, bool, Any]
"""A partition's outcome: its number, whether its task returned, and the answer or the error."""


def new_board() -> Any:
    """A board in shared memory (all claims of call 0, which is never a call's number), to be
    given to each worker process when it starts (``install``)."""
    return mp.get_context().RawArray("q", 2 + SLOTS)


def cells_of(board: Any) -> np.ndarray:
    """The board's cells as an int64 array over its shared memory (no copy)."""
    return np.frombuffer(board, dtype=np.int64)


def next_call(cells: np.ndarray) -> None:
    """Start a call: bump its number and say whether it shares work (the caller, before it
    sends the call's messages)."""
    cells[0] += 1
    cells[1] = int(SHARE_WORK)


_installed: np.ndarray | None = None


def install(board: Any) -> None:
    """Make ``board`` this worker process's board (``pipes._serve``, at start)."""
    global _installed
    _installed = cells_of(board)


def claim_order(party: int, parties: int, count: int) -> list[int]:
    """The order in which ``party`` (of ``parties``) tries the ``count`` partitions: its own
    share (every ``parties``-th from ``party``) first, then the others' from the last back."""
    own = list(range(party, count, parties))
    return own + [i for i in range(count - 1, -1, -1) if i % parties != party]


def run_claiming(cells: np.ndarray, party: int, parties: int, paths: Sequence[str], tasks: Sequence[Task],
                 stamp: int | None) -> list[Answer]:
    """Compute, in ``claim_order``, every partition no one has claimed in this call, claiming
    each first; the outcomes of those computed here. A call that does not share work, a store
    of more than ``SLOTS`` partitions or more than 256 processes: each its own share, no claims."""
    shared = bool(cells[1]) and len(paths) <= SLOTS and parties <= 1 << PARTY_BITS
    order = claim_order(party, parties, len(paths)) if shared else range(party, len(paths), parties)
    base = int(cells[0]) << PARTY_BITS
    out: list[Answer] = []
    for i in order:
        if shared:
            if cells[2 + i] >= base:
                continue
            cells[2 + i] = base | party
        try:
            out.append((i, True, tasks[i](load_partition(paths[i], stamp))))
        except Exception as exc:  # recorded; the caller raises the lowest partition's error
            out.append((i, False, exc))
    return out


def run_share(party: int, parties: int, paths: Sequence[str], tasks: Sequence[Task], stamp: int | None) -> list[Answer]:
    """``run_claiming`` on this worker's board (what a pool worker runs: its message)."""
    if _installed is None:
        raise RuntimeError("no claims board in this process (not a pool worker)")
    return run_claiming(_installed, party, parties, paths, tasks, stamp)


def gather(count: int, shares: Sequence[Sequence[Answer]]) -> list[Any]:
    """Every partition's answer in partition order from the processes' outcomes (a partition
    computed twice: the first read); the error of the lowest-numbered partition that failed is
    raised."""
    outcome: dict[int, tuple[bool, Any]] = {}
    for share in shares:
        for i, ok, value in share:
            outcome.setdefault(i, (ok, value))
    if len(outcome) != count:
        missing = sorted(set(range(count)) - set(outcome))
        raise AssertionError(f"no process computed partitions {missing[:5]}")  # claims leave none out
    for i in range(count):
        ok, value = outcome[i]
        if not ok:
            raise value
    return [outcome[i][1] for i in range(count)]


__all__ = ["SLOTS", "claim_order", "gather", "install", "new_board", "next_call", "run_claiming", "run_share"]
