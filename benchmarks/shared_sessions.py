"""Session filters and breakdowns on partitions whose sessions partly span persons.

A session (``$session_id``) that holds events of several persons lies in several partitions; a
query reading session facts (``$session_duration``, ``$entry_current_url``, ...) needs those
sessions' facts over all their events (docs/scale-out.md § Two phases). This builds a store where
every ``--every``-th session also holds another person's events, cuts it into partitions with
``tc.partition``, and times two session queries on the single store and on the partitions through
``None`` and ``"processes"`` (medians; every answer checked equal to the single store's).

    python -m benchmarks.shared_sessions [--sessions 60000] [--every 50] [--partitions 4]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import warnings
from pathlib import Path
from typing import Any

from .run import timed

NOW = "2024-03-31T00:00:00Z"
QUERIES = {
    "session filter": {"events": [{"id": "$pageview", "math": "dau"}], "date_from": "2024-03-01",
                       "date_to": "2024-03-28",
                       "properties": [{"key": "$session_duration", "value": 60, "operator": "gt", "type": "session"}]},
    "session breakdown": {"events": [{"id": "$pageview"}], "date_from": "2024-03-01", "date_to": "2024-03-28",
                          "breakdown": "$entry_current_url", "breakdown_type": "session"},
}


def records(sessions: int, persons: int, every: int) -> list[dict[str, Any]]:
    """Five events per session over 28 days; session ``s`` is person ``s % persons``'s, and every
    ``every``-th one also holds events of another person."""
    urls = [f"https://x.io/p{i}" for i in range(50)]
    out = []
    for s in range(sessions):
        sid = f"018e{(s >> 16) & 0xffff:04x}-{s & 0xffff:04x}-7000-8000-{s:012x}"
        p = s % persons
        who = [p, (p + 7919) % persons] if s % every == 0 else [p]
        for k in range(5):
            out.append({"event": "$pageview" if k % 3 else "$autocapture", "distinct_id": f"u{who[k % len(who)]}",
                        "timestamp": f"2024-03-{1 + s % 28:02d}T{s % 20:02d}:{k * 7:02d}:{s % 60:02d}Z",
                        "properties": {"$session_id": sid, "$current_url": urls[(s + k) % 50]}})
    return out


def run(sessions: int, persons: int, every: int, partitions: int, runs: int) -> dict[str, Any]:
    import trendcalc as tc

    store = tc.EventStore.from_records(records(sessions, persons, every))
    with tempfile.TemporaryDirectory() as tmp:
        parts = tc.partition(store, Path(tmp) / "parts", partitions=partitions, durable=False)
        out: dict[str, Any] = {"events": len(store), "shared_sessions": len(parts.shared_session_ids() or ())}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", tc.TrendcalcWarning)
            for name, query in QUERIES.items():
                _, single_ms, want = timed(lambda q=query: tc.trends(store, q, now=NOW).to_dicts(), runs)
                row = {"single_ms": round(single_ms, 2)}
                for ex in (None, "processes"):
                    _, ms, got = timed(lambda q=query, ex=ex: tc.trends(parts, q, now=NOW, executor=ex).to_dicts(), runs)
                    if got != want:
                        raise AssertionError(f"{name} through {ex!r} differs from the single store")
                    row[f"{ex or 'none'}_ms"] = round(ms, 2)
                out[name] = row
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=60_000)
    ap.add_argument("--persons", type=int, default=20_000)
    ap.add_argument("--every", type=int, default=50, help="every N-th session spans two persons")
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--runs", type=int, default=9)
    args = ap.parse_args(argv)
    out = run(args.sessions, args.persons, args.every, args.partitions, args.runs)
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
