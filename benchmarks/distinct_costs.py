"""How well the distinct-count cost model (``trendcalc.engine.distinct``) picks its method.

Times each method (bitmap, marks, sort), forced, on a grid of row counts (300–300 k), key spaces
(10 k–8 M) and repeat rates (each key seen 1.5, 4 or 12 times), for counting the distinct keys
and for listing them, and scores the model: the total time of the methods it chooses against the
total of the fastest method at every point (1.00 = always the fastest). Run it on a new host
(or NumPy) to see whether ``Costs`` still fits; ``--jsonl`` keeps the raw timings to refit it.

    python -m benchmarks.distinct_costs [--seeds 3 11] [--jsonl timings.jsonl]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from trendcalc.engine import distinct

SPACES = (10_000, 40_000, 150_000, 400_000, 1_000_000, 2_000_000, 8_000_000)
ROWS = (300, 1_000, 3_000, 10_000, 30_000, 100_000, 300_000)
REPEATS = (1.5, 4, 12)
KINDS: dict[str, Callable[..., Any]] = {"count": distinct.n_distinct, "values": distinct.distinct_values}


def _median_ns(f: Callable[[], Any], n: int = 9) -> float:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        out.append(time.perf_counter() - t)
    return statistics.median(out) * 1e9


def grid(seed: int) -> list[dict[str, Any]]:
    """One timing record per (space, rows, repeat rate): ns per kind and method."""
    rng = np.random.default_rng(seed)
    records = []
    for space in SPACES:
        scratch = distinct.Scratch(space)
        scratch.bits(), scratch.marks()  # allocated once, as a scan's buckets share them
        for rows in ROWS:
            for repeat in REPEATS:
                n_keys = max(1, min(int(rows / repeat), space))
                keys = rng.choice(space, size=n_keys, replace=False).astype(np.int32)
                x = keys[rng.integers(0, n_keys, rows)]
                rec: dict[str, Any] = {"space": space, "rows": rows, "distinct": int(len(np.unique(x)))}
                for kind, fn in KINDS.items():
                    for m in distinct.METHODS:
                        rec[f"{kind}_{m}"] = _median_ns(lambda fn=fn, m=m, x=x, s=scratch: fn(x, m, s))
                records.append(rec)
    return records


def score(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The chosen methods' total time over the fastest's, per kind, and the worst points."""
    out: dict[str, Any] = {}
    worst = []
    for kind in KINDS:
        chosen = best = 0.0
        fastest = dict.fromkeys(distinct.METHODS, 0)
        for r in records:
            allowed = distinct._allowed(r["space"])
            pick = distinct.choose(r["rows"], r["space"], values=kind == "values")
            top = min(allowed, key=lambda m: r[f"{kind}_{m}"])
            fastest[top] += 1
            chosen += r[f"{kind}_{pick}"]
            best += r[f"{kind}_{top}"]
            worst.append((r[f"{kind}_{pick}"] / r[f"{kind}_{top}"], kind, r["rows"], r["space"], pick, top))
        out[kind] = {"chosen_over_fastest": round(chosen / best, 3), "fastest_counts": fastest}
    worst.sort(reverse=True)
    out["worst"] = [{"ratio": round(w[0], 2), "kind": w[1], "rows": w[2], "space": w[3], "chose": w[4], "fastest": w[5]}
                    for w in worst[:8]]
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[3, 11])
    ap.add_argument("--jsonl", help="write the raw timings here")
    args = ap.parse_args(argv)
    records = [r for seed in args.seeds for r in grid(seed)]
    if args.jsonl:
        with open(args.jsonl, "w") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in records)
    result = score(records)
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
