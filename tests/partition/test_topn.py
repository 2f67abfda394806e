"""Count breakdowns by one property over partitions (partition/topn.py): ranked on the values'
totals first, then only the kept values' cells and Other's come back — and the answer is the
single store's, for every split and display."""

from __future__ import annotations

from collections import Counter
from typing import Any
from unittest import mock

import numpy as np
import pytest

import trendcalc as tc
from trendcalc.engine import topn as engine_topn
from trendcalc.engine.trends import resolve_now
from trendcalc.partition import topn
from trendcalc.partition.run import run_stores
from trendcalc.partition.split import person_partitions, subset

from ..engine.test_topn import BASE, NOW, STORE, VARIANTS
from .splits import SPLITS


def outcome(run: Any) -> Any:
    try:
        return run().to_dicts()
    except (tc.ValidationError, tc.UnsupportedError) as exc:
        return ("error", type(exc).__name__, exc.path, exc.message)


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: ",".join(f"{k}={v[k]}" for k in v) or "plain")
@pytest.mark.parametrize(("k", "split"), [(3, "hash"), (2, "all-in-last"), (4, "round-robin")])
def test_partitioned_top_n_equals_single_store(variant: dict[str, Any], k: int, split: str) -> None:
    q = {**BASE, **variant}
    want = outcome(lambda: tc.trends(STORE, q, now=NOW))
    part = person_partitions(STORE, k, SPLITS[split])
    stores = [subset(STORE, part == p) for p in range(k)]
    shipped: Counter[str] = Counter()
    real = engine_topn.kept_cells

    def counting(*a: Any) -> Any:
        cells = real(*a)
        shipped["partials"] += 1
        shipped["rows"] += len(cells)
        return cells

    def run() -> Any:
        filt = tc.parse_filter(q)
        return run_stores(stores, filt, tc.Project(), resolve_now(NOW), tc.Limits(),
                          [np.flatnonzero(part == p) for p in range(k)])

    with mock.patch.object(engine_topn, "kept_cells", counting):
        got = outcome(run)
    assert got == want
    if isinstance(want, list) and variant.get("breakdown") not in ("flag", "no_such_property", "page"):
        assert shipped["partials"] >= k  # every partition answered with kept cells only
        limit = variant.get("breakdown_limit", 25)
        assert shipped["rows"] <= shipped["partials"] * (limit + 1)


def test_candidates() -> None:
    parse = tc.parse_filter
    assert topn.candidate(parse(BASE))
    assert not topn.candidate(parse({k: v for k, v in BASE.items() if not k.startswith("breakdown")}))
    assert not topn.candidate(parse({**BASE, "events": [{"id": "$pageview", "math": "dau"}]}))
    assert not topn.candidate(parse({**BASE, "breakdown_histogram_bin_count": 4, "breakdown": "n"}))
