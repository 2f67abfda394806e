"""The ten trend queries at a size that tests one machine's memory: trendcalc against DuckDB over
the same Parquet data set in parts, each engine in a process of its own (peak memory = that
process's VmHWM), answers compared on every run.

    pip install -e '.[bench]'
    python -m benchmarks.big --events 50000000 --files 10      # ~25 min on 2 cores; ~12 GiB free memory

The data is generated in ``--files`` parts, chunk by chunk (``generate.py --files``), and read by
both engines as one data set: ``EventStore.from_parquet(directory)`` (column by column over the
parts, one column in flight) and DuckDB's ``read_parquet('dir/*.parquet')`` into an in-memory
table, as ``run.py`` loads it. Each engine's process builds, then times every query (median of
at least ``--runs`` calls after a first, more for fast queries), then reports its build time,
its peak RSS after the build and at the end, and its answers; the parent compares answers and
prints the table. Per query it also reports the rows trendcalc's plan touches (the rows of the
series' events inside the query's range: a Q10 of 7 days touches a window of the 90 days).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import generate, run
from .queries import NOW, agree, dense, queries, trendcalc_dense

DUCK_LOAD = "SET TimeZone = 'UTC';\n" + run.DUCK_LOAD  # the same tables as run.py, times read in UTC


def vm_kib(field: str = "VmHWM") -> int:
    """This process's peak (VmHWM) or current (VmRSS) resident set size, KiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _glob(path: Path) -> str:
    return str(path / "*.parquet") if path.is_dir() else str(path)


# --- one engine per process -------------------------------------------------------------------


def run_engine(engine: str, events: Path, persons: Path, runs: int, wanted: set[str]) -> dict[str, Any]:
    """Build ``engine``'s copy of the data, time the queries; memory and answers as JSON-able."""
    from .run import timed

    if engine == "trendcalc":
        import trendcalc as tc
    else:
        import duckdb
    base = vm_kib()
    t = time.perf_counter()
    if engine == "trendcalc":
        store = tc.EventStore.from_parquet(events, persons=persons)
    else:
        con = duckdb.connect(":memory:")
        con.execute(DUCK_LOAD.format(events=_glob(events), persons=_glob(persons)))
    out: dict[str, Any] = {"engine": engine, "build_s": time.perf_counter() - t, "base_kib": base,
                           "built_kib": vm_kib(), "built_rss_kib": vm_kib("VmRSS"), "queries": {}}
    for q in queries():
        if wanted and q.name not in wanted:
            continue
        if engine == "trendcalc":
            project = tc.Project.from_dict(q.project)
            first, ms, res = timed(lambda q=q, p=project: tc.trends(store, q.filter, project=p, now=NOW), runs)
            answer = trendcalc_dense(res, q)
            rec = {"first_ms": first, "ms": ms, "answer": answer, "touched_rows": touched_rows(store, q, project)}
        else:
            first, ms, rows = timed(lambda q=q: q.duckdb(con), runs)
            rec = {"first_ms": first, "ms": ms, "answer": dense(rows, q.n_buckets, q.breakdown_limit)}
        out["queries"][q.name] = rec
        print(f"  {engine} {q.name}: {ms:.2f} ms (first {first:.1f})", file=sys.stderr, flush=True)
    out["end_kib"] = vm_kib()
    if engine == "trendcalc":
        out["rows"] = len(store)
    return out


def touched_rows(store: Any, q: Any, project: Any) -> int:
    """Rows of the query's series' events inside each planned query's range (the index's
    slices; weekly-active look-backs not counted)."""
    import trendcalc as tc
    from trendcalc.engine.context import QueryContext
    from trendcalc.engine.select import event_selection
    from trendcalc.engine.trends import plan_queries, resolve_now
    from trendcalc.query.displays import DISPLAYS

    filt = tc.parse_filter(q.filter)
    ctx = QueryContext(store, filt, project, resolve_now(NOW), tc.Limits(), DISPLAYS[filt.display])
    return sum(len(event_selection(store, [p.series.id], p.axis.lo_us, p.axis.hi_us)) for p in plan_queries(ctx))


def child(engine: str, events: Path, persons: Path, runs: int, wanted: set[str], out: Path) -> dict[str, Any]:
    """``run_engine`` in a fresh interpreter (so VmHWM is that engine's alone)."""
    cmd = [sys.executable, "-m", "benchmarks.big", "--child", engine, "--events-path", str(events),
           "--persons-path", str(persons), "--runs", str(runs), "--out", str(out)]
    if wanted:
        cmd += ["--queries", ",".join(sorted(wanted))]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parent.parent), *sys.path]))
    subprocess.run(cmd, check=True, env=env)
    return json.loads(out.read_text())


