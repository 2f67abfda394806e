"""``executor=None`` against ``executor="processes"`` on saved partitions, interleaved.

``partitioned.py`` times each executor's runs in a block; on a small shared VM the ratio of two
blocks swings with the moment. Here the two executors alternate (the order flips every pair),
so both see the same moments; medians and the fastest decile per executor.

- ``--burst 1`` (the default): call by call. Each pool call follows a ``None`` call of a few
  milliseconds, in which the pool's worker sat idle: what one query now and then costs.
- ``--burst N``: bursts of N calls of one executor, then N of the other; the first call of each
  burst is not counted (it follows the other executor). What a dashboard's refresh or a
  service answering a stream of queries costs: the worker's core is awake between calls.
- The ratio is given three ways: medians of all calls, the fastest deciles, and *paired*: per
  round, the median of one executor's burst (or call) over the other's next to it, then the
  median and quartiles of those round ratios. Pairing cancels the VM's slow drifts (its speed
  moved by up to 2× within minutes here), which the first two only average.
- ``--gap MS``: the machine idles MS milliseconds before every call of either executor (the
  caller sleeps): what a query costs when it arrives at an idle service. Call by call without a
  gap favours ``None``: its call follows a pool call, in which its core was busy, while each
  pool call follows a ``None`` call, in which the worker's core idled; a core that idled a few
  milliseconds computes its first ~1.5 ms markedly slower here (2 vCPUs of a shared host: a
  weekly-actors partition took ~1.7 ms after 5 ms idle against ~1.35 ms straight after another).
  With a gap, every call of either executor starts from idle cores.
- ``--moving-clock``: every call a new ``now`` (the fixed clock plus one microsecond a call),
  as ``now=None`` gives a live dashboard: no memo keyed by the clock serves it.
- ``--poll-ab``: instead, the pool against itself with and without the caller's poll for the
  workers' answers (``trendcalc/partition/pipes.py``), each pool call after a ``None`` call.
- ``--claims-ab``: instead, the pool against itself with and without work sharing (a process
  done with its share takes the partitions the others have not started,
  ``trendcalc/partition/claims.py``), each pool call after a ``None`` call.

    python -m benchmarks.partitioned_pairs benchmarks/data/parts_10m_4 --queries Q2,Q9 --pairs 300
    python -m benchmarks.partitioned_pairs benchmarks/data/parts_10m_4 --queries Q2 --pairs 600 --burst 20
    TRENDCALC_THREADS=1 python -m benchmarks.partitioned_pairs ...   # one thread per process
    python -m benchmarks.partitioned_pairs benchmarks/data/parts_10m_4 --queries Q2 --pairs 400 --poll-ab
    python -m benchmarks.partitioned_pairs benchmarks/data/parts_10m_8 --queries Q2,Q9 --pairs 400 --claims-ab
    python -m benchmarks.partitioned_pairs benchmarks/data/parts_10m_4 --queries '' \
        --filter 'DAU90={"events": [{"id": "$pageview", "math": "dau"}], "date_from": "-90d"}'
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import statistics
import time
import warnings
from typing import Any

from .queries import NOW, queries


class _Adhoc:
    """A query given on the command line (``--filter NAME=JSON``), with an empty project."""

    def __init__(self, spec: str):
        name, sep, text = spec.partition("=")
        if not sep or not name:
            raise SystemExit(f"--filter expects NAME=JSON, got {spec!r}")
        self.name, self.filter, self.project = name, json.loads(text), {}


def pairs(path: str, names: list[str], n: int, adhoc: list[str] | None = None, burst: int = 1,
          moving: bool = False, gap: float = 0.0) -> list[dict[str, Any]]:
    """Per query: the median and fastest-decile ms of each executor over ``n`` timed calls each,
    alternating call by call (``burst`` 1) or in bursts of ``burst`` calls (the first of each
    not timed); ``moving``: a new clock every call; ``gap``: seconds of idle before every call."""
    import trendcalc as tc
    from trendcalc.engine.trends import resolve_now

    parts = tc.PartitionedStore.open(path)
    out = []
    chosen: list[Any] = [q for q in queries() if q.name in names] + [_Adhoc(a) for a in adhoc or ()]
    ticks = itertools.count()
    base = resolve_now(NOW)
    for q in chosen:
        project = tc.Project.from_dict(q.project)

        def call(ex: Any, q: Any = q, project: Any = project) -> float:
            now = base + dt.timedelta(microseconds=next(ticks)) if moving else NOW
            if gap:
                time.sleep(gap)
            t = time.perf_counter()
            tc.trends(parts, q.filter, project=project, now=now, executor=ex)
            return time.perf_counter() - t

        for ex in (None, "processes"):  # warm: the pool, the partitions open in its workers
            for _ in range(5):
                call(ex)
        times: dict[Any, list[float]] = {None: [], "processes": []}
        paired: list[float] = []  # per round: None's median over the pool's, the two bursts side by side
        timed_per_burst = max(burst - 1, 1)
        for i in range(max(1, -(-n // timed_per_burst))):
            medians = {}
            for ex in ((None, "processes") if i % 2 else ("processes", None)):
                runs = [call(ex) for _ in range(burst)]
                timed = runs[1:] if burst > 1 else runs
                times[ex] += timed
                medians[ex] = statistics.median(timed)
            paired.append(medians[None] / medians["processes"])
        rec: dict[str, Any] = {"query": q.name, "burst": burst, "moving_clock": moving, "gap_ms": gap * 1e3}
        for ex, name in ((None, "none"), ("processes", "processes")):
            rec[f"{name}_ms"] = statistics.median(times[ex]) * 1e3
            rec[f"{name}_fast_ms"] = sorted(times[ex])[len(times[ex]) // 10] * 1e3
        rec["ratio"] = rec["none_ms"] / rec["processes_ms"]
        rec["ratio_fast"] = rec["none_fast_ms"] / rec["processes_fast_ms"]
        rec["ratio_paired"] = statistics.median(paired)
        rec["ratio_paired_q1"], rec["ratio_paired_q3"] = _quartiles(paired)
        mode = ((f"bursts of {burst}" if burst > 1 else "call by call") + (", moving clock" if moving else "")
                + (f", {gap * 1e3:g} ms idle before each" if gap else ""))
        print(f"{q.name} ({mode}): None {rec['none_ms']:.2f} ms, processes {rec['processes_ms']:.2f} ms, ratio "
              f"{rec['ratio']:.2f} (fastest decile {rec['none_fast_ms']:.2f} / {rec['processes_fast_ms']:.2f} "
              f"= {rec['ratio_fast']:.2f}; paired {rec['ratio_paired']:.2f}, quartiles {rec['ratio_paired_q1']:.2f}"
              f"–{rec['ratio_paired_q3']:.2f} over {len(paired)} rounds)", flush=True)
        out.append(rec)
    return out


def poll_ab(path: str, names: list[str], n: int) -> list[dict[str, Any]]:
    """The pool with the caller's poll for answers (``pipes.ANSWER_POLL_MAX``) against without
    it (0: it blocks in a read at once): per round a ``None`` call, then the pool each way with a
    ``None`` call between (the order flips every round); medians and the paired gain."""
    import importlib

    return _ab(path, names, n, importlib.import_module("trendcalc.partition.pipes"), "ANSWER_POLL_MAX", 0.0,
               ("with the caller's poll", "without"))


def claims_ab(path: str, names: list[str], n: int) -> list[dict[str, Any]]:
    """The pool sharing work (``claims.SHARE_WORK``) against each process computing its own
    share only, as ``poll_ab`` interleaves them."""
    import importlib

    return _ab(path, names, n, importlib.import_module("trendcalc.partition.claims"), "SHARE_WORK", False,
               ("sharing work", "fixed shares"))


def _ab(path: str, names: list[str], n: int, module: Any, attr: str, other: Any, words: tuple[str, str]
        ) -> list[dict[str, Any]]:
    """The pool with ``module.attr`` as it is (A) and as ``other`` (B), interleaved: per round a
    ``None`` call, then the pool each way with a ``None`` call between (the order flips every
    round); medians and the paired gain (B's time over A's)."""
    import trendcalc as tc

    parts = tc.PartitionedStore.open(path)
    default = getattr(module, attr)
    out = []
    for q in [q for q in queries() if q.name in names]:
        project = tc.Project.from_dict(q.project)

        def call(ex: Any, q: Any = q, project: Any = project) -> float:
            t = time.perf_counter()
            tc.trends(parts, q.filter, project=project, now=NOW, executor=ex)
            return time.perf_counter() - t

        for _ in range(10):
            call("processes")
            call(None)
        times: dict[str, list[float]] = {"a": [], "b": []}
        try:
            for i in range(n):
                call(None)
                for side in (("b", "a") if i % 2 else ("a", "b")):
                    setattr(module, attr, default if side == "a" else other)
                    times[side].append(call("processes"))
                    call(None)
        finally:
            setattr(module, attr, default)
        gains = [b / a for a, b in zip(times["a"], times["b"])]
        q1, q3 = _quartiles(gains)
        rec = {"query": q.name, "a": words[0], "a_ms": statistics.median(times["a"]) * 1e3, "b": words[1],
               "b_ms": statistics.median(times["b"]) * 1e3, "paired_gain": statistics.median(gains),
               "paired_q1": q1, "paired_q3": q3}
        print(f"{q.name}: processes {rec['a_ms']:.3f} ms {words[0]}, {rec['b_ms']:.3f} ms {words[1]}; paired "
              f"{rec['paired_gain']:.3f}× (quartiles {rec['paired_q1']:.3f}–{rec['paired_q3']:.3f}) over {n} rounds",
              flush=True)
        out.append(rec)
    return out


def _quartiles(xs: list[float]) -> tuple[float, float]:
    """The lower and upper quartiles of ``xs`` (one value: itself twice)."""
    q = statistics.quantiles(xs, n=4) if len(xs) > 1 else [xs[0]] * 3
    return q[0], q[2]


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path", help="a partitioned store (tc.partition's directory)")
    ap.add_argument("--queries", default="Q2,Q9", help="comma-separated benchmark queries")
    ap.add_argument("--pairs", type=int, default=300)
    ap.add_argument("--filter", action="append", default=[], metavar="NAME=JSON",
                    help="also time this Trends filter (repeatable), e.g. DAU over 90 days")
    ap.add_argument("--burst", type=int, default=1, help="calls of one executor in a row (default 1: alternate "
                                                            "call by call; N > 1: the first of each burst not timed)")
    ap.add_argument("--moving-clock", action="store_true", help="a new now every call, as now=None gives")
    ap.add_argument("--gap", type=float, default=0.0, metavar="MS",
                    help="milliseconds the machine idles before every call of either executor")
    ap.add_argument("--poll-ab", action="store_true", help="instead: the pool with and without the caller's "
                                                             "poll for the workers' answers")
    ap.add_argument("--claims-ab", action="store_true", help="instead: the pool with and without work sharing")
    args = ap.parse_args(argv)
    if args.burst < 1:
        ap.error("--burst must be at least 1")
    if not 0 <= args.gap < 60_000:
        ap.error("--gap must be between 0 and 60000 ms")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if args.poll_ab:
            return poll_ab(args.path, [q for q in args.queries.split(",") if q], args.pairs)
        if args.claims_ab:
            return claims_ab(args.path, [q for q in args.queries.split(",") if q], args.pairs)
        return pairs(args.path, [q for q in args.queries.split(",") if q], args.pairs, args.filter, args.burst,
                     args.moving_clock, args.gap / 1e3)


if __name__ == "__main__":
    main()
