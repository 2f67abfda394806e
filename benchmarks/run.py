"""Run the ten trend queries in trendcalc, DuckDB and Polars on the same Parquet data, check that
all three agree, and print median times, ratios, build times and memory.

    pip install -e '.[bench]'
    python -m benchmarks.run --events 1000000           # generates benchmarks/data/ on first use
    python -m benchmarks.run --events 10000000 --runs 7

Every engine runs in this one process, interleaved per query, so machine noise hits all alike.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import generate
from .queries import NOW, agree, dense, queries, trendcalc_dense

DUCK_LOAD = """
CREATE TABLE events AS SELECT event, distinct_id, "timestamp"::TIMESTAMP AS ts, person_id,
  "properties.$current_url" AS url, "properties.$browser" AS browser, "properties.$os" AS os,
  "properties.$geoip_country_code" AS country, "properties.$session_id" AS session_id,
  "properties.revenue" AS revenue
FROM read_parquet('{events}');
CREATE TABLE persons AS SELECT id, "properties.plan" AS plan, "properties.email" AS email
FROM read_parquet('{persons}');
"""
RENAME = {"timestamp": "ts", "properties.$current_url": "url", "properties.$browser": "browser",
          "properties.$os": "os", "properties.$geoip_country_code": "country",
          "properties.$session_id": "session_id", "properties.revenue": "revenue"}


# --- builders (also run alone in a subprocess to measure peak RSS) ----------------------------


def build_trendcalc(ev: Path, persons: Path) -> Any:
    import trendcalc as tc

    if ev.is_dir():  # K files: one Arrow table of them all (from_parquet reads one file)
        import pyarrow.parquet as pq

        strings = ["event", "distinct_id", "person_id", "properties.$current_url", "properties.$browser",
                   "properties.$os", "properties.$geoip_country_code", "properties.$session_id"]
        table = pq.read_table(ev, read_dictionary=strings, memory_map=True)
        return tc.EventStore.from_arrow(table, persons=pq.read_table(persons))
    return tc.EventStore.from_parquet(ev, persons=persons)


def build_polars(ev: Path, persons: Path) -> Any:
    import polars as pl

    events = pl.read_parquet(generate.parquet_glob(ev)).rename(RENAME).with_columns(pl.col("ts").dt.replace_time_zone(None))
    people = pl.read_parquet(persons).rename({"properties.plan": "plan", "properties.email": "email"})
    return events, people


def read_polars(ev: Path) -> Any:
    import polars as pl

    return pl.read_parquet(generate.parquet_glob(ev))


def build_duckdb(ev: Path, persons: Path) -> Any:
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute(DUCK_LOAD.format(events=generate.parquet_glob(ev), persons=persons))
    return con


BUILDERS = {"trendcalc": build_trendcalc, "polars": build_polars, "polars_read": lambda e, p: read_polars(e),
            "duckdb": build_duckdb}


def measure_build_alone(engine: str, ev: Path, persons: Path) -> dict[str, float]:
    """Build once in a fresh interpreter: seconds and peak RSS growth (MiB) over the imports."""
    # VmHWM (this process's peak RSS) rather than ru_maxrss, which a child inherits from the
    # parent it was forked from
    code = (
        "import time, sys, gc\n"
        "from benchmarks import run\n"
        "import trendcalc, polars, duckdb, pyarrow.parquet\n"
        "gc.collect(); base = run.peak_rss_kib()\n"
        "t = time.perf_counter()\n"
        f"x = run.BUILDERS[{engine!r}](run.Path({str(ev)!r}), run.Path({str(persons)!r}))\n"
        "dt = time.perf_counter() - t\n"
        "print('RESULT', dt, (run.peak_rss_kib() - base) / 1024)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))
    _, secs, mib = line.split()
    return {"seconds": float(secs), "peak_rss_mib": float(mib)}


def peak_rss_kib() -> int:
    """Peak resident set size of this process (KiB), from /proc/self/status."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


# --- sizes ------------------------------------------------------------------------------------


def _obj_bytes(arr: np.ndarray) -> int:
    if arr.dtype != object:
        return arr.nbytes
    return arr.nbytes + sum(sys.getsizeof(x) for x in arr.tolist())


