"""The warm worker processes of ``executor="processes"``: one per core, each reached over its own
pipe.

Why not ``concurrent.futures.ProcessPoolExecutor``: a query on a warm pool is a few milliseconds,
and the executor hands every task through two threads of the caller (its manager thread and the
call queue's feeder thread) and a shared result queue, each a wake-up on a busy machine — on
2 cores that hand-off cost about as much as a worker's DAU share over 2.5 M events. Here the
caller writes each worker's share to its pipe and reads the answers back itself: one write and
one read per worker, no helper thread. Messages and answers are pickled by ``messages.py``:
as ``multiprocessing`` pickles them, but the query's frozen values (filter, project, limits)
once per object and unpickled once per worker, plain NumPy arrays as their bytes, and a
repeated message's objects reused by the worker — only between this process and the workers
it started, never from stored data.

A call sends every worker its message before reading any answer, so the workers run at once;
meanwhile the caller, which would otherwise only wait, computes one share itself (so a machine
of ``c`` cores runs ``c - 1`` workers: no process more than cores, one hand-off fewer).
The workers' shares are the size of the caller's (and a process ahead takes over partitions
from one behind, ``claims.py``), so their answers are due about when the caller's own share is
done: the caller then polls the pipes for a short while (at most
``ANSWER_POLL_MAX``, 1 ms, and half its own share's time) before it blocks in a read. A blocked
caller is woken by the answer; on this project's 2-vCPU VM that wake-up cost ~100 µs of a ~2 ms
query (a worker answering 1 ms after a caller that waits: 114-129 µs from the answer to the
call's return when blocked, 25-81 µs when polling), while the poll costs the caller's own core,
which would otherwise be idle, for at most that short while.
After an answer a worker polls its pipe for a while before it blocks, so that the next query
of a stream reaches a running worker instead of waking a sleeping one: on this project's
2-vCPU VM (a Firecracker guest) a vCPU left idle a few milliseconds is slow to come back — the
caller's write that wakes it took ~35 µs (p75 ~1.9 ms after 10 ms idle), the worker started
~80 µs after the call, and its first partition ran ~25 % slower. A pool DAU query over 10 M
events that followed a ``None`` call took 2.34 ms, 2.12 ms with a polling worker (medians of 20
interleaved blocks; with the machine idle 10 ms before every call, 1.17× and 1.83× faster than
one process: ``benchmarks/RESULTS.md``); what the caller ran meanwhile was not slower.
How long is adaptive, as KVM's halt polling is (``PollWindow``): a worker polls only as long as
the recent gaps between its queries suggest, nothing while queries come seldom, at most
``TRENDCALC_POOL_SPIN_MS`` (read when the pool starts; default ``POLL_CAP_MS``, 20 ms; 0: never
poll) or ``PipePool(spin=)`` seconds. Polling keeps a core busy; the worker yields it to any other
runnable thread between polls.
A task that raises sends its exception back (pickled; one that does not pickle becomes a
RuntimeError naming it) and the worker carries on. A worker that dies, or a call interrupted
between its writes and its reads, leaves the pool unusable: it is stopped and ``BrokenPool``
(or that error) raised (a share that does not pickle raises before anything is sent); ``executors.py`` starts a fresh one. Calls from several threads take turns.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import select
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

from .claims import cells_of, install, new_board, next_call
from .messages import dumps, message_of

POLL_CAP_MS = 20.0
"""The longest a worker polls its pipe after a task by default (milliseconds; ``PollWindow``)."""


def _spin_seconds() -> float:
    """``TRENDCALC_POOL_SPIN_MS`` (a non-negative number of milliseconds) in seconds, else
    ``POLL_CAP_MS``'s."""
    env = os.environ.get("TRENDCALC_POOL_SPIN_MS", "").strip()
    if env:
        try:
            ms = float(env)
        except ValueError:
            ms = -1.0
        if ms >= 0 and ms == ms and ms != float("inf"):
            return ms / 1e3
        warnings.warn(f"TRENDCALC_POOL_SPIN_MS must be a non-negative number of milliseconds, got {env!r}; "
                      f"using the default, {POLL_CAP_MS:g}", stacklevel=2)
    return POLL_CAP_MS / 1e3


