"""Partitioned stores: the ten benchmark queries on person partitions, checked against the single
store, timed in process, on a local process pool and on a Dask LocalCluster; and a large set
generated to several Parquet files, partitioned by streaming, against DuckDB over the files.

    # (a) 10 M events in 4 partitions: identical answers; executor None vs "processes"
    flock /work/wt/_notes/bigmem.lock python -m benchmarks.partitioned single --events 10000000
    # (b) 50 M events in 10 files (benchmarks.generate --files), streamed into 8 partitions,
    #     queried on a 2-worker LocalCluster, against DuckDB over the same files
    flock /work/wt/_notes/bigmem.lock python -m benchmarks.partitioned files --events 50000000 --files 10

Not a test: times are medians of repeated runs in one process, all engines interleaved per query
(the machine is shared and noisy; compare ratios within one run). Peak memory is VmHWM (Linux).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from . import generate
from .queries import NOW, agree, dense, trendcalc_dense
from .queries import queries as all_queries
from .run import DUCK_LOAD, peak_rss_kib, timed

DATA = generate.DATA


def _answer(tc: Any, store: Any, q: Any, project: Any, executor: Any = None) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if executor is None:
            return tc.trends(store, q.filter, project=project, now=NOW)
        return tc.trends(store, q.filter, project=project, now=NOW, executor=executor)


def queries(only: list[str] | None = None) -> list[Any]:
    """The benchmark queries, or those named in ``only`` (``--queries Q2,Q9``)."""
    return [q for q in all_queries() if not only or q.name in only]


def _query_rows(tc: Any, single: Any, parts: Any, executors: dict[str, Any], runs: int,
                duck: Any = None, only: list[str] | None = None) -> list[dict[str, Any]]:
    """Per query: identical to the single store (or why not), and the median ms per executor."""
    rows = []
    for q in queries(only):
        project = tc.Project.from_dict(q.project)
        rec: dict[str, Any] = {"query": q.name, "title": q.title}
        want = None
        if single is not None:
            _, rec["single_ms"], res = timed(lambda q=q, p=project: _answer(tc, single, q, p), runs)
            want = res.to_dicts()
        if duck is not None:
            _, rec["duckdb_ms"], drows = timed(lambda q=q: q.duckdb(duck), runs)
        try:
            for name, ex in executors.items():
                _, rec[f"{name}_ms"], res = timed(lambda q=q, p=project, ex=ex: _answer(tc, parts, q, p, ex), runs)
                if want is not None:
                    rec["identical"] = res.to_dicts() == want
                if duck is not None:
                    rec["agrees_with_duckdb"] = agree(trendcalc_dense(res, q), dense(drows, q.n_buckets, q.breakdown_limit)) is None
        except tc.UnsupportedError as exc:
            rec["unsupported"] = exc.message
        rows.append(rec)
        print(json.dumps(rec), flush=True)
    return rows


def _timed_share(paths: list[str], *args: Any) -> tuple[Any, float]:
    """A pool worker's share, with the time it took inside the worker (ms)."""
    from trendcalc.partition.worker import answers_at_many

    t = time.perf_counter()
    out = answers_at_many(paths, *args)
    return out, (time.perf_counter() - t) * 1e3


def worker_side(tc: Any, parts: Any, runs: int, only: list[str] | None = None) -> dict[str, float]:
    """Per query, the median over runs of the slowest share's own time on the warm pool (the
    workers' shares and the caller's): the critical path of "processes" without the hand-offs
    (which a busy machine stretches)."""
    import datetime as dt
    import statistics

    from trendcalc.limits import DEFAULT_LIMITS
    from trendcalc.partition import executors

    pool = executors._warm_pool()
    now = dt.datetime.fromisoformat(NOW.replace("Z", "+00:00"))
    paths = [str(p) for p in parts.paths]
    n = min(len(paths), pool.workers + 1)
    out = {}
    for q in queries(only):
        project = tc.Project.from_dict(q.project)
        try:
            filt = tc.parse_filter(q.filter)
            samples = []
            for _ in range(runs + 1):
                shares = [(_timed_share, (paths[i::n], filt, project, now, DEFAULT_LIMITS)) for i in range(n)]
                samples.append(max(a[1] for a in pool.call(shares[:-1], here=shares[-1])))
            out[q.name] = statistics.median(samples[1:])
        except tc.UnsupportedError:
            continue
    return out