def store_bytes(store: Any) -> int:
    """Bytes held by the store's arrays and dictionaries (Python objects included)."""
    total = sum(_obj_bytes(a) for a in (store.ts, store.event, store.distinct_id, store.person,
                                        store.offsets, store.distinct_ids))
    tables = [store.properties, store.persons.properties] + [g.properties for g in store.groups.values()]
    for cols in tables:
        for col in cols.values():
            total += col.codes.nbytes + sum(sys.getsizeof(v) for v in col.dictionary.values) + 8 * len(col.dictionary)
    p = store.persons
    total += _obj_bytes(p.ids) + p.created_at.nbytes + p.person_of_distinct_id.nbytes + p.synthetic.nbytes
    return total


def duckdb_bytes(con: Any) -> int:
    return int(con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()[0])


# --- timing -----------------------------------------------------------------------------------


def timed(fn, runs: int, min_seconds: float = 0.5, max_runs: int = 500) -> tuple[float, float, Any]:
    """(first ms, median ms of the further calls, last result); gc off while timing.

    At least ``runs`` further calls, and more for fast queries until ``min_seconds`` have
    passed (at most ``max_runs``): a millisecond query on a shared machine needs many samples
    for a stable median, a slow one does not."""
    gc.collect()
    gc.disable()
    try:
        t = time.perf_counter()
        out = fn()
        first = (time.perf_counter() - t) * 1e3
        times: list[float] = []
        spent = 0.0
        while len(times) < runs or (spent < min_seconds and len(times) < max_runs):
            t = time.perf_counter()
            out = fn()
            dt = time.perf_counter() - t
            times.append(dt * 1e3)
            spent += dt
    finally:
        gc.enable()
    return first, statistics.median(times), out


def machine() -> dict[str, Any]:
    cpu = "?"
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import duckdb
    import polars
    import pyarrow

    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "python": platform.python_version(), "numpy": np.__version__, "pyarrow": pyarrow.__version__,
            "duckdb": duckdb.__version__, "polars": polars.__version__, "os": platform.platform()}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=7, help="timed runs per query and engine (after one warm-up)")
    ap.add_argument("--build-runs", type=int, default=3)
    ap.add_argument("--queries", default="", help="comma-separated subset, e.g. Q1,Q3")
    ap.add_argument("--shape", default="default", choices=sorted(generate.SHAPES), help="data shape (generate.py)")
    ap.add_argument("--files", type=int, default=1, help="events in K Parquet files (generated chunk by chunk)")
    ap.add_argument("--no-rss", action="store_true", help="skip the per-engine subprocess peak-RSS builds")
    args = ap.parse_args(argv)

    import trendcalc as tc

    ev_path, p_path = generate.ensure(args.events, shape=args.shape, files=args.files)
    stem = generate.stem(args.events, args.shape, args.files)
    info: dict[str, Any] = {"events": args.events, "shape": args.shape, "files": args.files,
                            "machine": machine(), "queries": {}}
    print(f"# {args.events:,} events, {args.shape} shape — {info['machine']['cpu']}, {info['machine']['cores']} cores")

    # store build vs Polars read_parquet (same file), medians
    build = {}
    for name, fn in (("trendcalc from_parquet", lambda: build_trendcalc(ev_path, p_path)),
                     ("polars read_parquet", lambda: read_polars(ev_path)),
                     ("duckdb load", lambda: build_duckdb(ev_path, p_path))):
        times = []
        for _ in range(args.build_runs):
            gc.collect()
            t = time.perf_counter()
            obj = fn()
            times.append(time.perf_counter() - t)
            del obj
        build[name] = statistics.median(times)
    store = build_trendcalc(ev_path, p_path)
    # the same store saved once (trendcalc's own format) and opened memory-mapped: what a process
    # that queries the data again pays instead of a Parquet build
    saved = store.save(generate.DATA / f"store_{stem}", overwrite=True, durable=False)
    times = []
    for _ in range(args.build_runs):
        gc.collect()
        t = time.perf_counter()
        tc.EventStore.load(saved)
        times.append(time.perf_counter() - t)
    build["trendcalc load (saved, memory-mapped)"] = statistics.median(times)
    events, persons = build_polars(ev_path, p_path)
    con = build_duckdb(ev_path, p_path)
    sizes = {"trendcalc store": store_bytes(store), "duckdb tables": duckdb_bytes(con),
             "polars frames": int(events.estimated_size() + persons.estimated_size())}
    info["build_s"], info["memory_bytes"] = build, sizes
    print(repr(store))

    wanted = {q.strip() for q in args.queries.split(",") if q.strip()}
    rows = []
    for q in queries():
        if wanted and q.name not in wanted:
            continue
        project = tc.Project.from_dict(q.project)
        rec: dict[str, Any] = {"title": q.title}
        d_first, d_ms, d_rows = timed(lambda q=q: q.duckdb(con), args.runs)
        p_first, p_ms, p_df = timed(lambda q=q: q.polars(events, persons), args.runs)
        d_out = dense(d_rows, q.n_buckets, q.breakdown_limit)
        p_out = dense(p_df.select("k", "b", "v").rows(), q.n_buckets, q.breakdown_limit)
        rec.update(duckdb_ms=d_ms, polars_ms=p_ms, duckdb_first_ms=d_first, polars_first_ms=p_first)
        peers_agree = agree(d_out, p_out, rel=1e-6)
        rec["peers_agree"] = peers_agree or "yes"
        try:
            t_first, t_ms, res = timed(lambda q=q, p=project: tc.trends(store, q.filter, project=p, now=NOW), args.runs)
        except tc.UnsupportedError as exc:
            rec["trendcalc"] = f"not yet supported ({exc.message})"
        except ImportError as exc:  # a feature module that has not landed on this branch yet
            rec["trendcalc"] = f"not yet supported ({exc.name} missing)"
        else:
            t_out = trendcalc_dense(res, q)
            diff = agree(t_out, d_out, rel=1e-6)
            rec.update(trendcalc_ms=t_ms, trendcalc_first_ms=t_first, agree=diff or "yes")
            best = min(d_ms, p_ms)
            rec["ratio"] = t_ms / best
        info["queries"][q.name] = rec
        rows.append((q.name, rec))
        print(_row(q.name, rec), flush=True)

    if not args.no_rss:
        info["build_alone"] = {e: measure_build_alone(e, ev_path, p_path) for e in ("trendcalc", "polars_read", "duckdb")}
    print()
    print(report(info))
    out = generate.DATA / f"results_{stem}.json"
    out.write_text(json.dumps(info, indent=2, default=str))
    bad = [k for k, r in info["queries"].items() if r.get("agree", "yes") != "yes" or r["peers_agree"] != "yes"]
    if bad:
        print(f"DISAGREEMENT in {', '.join(bad)}", file=sys.stderr)
        sys.exit(1)
    return info


