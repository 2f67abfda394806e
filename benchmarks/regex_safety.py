"""Regex safety benchmark: patterns that are catastrophic for a backtracking engine take about as
long as plain ones in trendcalc, because regex operators run on RE2 (linear time).

    PYTHONPATH=src python benchmarks/regex_safety.py            # 1M rows (about a minute)
    PYTHONPATH=src python benchmarks/regex_safety.py --rows 100000

Part 1 runs Trends queries with a ``regex`` property filter through ``trendcalc.trends`` over a
store of N events whose ``$current_url`` values are all distinct (the worst case: trendcalc
evaluates a predicate once per distinct value, so distinct values mean one regex search per
row). Each value is 28 ``a`` followed by ``!`` and a number: ``(a+)+$`` must fail on every one,
which makes a backtracking engine try ~2^28 ways per start position.

Part 2 shows what is avoided, with Python's ``re`` (a backtracking engine) on inputs small enough
to terminate, and extrapolates to the values of part 1.

This is a benchmark, not a test: it prints timings and asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import statistics
import sys
import time

import re2

import trendcalc as tc

RUN = 28  # length of the run of "a" in every value
NOW = dt.datetime(2024, 3, 1, tzinfo=dt.timezone.utc)
PLAIN = ["needle", "^a", "!1$", "a{28}!"]
CATASTROPHIC = ["(a+)+$", "(a|aa)+$", "(a*)*b", "^(a|a?)+$", "(.*a){12}$"]


def build_store(rows: int) -> tc.EventStore:
    start = NOW - dt.timedelta(days=6)

    def events():
        for i in range(rows):
            yield {
                "event": "$pageview",
                "distinct_id": f"u{i % 1000}",
                "timestamp": start + dt.timedelta(seconds=i * 500_000 // rows),
                "properties": {"$current_url": f"{'a' * RUN}!{i}"},
            }

    return tc.EventStore.from_records(events())


def query(pattern: str) -> dict:
    return {
        "events": [{"id": "$pageview"}],
        "date_from": "-7d",
        "display": "ActionsTable",
        "properties": [{"key": "$current_url", "operator": "regex", "value": pattern}],
    }


def time_query(store: tc.EventStore, pattern: str, repeat: int) -> tuple[float, int]:
    times, count = [], 0
    for _ in range(repeat):
        t = time.perf_counter()
        res = tc.trends(store, query(pattern), now=NOW).to_dicts()
        times.append(time.perf_counter() - t)
        count = res[0]["aggregated_value"]
    return min(times), count


def part1(rows: int, repeat: int) -> float:
    print(f"Part 1: trendcalc regex filters over {rows:,} events, {rows:,} distinct $current_url values")
    t = time.perf_counter()
    store = build_store(rows)
    print(f"  store built in {time.perf_counter() - t:.1f}s: {store!r}")
    t = time.perf_counter()
    tc.trends(store, {**query("x"), "properties": [{"key": "$current_url", "operator": "is_set"}]}, now=NOW)
    print(f"  warm-up (text view of the dictionary) {time.perf_counter() - t:.2f}s\n")
    print(f"  {'pattern':<14} {'kind':<13} {'best of ' + str(repeat):>10} {'rows/s':>12} {'matched':>10}")
    results = {}
    for kind, patterns in (("plain", PLAIN), ("catastrophic", CATASTROPHIC)):
        for p in patterns:
            secs, matched = time_query(store, p, repeat)
            results[p] = secs
            print(f"  {p:<14} {kind:<13} {secs:>9.3f}s {rows / secs:>12,.0f} {matched:>10,}")
    plain = statistics.median(results[p] for p in PLAIN)
    worst = max(results[p] for p in CATASTROPHIC)
    print(f"\n  slowest catastrophic pattern / median plain pattern: {worst / plain:.2f}x\n")
    return worst


def human(seconds: float) -> str:
    for unit, size in (("years", 365 * 86400), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:,.1f} {unit}"
    return f"{seconds:.1f} s"


def part2(rows: int) -> None:
    print("Part 2: the same kind of pattern with Python's re (backtracking) vs RE2, one value each")
    print(f"  {'value':<16} {'re  (a+)+$':>14} {'re2 (a+)+$':>14}")
    pat_re, pat_re2 = re.compile("(a+)+$"), re2.compile("(a+)+$")
    last_n, last_t = 0, 0.0
    for n in range(14, 25, 2):
        text = "a" * n + "!"
        t = time.perf_counter()
        assert pat_re.search(text) is None
        t_re = time.perf_counter() - t
        t = time.perf_counter()
        for _ in range(1000):
            assert pat_re2.search(text) is None
        t_re2 = (time.perf_counter() - t) / 1000
        print(f"  {'a' * 3 + '…×' + str(n) + '!':<16} {t_re:>13.4f}s {t_re2 * 1e6:>12.1f}µs")
        last_n, last_t = n, t_re
        if t_re > 5:
            break
    per_value = last_t * 2 ** (RUN - last_n)
    total = per_value * rows
    print(f"\n  Python re roughly doubles per extra 'a'. Extrapolated to part 1 ({RUN} a's per value):")
    print(f"  ~{human(per_value)} per value, ~{human(total)} for {rows:,} distinct values.")
    small = 200
    t = time.perf_counter()
    for i in range(small):
        pat_re.search("a" * 18 + f"!{i}")
    t_small = time.perf_counter() - t
    t = time.perf_counter()
    for i in range(small):
        pat_re2.search("a" * 18 + f"!{i}")
    t_small2 = time.perf_counter() - t
    print(f"  Measured on a smaller input ({small} values of 18 a's): re {t_small:.2f}s, RE2 {t_small2 * 1000:.2f}ms.")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    part1(args.rows, args.repeat)
    part2(args.rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