def single(args: argparse.Namespace) -> dict[str, Any]:
    """(a) the generated set in one Parquet file: single store vs k partitions (streamed from the file)."""
    import trendcalc as tc

    ev, persons = generate.ensure(args.events)
    out = Path(args.out) / f"parts_{generate.label(args.events)}_{args.partitions}"
    t = time.perf_counter()
    if args.reuse and (out / "manifest.json").exists():
        parts = tc.PartitionedStore.open(out)
    else:
        parts = tc.partition(ev, out, partitions=args.partitions, persons=persons, overwrite=True, durable=False)
    part_s = time.perf_counter() - t
    t = time.perf_counter()
    store = tc.EventStore.from_parquet(ev, persons=persons)
    build_s = time.perf_counter() - t
    print(f"partitioned {len(parts):,} events into {parts.partitions} in {part_s:.1f}s; single build {build_s:.1f}s", flush=True)
    rows = _query_rows(tc, store, parts, {"none": None, "processes": "processes"}, args.runs, only=args.queries)
    inside = worker_side(tc, parts, args.runs, args.queries)
    for r in rows:
        if r["query"] in inside:
            r["processes_slowest_worker_ms"] = inside[r["query"]]
    print(json.dumps(inside), flush=True)
    return {"events": args.events, "partitions": args.partitions, "partition_s": part_s, "single_build_s": build_s,
            "cores": os.cpu_count(), "queries": rows}


STREAM = """
import json, sys, time
import trendcalc as tc
from benchmarks.run import peak_rss_kib
files, persons, out, k = json.loads(sys.argv[1])
t = time.perf_counter()
parts = tc.partition(files, out, partitions=k, persons=persons, overwrite=True, durable=False)
print(json.dumps({"seconds": time.perf_counter() - t, "peak_rss_kib": peak_rss_kib(), "events": len(parts)}))
"""


def files(args: argparse.Namespace) -> dict[str, Any]:
    """(b) a large set in several files: streamed into partitions (peak memory measured in a
    subprocess), queried on a Dask LocalCluster of 2 workers, against DuckDB over the files."""
    import duckdb
    from dask.distributed import Client, LocalCluster

    import trendcalc as tc

    t = time.perf_counter()
    ev_dir, ppath = generate.ensure(args.events, files=args.files)  # (a directory of files, made chunk by chunk)
    gen_s = time.perf_counter() - t
    pattern = generate.parquet_glob(ev_dir)
    paths = sorted(Path(ev_dir).glob("*.parquet"))
    out = Path(args.out) / f"parts_files_{generate.label(args.events)}_{args.partitions}"
    if args.reuse and (out / "manifest.json").exists():
        stream = json.loads((out / "stream.json").read_text())
    else:
        res = subprocess.run([sys.executable, "-c", STREAM, json.dumps([pattern, str(ppath), str(out), args.partitions])],
                             capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1])
        stream = json.loads(res.stdout.strip().splitlines()[-1])
        (out / "stream.json").write_text(json.dumps(stream))
    print(f"streamed {stream['events']:,} events into {args.partitions} partitions in {stream['seconds']:.0f}s, "
          f"peak RSS {stream['peak_rss_kib'] / 2**20:.2f} GiB", flush=True)
    parts = tc.PartitionedStore.open(out)
    con = duckdb.connect()
    con.execute(f"SET threads TO {os.cpu_count()}")
    load = DUCK_LOAD.replace("CREATE TABLE", "CREATE VIEW")  # (DuckDB reads the same files at each query)
    con.execute(load.format(events=pattern, persons=ppath))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, memory_limit=0) as cluster, Client(cluster) as client:
        rows = _query_rows(tc, None, parts, {"dask": client}, args.runs, duck=con, only=args.queries)
        workers = client.run(peak_rss_kib)
    duck_peak = peak_rss_kib()
    return {"events": stream["events"], "files": len(paths), "partitions": args.partitions, "generate_s": gen_s,
            "stream": stream, "dask_worker_peak_rss_kib": workers, "duckdb_process_peak_rss_kib": duck_peak,
            "cores": os.cpu_count(), "queries": rows}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["single", "files"])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--partitions", type=int, default=None, help="default: 4 (single), 8 (files)")
    ap.add_argument("--files", type=int, default=10)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--out", default=str(DATA))
    ap.add_argument("--reuse", action="store_true", help="reuse partitions written by an earlier run")
    ap.add_argument("--json", default=None, help="write the results here")
    ap.add_argument("--queries", default=None, type=lambda v: v.split(","), help="only these queries (e.g. Q2,Q9)")
    args = ap.parse_args(argv)
    if args.partitions is None:
        args.partitions = 4 if args.mode == "single" else 8
    info = single(args) if args.mode == "single" else files(args)
    if args.json:
        Path(args.json).write_text(json.dumps(info, indent=1))
    return info


if __name__ == "__main__":
    main()