def _row(name: str, r: dict[str, Any]) -> str:
    if "trendcalc_ms" not in r:
        t = r.get("trendcalc", "—")
        return (f"| {name} | {r['title']} | {t} | {r['duckdb_ms']:.2f} | {r['polars_ms']:.2f} | — | — | "
                f"{r['peers_agree']} |")
    ratio = r["ratio"]
    speedup = 1 / ratio if ratio else float("inf")
    return (f"| {name} | {r['title']} | {r['trendcalc_ms']:.2f} | {r['duckdb_ms']:.2f} | {r['polars_ms']:.2f} | "
            f"{ratio:.3f} | {speedup:.1f}× | {r['agree']} / {r['peers_agree']} |")


def report(info: dict[str, Any]) -> str:
    m = info["machine"]
    lines = [f"## {info['events']:,} events, {info.get('shape', 'default')} shape",
             "",
             f"{m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; Python {m['python']}, NumPy {m['numpy']}, "
             f"PyArrow {m['pyarrow']}, DuckDB {m['duckdb']}, Polars {m['polars']}; {m['os']}",
             "",
             "| query | what | trendcalc ms | DuckDB ms | Polars ms | trendcalc / faster peer | speed-up | agree (tc=duck / duck=polars) |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    lines += [_row(k, r) for k, r in info["queries"].items()]
    b, m = info["build_s"], info["memory_bytes"]
    lines += ["", "| build from Parquet | median s |", "|---|---:|"]
    lines += [f"| {k} | {v:.3f} |" for k, v in b.items()]
    lines += ["", "| memory of the loaded data | MiB |", "|---|---:|"]
    lines += [f"| {k} | {v / 2**20:.1f} |" for k, v in m.items()]
    if "build_alone" in info:
        lines += ["", "| one build in a fresh process | s | peak RSS growth MiB |", "|---|---:|---:|"]
        lines += [f"| {k} | {v['seconds']:.3f} | {v['peak_rss_mib']:.0f} |" for k, v in info["build_alone"].items()]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