class PollWindow:
    """How long a worker polls its pipe after a task before it blocks: adaptive, as KVM's halt
    polling (``halt_poll_ns``) adapts. It starts at 0. A query that arrives while the worker
    polls leaves the window as it is; one that arrives after the worker blocked, within
    ``cap`` seconds of the last answer, widens it to cover such a gap next time (1.5 times the
    gap, at least twice the window, at most ``cap``); a gap longer than ``cap`` closes it (back to
    0: queries come seldom, and polling would only burn a core). So a stream of queries (a
    dashboard's tiles, a service under load) finds its workers awake after one gap, and a
    notebook's occasional query costs no polling at all."""

    def __init__(self, cap: float) -> None:
        self.cap = cap
        self.seconds = 0.0

    def update(self, gap: float, caught: bool) -> None:
        """After a gap of ``gap`` seconds from an answer to the next query; ``caught``: the query
        arrived while the worker polled."""
        if caught:
            return
        if gap <= self.cap:
            self.seconds = min(self.cap, max(2 * self.seconds, 1.5 * gap))
        else:
            self.seconds = 0.0


ANSWER_POLL_MAX = 1e-3
"""The longest the caller polls for the workers' answers (seconds) once its own share is done,
before it blocks in a read; at most half the time its own share took (``PipePool.call``)."""


ORPHAN_CHECK_MS = 1000
"""How often a worker blocked between queries checks that the process that started it is alive:
killed (SIGKILL, or SIGTERM without Python's exit handlers), it cannot stop its workers, and a
forked worker holds the other end of its own pipe, so no end-of-file would ever wake it. A
worker outliving its pool would keep its partitions mapped and any socket it inherited (a
server's port) open."""


def _readable(conn: Connection) -> Any:
    """A ``select.poll`` on ``conn``: one system call per check (``Connection.poll`` builds a
    selector each time)."""
    ready = select.poll()
    ready.register(conn.fileno(), select.POLLIN)
    return ready


def _poll_until(ready: Any, deadline: float, polite: bool = False) -> bool:
    """Poll a pipe (``ready``: ``_readable`` of it) until it has data or hangs up, or ``deadline``
    (``time.perf_counter``) passes; whether it has (the reader then reads, blocking if need be).
    ``polite``: yield the core between polls to any other runnable thread (a worker between
    queries, which may poll for milliseconds)."""
    while not ready.poll(0):
        if time.perf_counter() >= deadline:
            return False
        if polite:
            os.sched_yield()
    return True


class BrokenPool(RuntimeError):
    """A worker died (or a call was interrupted mid-way): the pool cannot be used again."""


def _serve(conn: Connection, threads: int, spin: float = 0.0, board: Any = None) -> None:
    """A worker's loop: read ``(fn, args)``, answer ``(True, fn(*args))`` or ``(False, error)``;
    between tasks, poll for at most ``spin`` seconds before blocking, as ``PollWindow`` says (the
    module docstring says why).
    ``board``: the pool's claims board (``claims.py``), installed for the tasks that share work."""
    from ..engine.distinct import cap_threads

    if board is not None:
        install(board)
    cap_threads(threads)  # this worker's share of the cores (k workers x threads do not oversubscribe)
    ready = _readable(conn)
    window = PollWindow(spin)
    answered = time.perf_counter()
    parent = os.getppid()
    while True:
        try:
            caught = window.seconds > 0 and _poll_until(ready, answered + window.seconds, polite=True)
            while not caught and not ready.poll(ORPHAN_CHECK_MS):  # (a message wakes the poll at once)
                if os.getppid() != parent:
                    return  # the pool's process died without stopping us (killed): nothing will come
            received = conn.recv_bytes()
            window.update(time.perf_counter() - answered, caught)
            message = message_of(received)
        except (EOFError, OSError):
            return
        if message is None:
            return
        try:
            fn, args = message
            answer: tuple[bool, Any] = (True, fn(*args))
        except BaseException as exc:  # the caller raises it; this worker serves on
            answer = (False, exc)
        try:
            data = dumps(answer)  # (pickled whole before anything is written)
        except Exception as exc:  # an answer or error that does not pickle
            data = dumps((False, RuntimeError(f"a partition task's answer does not pickle: {exc!r}")))
        conn.send_bytes(data)
        answered = time.perf_counter()


