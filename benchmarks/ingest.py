"""Ingest benchmark: building a store from JSON lines and CSV vs DuckDB reading the same file into
a table, and ``from_records`` µs/event — in one run, on the events of ``benchmarks/generate.py``.

    python -m benchmarks.ingest --events 1000000
    python -m benchmarks.ingest --events 10000000 --skip-records

Each measurement runs in a fresh subprocess (so peak memory is that build's own: ``VmHWM``
of the child, imports included) and the engines alternate; the best of ``--runs`` is reported
(a shared machine only ever makes a run slower), with the CPU seconds (user + system, all
threads) of that run: on a loaded machine the wall-clock ratio depends on how each engine's
threads are scheduled, the CPU ratio much less. The load average is printed before and after.
``--baseline SRC`` also times the trendcalc found in ``SRC`` (e.g. an exported older ``src``)
in the same alternation, for a before/after within one run. Files: ``benchmarks/data/ingest_<n>.jsonl`` / ``.csv`` (PostHog's
export shape: ``properties`` a JSON object in JSON lines; one column per property in CSV).
Targets (issue #15): store build ≤ 2× DuckDB; ``from_records`` ≤ 3 µs/event at 1 M.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from .generate import DATA, generate, label

CHILD = r"""
import json, resource, sys, time
kind, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)  # (every thread of this process)
    return r.ru_utime + r.ru_stime
if kind.startswith("duckdb"):
    import duckdb
    con = duckdb.connect()
else:
    import pyarrow, pyarrow.csv, pyarrow.json  # noqa: F401  (imports are not the build)
    import trendcalc as tc
t0, c0 = time.perf_counter(), cpu()
if kind == "duckdb_json":
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_json('{path}', format='newline_delimited')")
    rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
elif kind == "duckdb_csv":
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{path}', header=true)")
    rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
elif kind == "jsonl":
    rows = len(tc.EventStore.from_jsonl(path))
elif kind == "csv":
    rows = len(tc.EventStore.from_csv(path))
elif kind == "records":
    with open(path) as fh:
        recs = [json.loads(line) for line in fh]
    t0, c0 = time.perf_counter(), cpu()  # the records are the input: only the build is timed
    rows = len(tc.EventStore.from_records(recs))
else:
    raise SystemExit(f"unknown kind {kind}")
secs, cpu_secs = time.perf_counter() - t0, cpu() - c0
assert rows == n, (rows, n)
# peak RSS of this process: VmHWM (ru_maxrss would carry the parent's peak over fork + exec)
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM")]
rss = int(hwm[0].split()[1]) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
src = "" if kind.startswith("duckdb") else tc.__file__
print(json.dumps({"secs": secs, "cpu": cpu_secs, "rss_mib": rss, "src": src}))
"""


def write_files(n: int) -> tuple[Path, Path]:
    """The generated events as JSON lines (nested properties) and CSV (flat columns)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    jsonl, csv = DATA / f"ingest_{label(n)}.jsonl", DATA / f"ingest_{label(n)}.csv"
    if jsonl.exists() and csv.exists():
        return jsonl, csv
    DATA.mkdir(parents=True, exist_ok=True)
    events, _ = generate(n)
    ts = pc.strftime(events.column("timestamp"), format="%Y-%m-%dT%H:%M:%SZ")  # (%S carries the µs fraction)
    props = [c for c in events.column_names if c.startswith("properties.")]
    flat = pa.table({"event": events.column("event"), "distinct_id": events.column("distinct_id"), "timestamp": ts,
                     "person_id": events.column("person_id"),
                     **{c[len("properties."):]: events.column(c) for c in props}})
    pcsv.write_csv(flat, csv.with_suffix(".tmp"))
    csv.with_suffix(".tmp").replace(csv)
    cols = {c: flat.column(c).to_pylist() for c in flat.column_names}
    keys = [c[len("properties."):] for c in props]
    with open(jsonl.with_suffix(".tmp"), "w") as fh:
        for i in range(n):
            rec = {"event": cols["event"][i], "distinct_id": cols["distinct_id"][i], "timestamp": cols["timestamp"][i],
                   "person_id": cols["person_id"][i],
                   "properties": {k: cols[k][i] for k in keys if cols[k][i] is not None}}
            fh.write(json.dumps(rec) + "\n")
    jsonl.with_suffix(".tmp").replace(jsonl)
    return jsonl, csv