# --- the run ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--events", type=int, default=50_000_000)
    ap.add_argument("--files", type=int, default=10, help="Parquet parts (generated chunk by chunk)")
    ap.add_argument("--shape", default="default", help="data shape (generate.py)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per query (after one first run)")
    ap.add_argument("--queries", default="", help="comma-separated subset, e.g. Q1,Q10")
    ap.add_argument("--child", choices=("trendcalc", "duckdb"), help=argparse.SUPPRESS)
    ap.add_argument("--events-path", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--persons-path", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    wanted = {q.strip() for q in args.queries.split(",") if q.strip()}
    if args.child:
        res = run_engine(args.child, args.events_path, args.persons_path, args.runs, wanted)
        args.out.write_text(json.dumps(res))
        return res

    from .run import machine

    t = time.perf_counter()
    ev_path, p_path = _ensure(args.events, args.shape, args.files)
    gen_s = time.perf_counter() - t
    info: dict[str, Any] = {"events": args.events, "files": args.files, "shape": args.shape,
                            "machine": machine(), "generate_s": gen_s, "data": str(ev_path)}
    print(f"# {args.events:,} events in {args.files} parts ({args.shape}) — {info['machine']['cpu']}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        engines = {e: child(e, ev_path, p_path, args.runs, wanted, Path(tmp) / f"{e}.json")
                   for e in ("trendcalc", "duckdb")}
    info["engines"] = {e: {k: v for k, v in r.items() if k != "queries"} for e, r in engines.items()}
    info["queries"] = {}
    for q in queries():
        if q.name not in engines["trendcalc"]["queries"]:
            continue
        t_rec, d_rec = engines["trendcalc"]["queries"][q.name], engines["duckdb"]["queries"][q.name]
        info["queries"][q.name] = {
            "title": q.title, "trendcalc_ms": t_rec["ms"], "duckdb_ms": d_rec["ms"],
            "trendcalc_first_ms": t_rec["first_ms"], "duckdb_first_ms": d_rec["first_ms"],
            "touched_rows": t_rec["touched_rows"], "ratio": t_rec["ms"] / d_rec["ms"],
            "agree": agree(t_rec["answer"], d_rec["answer"], rel=1e-6) or "yes",
        }
    print()
    print(report(info))
    out = generate.DATA / f"results_big_{generate.label(args.events)}_{args.shape}_f{args.files}.json"
    out.write_text(json.dumps(info, indent=2, default=str))
    bad = [k for k, r in info["queries"].items() if r["agree"] != "yes"]
    if bad:
        print(f"DISAGREEMENT in {', '.join(bad)}", file=sys.stderr)
        sys.exit(1)
    return info


def _ensure(n: int, shape: str, files: int) -> tuple[Path, Path]:
    """The data set's (events directory or file, persons file), generated when missing."""
    try:
        return generate.ensure(n, shape=shape, files=files)  # type: ignore[call-arg]
    except TypeError:  # a generator without shapes or parts: one file
        if shape != "default" or files != 1:
            raise SystemExit("this generate.py writes one file of the default shape: use --files 1") from None
        return generate.ensure(n)


def report(info: dict[str, Any]) -> str:
    m, e = info["machine"], info["engines"]
    tc_, dk = e["trendcalc"], e["duckdb"]
    mib = 1 / 1024
    lines = [f"### {info['events']:,} events in {info['files']} Parquet parts ({info['shape']} shape)", "",
             f"{m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; Python {m['python']}, NumPy {m['numpy']}, "
             f"PyArrow {m['pyarrow']}, DuckDB {m['duckdb']}; {m['os']}", "",
             "| query | what | rows touched | trendcalc ms | DuckDB ms | trendcalc / DuckDB | speed-up | answers equal |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for k, r in info["queries"].items():
        lines.append(f"| {k} | {r['title']} | {r['touched_rows']:,} | {r['trendcalc_ms']:.2f} | {r['duckdb_ms']:.2f} | "
                     f"{r['ratio']:.3f} | {1 / r['ratio']:.1f}× | {r['agree']} |")
    lines += ["", "| engine (own process) | build s | peak RSS after build MiB | peak RSS at the end MiB | "
                  "RSS of the interpreter before MiB |", "|---|---:|---:|---:|---:|"]
    for name, r in (("trendcalc `EventStore.from_parquet(dir)`", tc_), ("DuckDB `CREATE TABLE … read_parquet`", dk)):
        lines.append(f"| {name} | {r['build_s']:.1f} | {r['built_kib'] * mib:,.0f} | {r['end_kib'] * mib:,.0f} | "
                     f"{r['base_kib'] * mib:,.0f} |")
    lines += ["", f"Data generated in {info['generate_s']:.0f} s (0 when it existed)."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