def _run_here(share: tuple[Callable[..., Any], tuple[Any, ...]], threads: int) -> tuple[bool, Any]:
    """A share run on the calling thread, its outcome as a worker would send it."""
    from ..engine.distinct import capped_here

    fn, args = share
    try:
        with capped_here(threads):
            return True, fn(*args)
    except Exception as exc:  # raised after the workers' answers are read (the pipes stay in step)
        return False, exc


class PipePool:
    """``workers`` processes, each with ``threads`` query threads, reached over one pipe each;
    each polls at most ``spin`` seconds after a task before it sleeps, as ``PollWindow`` adapts it
    (None: ``TRENDCALC_POOL_SPIN_MS``, else ``POLL_CAP_MS``; 0: it sleeps at once)."""

    def __init__(self, workers: int, threads: int = 1, spin: float | None = None) -> None:
        spin = _spin_seconds() if spin is None else float(spin)
        if not spin >= 0:
            raise ValueError(f"spin must be a non-negative number of seconds, got {spin!r}")
        ctx = mp.get_context()
        self._conns: list[Connection] = []
        self._ready: list[Any] = []  # (_readable of each pipe)
        self._procs: list[Any] = []
        self._lock = threading.Lock()
        self.broken = False
        self.board = new_board()
        self.cells = cells_of(self.board)
        """The claims board's cells (``claims.py``): the caller's own share claims on them."""
        for _ in range(workers):
            mine, theirs = ctx.Pipe(duplex=True)
            proc = ctx.Process(target=_serve, args=(theirs, threads, spin, self.board), daemon=True, name="trendcalc-partition")
            proc.start()
            theirs.close()
            self._conns.append(mine)
            self._ready.append(_readable(mine))
            self._procs.append(proc)

    @property
    def workers(self) -> int:
        """How many worker processes the pool has."""
        return len(self._conns)

    def call(self, shares: Sequence[tuple[Callable[..., Any], tuple[Any, ...]] | bytes],
             here: tuple[Callable[..., Any], tuple[Any, ...]] | None = None, here_threads: int = 1) -> list[Any]:
        """``fn(*args)`` of ``shares[i]`` on worker ``i`` (at most one share per worker; a share
        may come pickled already, ``messages.dumps``), all at once, and meanwhile ``here`` (if
        given) on the calling thread with at most ``here_threads`` query threads; the answers in
        order (``here``'s last). A task's exception is raised here (the first in order)."""
        if len(shares) > len(self._conns):
            raise ValueError(f"{len(shares)} shares for {len(self._conns)} workers")
        with self._lock:
            if self.broken:
                raise BrokenPool("the partition worker pool was stopped")
            answers: list[tuple[bool, Any]] = []
            data = [share if isinstance(share, bytes) else dumps(share) for share in shares]  # (raises before sending)
            next_call(self.cells)  # (before any message: a worker reads the call's number after its own)
            try:
                for conn, message in zip(self._conns, data):
                    conn.send_bytes(message)
                started = time.perf_counter()
                mine = _run_here(here, here_threads) if here is not None else None
                now = time.perf_counter()
                deadline = now + min(ANSWER_POLL_MAX, (now - started) / 2)
                for conn, ready in zip(self._conns[:len(shares)], self._ready):
                    _poll_until(ready, deadline)
                    answers.append(conn.recv())
            except (EOFError, OSError) as exc:
                self._stop()
                raise BrokenPool(f"a partition worker died: {exc!r}") from exc
            except BaseException:  # interrupted with answers unread: the pipes are out of step
                self._stop()
                raise
        if mine is not None:
            answers.append(mine)
        for ok, value in answers:
            if not ok:
                raise value
        return [value for _, value in answers]

    def _stop(self) -> None:
        self.broken = True
        for conn in self._conns:
            try:
                conn.send(None)
            except (OSError, ValueError):
                pass
            conn.close()
        for proc in self._procs:
            proc.join(timeout=1.0)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=1.0)

    def shutdown(self) -> None:
        """Stop the workers (idempotent)."""
        with self._lock:
            if not self.broken:
                self._stop()


__all__ = ["POLL_CAP_MS", "BrokenPool", "PipePool", "PollWindow"]
