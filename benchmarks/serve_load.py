"""Load on ``trendcalc serve``: requests/s and p50/p99 latency, against ``tc.trends`` in process.

    python -m benchmarks.serve_load                    # demo store (400 persons), 8 clients x 100
    python -m benchmarks.serve_load --persons 2000 --clients 8 --requests 200 --workers 2

Starts the server as a real process on 127.0.0.1 (an ephemeral port), sends the demo's queries
plus the seed-shaped request from N client threads, each on its own keep-alive connection, and
checks every answer against ``tc.trends`` on the same saved store. Two server modes: ``cached``
(the same requests again: answers come from the cache) and ``computed`` (``refresh=true``: every
request runs the query). The baseline is ``tc.trends`` called in this process, one call after
another, on the same queries.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import trendcalc as tc
from trendcalc.demo import DEMO_NOW, DEMO_QUERIES, demo_records

SETTINGS = {"timezone": "Europe/Berlin"}
SEED_LIKE = {
    "events": [{"id": "$pageview", "math": "dau"}, {"id": "sign up"}],
    "properties": [{"key": "$os", "value": ["Mac OS X", "Windows"], "operator": "exact", "type": "event"}],
    "date_from": "-14d", "breakdown": "$browser", "breakdown_type": "event", "formula": "A + B", "compare": True,
}  # fmt: skip
QUERIES = [q for _, q in DEMO_QUERIES] + [SEED_LIKE]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _summary(name: str, latencies: list[float], wall: float) -> dict[str, Any]:
    return {"mode": name, "requests": len(latencies), "per_s": len(latencies) / wall,
            "p50_ms": 1e3 * statistics.median(latencies), "p99_ms": 1e3 * _pct(latencies, 99)}


def load(port: int, clients: int, per_client: int, refresh: bool, expected: list[Any]) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    headers = {"Content-Type": "application/json", "X-Trendcalc-Now": DEMO_NOW}
    path = "/api/projects/1/insights/trend/" + ("?refresh=true" if refresh else "")

    def client(c: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        for k in range(per_client):
            i = (c + k) % len(QUERIES)
            body = json.dumps(QUERIES[i])
            t0 = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            mine.append(time.perf_counter() - t0)
            if resp.status != 200 or json.loads(data)["result"] != expected[i]:
                errors.append(f"query {i}: status {resp.status}")
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise SystemExit(f"{len(errors)} wrong answers, e.g. {errors[:3]}")
    return _summary("server, computed (refresh=true)" if refresh else "server, cached", latencies, wall)


def in_process(store: tc.EventStore, rounds: int) -> dict[str, Any]:
    latencies = []
    t0 = time.perf_counter()
    for k in range(rounds):
        q = QUERIES[k % len(QUERIES)]
        s = time.perf_counter()
        tc.trends(store, q, project=SETTINGS, now=DEMO_NOW).to_dicts()
        latencies.append(time.perf_counter() - s)
    return _summary("tc.trends in process (1 thread)", latencies, time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=400)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=100, help="per client")
    ap.add_argument("--workers", type=int, default=2, help="the server's query threads")
    ap.add_argument("--json", metavar="FILE", help="also write the numbers here")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        events, persons = demo_records(7, n_persons=args.persons)
        path = tc.EventStore.from_records(events, persons=persons).save(Path(tmp) / "store")
        store = tc.EventStore.load(path)
        expected = [json.loads(json.dumps(tc.trends(store, q, project=SETTINGS, now=DEMO_NOW).to_dicts())) for q in QUERIES]
        port = _port()
        proc = subprocess.Popen([sys.executable, "-m", "trendcalc", "serve", str(path), "--port", str(port),
                                 "--project", json.dumps(SETTINGS), "--workers", str(args.workers)],
                                stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise SystemExit("the server did not start") from None
                    time.sleep(0.1)
            rows = [in_process(store, args.clients * args.requests)]
            rows.append(load(port, args.clients, args.requests, True, expected))
            rows.append(load(port, args.clients, args.requests, False, expected))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"{len(store):,} events, {len(QUERIES)} queries, {args.clients} clients x {args.requests} requests, "
          f"{args.workers} server threads, {os.cpu_count()} cores")
    print(f"{'mode':36} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8}")
    for r in rows:
        print(f"{r['mode']:36} {r['per_s']:11.1f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"events": len(store), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