def measure(kind: str, path: Path, n: int) -> dict:
    """One build in a fresh process: ``kind`` is an engine (``jsonl``, ``csv``, ``records``,
    ``duckdb_json``, ``duckdb_csv``), ``before:<kind>`` the same with the ``--baseline`` source."""
    import os

    env = dict(os.environ)
    if kind.startswith("before:"):
        kind = kind[len("before:"):]
        env["PYTHONPATH"] = BASELINE[0]
    out = subprocess.run([sys.executable, "-c", CHILD, kind, str(path), str(n)], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent, env=env)
    if out.returncode:
        raise SystemExit(f"{kind} failed:\n{out.stderr[-3000:]}")
    got = json.loads(out.stdout.strip().splitlines()[-1])
    if "PYTHONPATH" in env and env["PYTHONPATH"] == (BASELINE[0] if BASELINE else None):
        assert got["src"].startswith(BASELINE[0]), ("the baseline run imported", got["src"])
    return got


BASELINE: list[str] = []  # the --baseline source directory, when given


def load() -> str:
    """The 1, 5 and 15 minute load averages."""
    import os

    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-records", action="store_true", help="do not time from_records (it holds every record in memory)")
    ap.add_argument("--baseline", help="a trendcalc src directory to time as 'before' in the same run")
    args = ap.parse_args()
    if args.baseline:
        BASELINE.append(str(Path(args.baseline).resolve()))
    n = args.events
    t0 = time.perf_counter()
    jsonl, csv = write_files(n)
    print(f"{n:,} events: {jsonl.name} {jsonl.stat().st_size / 2**20:,.0f} MiB, {csv.name} "
          f"{csv.stat().st_size / 2**20:,.0f} MiB (ready in {time.perf_counter() - t0:.0f} s)")
    print(f"load average before: {load()}")
    pairs = [("jsonl", "duckdb_json", jsonl), ("csv", "duckdb_csv", csv)]
    best: dict[str, dict] = {}
    for _ in range(args.runs):
        for ours, theirs, path in pairs:
            for kind in (ours, theirs) + ((f"before:{ours}",) if BASELINE else ()):
                r = measure(kind, path, n)
                if kind not in best or r["secs"] < best[kind]["secs"]:
                    best[kind] = r
    if not args.skip_records:
        for _ in range(args.runs):
            for kind in ("records",) + (("before:records",) if BASELINE else ()):
                r = measure(kind, jsonl, n)
                if kind not in best or r["secs"] < best[kind]["secs"]:
                    best[kind] = r
    print(f"load average after: {load()}")
    print(f"\n| input ({n:,} events) | trendcalc store | DuckDB table | ratio | CPU s trendcalc / DuckDB (ratio) "
          "| trendcalc peak RSS | DuckDB peak RSS |")
    print("|---|---|---|---|---|---|---|")
    for ours, theirs, _ in pairs:
        a, b = best[ours], best[theirs]
        print(f"| {'JSON lines' if ours == 'jsonl' else 'CSV'} | {a['secs']:.2f} s ({a['secs'] / n * 1e6:.2f} µs/event) "
              f"| {b['secs']:.2f} s | {a['secs'] / b['secs']:.2f}× | {a['cpu']:.2f} / {b['cpu']:.2f} ({a['cpu'] / b['cpu']:.2f}×) "
              f"| {a['rss_mib']:,.0f} MiB | {b['rss_mib']:,.0f} MiB |")
    for kind in ("records", "before:records"):
        if kind in best:
            r = best[kind]
            print(f"\n{kind.replace('records', 'from_records')}: {r['secs']:.2f} s = {r['secs'] / n * 1e6:.2f} µs/event, "
                  f"CPU {r['cpu']:.2f} s = {r['cpu'] / n * 1e6:.2f} µs/event (peak RSS {r['rss_mib']:,.0f} MiB, the records included)")
    if BASELINE:
        print(f"\nbefore ({BASELINE[0]}) vs now, same run:")
        for kind in ("jsonl", "csv", "records"):
            if f"before:{kind}" in best:
                a, b = best[kind], best[f"before:{kind}"]
                print(f"- {kind}: {b['secs']:.2f} s → {a['secs']:.2f} s wall, {b['cpu']:.2f} → {a['cpu']:.2f} CPU s, "
                      f"peak RSS {b['rss_mib']:,.0f} → {a['rss_mib']:,.0f} MiB")
    result = {"events": n, **best}
    (DATA / f"ingest_results_{label(n)}.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
