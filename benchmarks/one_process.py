"""``executor="processes"`` against every way one process answers the same query, interleaved.

``partitioned_pairs.py`` compares the pool with ``executor=None`` on the same partitions (the
issue's "one process"). A user with one machine may instead keep one unpartitioned store, and
either may run on one thread or two (``Limits.threads``). Here the five run round-robin, the
order rotating every round, so all see the same moments of the VM:

- ``single1`` / ``single2``: the single store (``EventStore.load`` of a saved store) on 1 / 2 threads;
- ``none1`` / ``none2``: the partitions one after another in this process on 1 / 2 threads;
- ``proc``: ``executor="processes"`` (its own workers on one thread each).

Per query: each way's median ms and, paired, the median over rounds of (that way's time / the
pool's time beside it). Every answer is checked equal to the single store's. Peak RSS of this
process at the end (the stores are memory-mapped: mostly page cache).

    python -m benchmarks.one_process benchmarks/data/parts_10m_4 benchmarks/data/single_10m --rounds 200
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
import warnings
from typing import Any

from .queries import NOW, queries

WAYS = ("single1", "single2", "none1", "none2", "proc")


def compare(parts_path: str, single_path: str, names: list[str], rounds: int) -> list[dict[str, Any]]:
    """Per query: medians (ms) and paired ratios over the pool, after 10 warm-up rounds."""
    import attrs

    import trendcalc as tc
    from trendcalc.limits import DEFAULT_LIMITS

    parts = tc.PartitionedStore.open(parts_path)
    single = tc.EventStore.load(single_path)
    limits = {t: attrs.evolve(DEFAULT_LIMITS, threads=t) for t in (1, 2)}
    ways: dict[str, tuple[Any, Any, Any]] = {"single1": (single, None, limits[1]), "single2": (single, None, limits[2]),
                                             "none1": (parts, None, limits[1]), "none2": (parts, None, limits[2]),
                                             "proc": (parts, "processes", DEFAULT_LIMITS)}
    out = []
    for q in [q for q in queries() if q.name in names]:
        project = tc.Project.from_dict(q.project)

        def call(way: str, q: Any = q, project: Any = project) -> float:
            store, executor, lim = ways[way]
            t = time.perf_counter()
            tc.trends(store, q.filter, project=project, now=NOW, limits=lim, executor=executor)
            return time.perf_counter() - t

        want = tc.trends(single, q.filter, project=project, now=NOW).to_dicts()
        for way, (store, executor, lim) in ways.items():
            got = tc.trends(store, q.filter, project=project, now=NOW, limits=lim, executor=executor).to_dicts()
            if got != want:
                raise SystemExit(f"{q.name}: {way} answers differently from the single store")
        for _ in range(10):
            for way in WAYS:
                call(way)
        times: dict[str, list[float]] = {w: [] for w in WAYS}
        for i in range(rounds):
            for way in WAYS[i % len(WAYS):] + WAYS[:i % len(WAYS)]:
                times[way].append(call(way))
        rec: dict[str, Any] = {"query": q.name, "ms": {w: statistics.median(v) * 1e3 for w, v in times.items()}}
        rec["paired_over_proc"] = {w: statistics.median([a / b for a, b in zip(times[w], times["proc"])])
                                   for w in WAYS if w != "proc"}
        print(f"{q.name}: " + ", ".join(f"{w} {ms:.2f}" for w, ms in rec["ms"].items()) + " ms; paired over proc: "
              + ", ".join(f"{w} {r:.2f}" for w, r in rec["paired_over_proc"].items()), flush=True)
        out.append(rec)
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB", flush=True)
    return out


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("parts", help="a partitioned store (tc.partition's directory)")
    ap.add_argument("single", help="the same events as one saved store (EventStore.save's directory)")
    ap.add_argument("--queries", default="Q2,Q9", help="comma-separated benchmark queries")
    ap.add_argument("--rounds", type=int, default=200)
    args = ap.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compare(args.parts, args.single, [q for q in args.queries.split(",") if q], args.rounds)


if __name__ == "__main__":
    main()
