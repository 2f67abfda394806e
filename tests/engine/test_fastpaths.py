"""The engine's fast paths agree with their plain definitions."""

from __future__ import annotations

import numpy as np
import pytest

from trendcalc.engine import cells, distinct
from trendcalc.engine.breakdown import _value_key, dense_codes, rank
from trendcalc.engine.select import Rows


def _rank_reference(values, kinds, totals, limit, total_value):
    """The plain definition: sort (class, -total, value) tuples."""
    display = sorted(range(len(values)), key=lambda g: (int(kinds[g]), -float(totals[g]), _value_key(values[g])))
    n = max(limit, 0)
    if len(values) <= limit:
        return display, []
    if total_value:
        chosen = set(sorted(range(len(values)), key=lambda g: (-float(totals[g]), _value_key(values[g])))[:n])
        return [g for g in display if g in chosen], [g for g in display if g not in chosen]
    return display[:n], display[n:]


@pytest.mark.parametrize("seed", range(40))
def test_rank_matches_full_sort(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    values = [f"v{int(x)}" for x in rng.integers(0, 40, n)]  # duplicates too
    if seed % 3 == 0:
        values = [(v, f"w{i % 3}") for i, v in enumerate(values)]
    kinds = rng.integers(0, 2, n).astype(np.int8)
    totals = rng.integers(0, 4, n).astype(np.float64)
    limit = int(rng.integers(0, n + 3))
    for total_value in (False, True):
        keep, other = rank(values, kinds, totals, limit, total_value=total_value)
        ref_keep, ref_other = _rank_reference(values, kinds, totals, limit, total_value)
        assert keep == ref_keep
        assert sorted(other) == sorted(ref_other)


@pytest.mark.parametrize("seed", range(10))
def test_count_paths_agree(seed):
    rng = np.random.default_rng(seed)
    n_buckets, n_groups, n_keys = 7, 5, int(rng.integers(1, 300))
    sizes = rng.integers(0, 40, size=(3, n_buckets))
    runs = [np.concatenate([[0], np.cumsum(s)]) for s in sizes]
    bucket = np.concatenate([np.repeat(np.arange(n_buckets), s) for s in sizes])
    group = rng.integers(0, n_groups, len(bucket)).astype(np.int32)
    key = rng.integers(0, n_keys, len(bucket))
    np.testing.assert_array_equal(cells.count_runs(runs, n_buckets), np.bincount(bucket, minlength=n_buckets))
    cell = group.astype(np.int64) * n_buckets + bucket
    np.testing.assert_array_equal(cells.count_grouped_runs(group, runs, n_groups, n_buckets),
                                  np.bincount(cell, minlength=n_groups * n_buckets))
    ref = np.array([len(set(key[bucket == b].tolist())) for b in range(n_buckets)])
    np.testing.assert_array_equal(cells.count_distinct_runs(key, runs, n_keys, n_buckets), ref)
    ref_cells = np.array([len(set(key[cell == c].tolist())) for c in range(n_groups * n_buckets)])
    np.testing.assert_array_equal(cells.count_distinct(cell, key, n_keys, n_groups * n_buckets), ref_cells)
    for method in distinct.METHODS:  # each path forced
        np.testing.assert_array_equal(distinct.count_distinct(cell, key, n_keys, n_groups * n_buckets, method=method),
                                      ref_cells)
        np.testing.assert_array_equal(distinct.count_distinct_runs(key, runs, n_keys, n_buckets, method=method), ref)


def test_dense_codes_is_unique_inverse():
    key = np.array([5, 3, 5, 9, 0, 3])
    for n in (10, 10_000):
        uniq, inv = dense_codes(key, n)
        ref_u, ref_i = np.unique(key, return_inverse=True)
        assert inv.dtype == np.int32
        np.testing.assert_array_equal(uniq, ref_u)
        np.testing.assert_array_equal(inv, ref_i)


def test_rows_restrict_and_runs():
    ts = np.array([1, 2, 3, 10, 11, 12, 13, 5, 6, 7])
    rows = Rows([slice(0, 3), slice(3, 7), slice(7, 10)])
    assert len(rows) == 10
    np.testing.assert_array_equal(rows.index(), np.arange(10))
    masked = rows.restrict(np.array([1, 0, 1, 1, 1, 0, 1, 0, 1, 1], dtype=bool))
    np.testing.assert_array_equal(masked.index(), [0, 2, 3, 4, 6, 8, 9])
    inside, runs = masked.bucket_runs(ts, np.array([2, 6, 12]))
    np.testing.assert_array_equal(inside.index(), [2, 3, 4, 8, 9])
    assert [r.tolist() for r in runs] == [[0, 1, 1], [0, 0, 2], [0, 0, 2]]


@pytest.mark.parametrize("seed", range(20))
def test_rolling_distinct_slots_match_the_general_path(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    t = rng.integers(0, 40, n) * 10
    if seed % 2:
        t = np.sort(t)
    key = rng.integers(0, int(rng.integers(1, 50)), n)
    starts = np.sort(rng.choice(np.arange(0, 450, 10), size=int(rng.integers(1, 20)), replace=False))
    width = rng.integers(1, 12, len(starts)) * 10 if seed % 3 == 0 else int(rng.integers(1, 12)) * 10
    window = starts - width  # per-bucket widths make windows that do not only slide forward
    ref = np.array([len(set(key[(t > w) & (t <= s)].tolist())) for s, w in zip(starts, window)], dtype=float)
    got = cells._rolling_distinct_slots(key, t, starts, window)
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(cells.rolling_distinct(key, np.zeros(n, np.int64), t, starts, window, 1)[0], ref)


@pytest.mark.parametrize("n_cells", [1, 7, 3000])
def test_quantile_matches_numpy_linear(n_cells):
    rng = np.random.default_rng(n_cells)
    cell = rng.integers(0, n_cells, 5000)
    values = np.round(rng.normal(0, 10, 5000), 1)
    values[rng.random(5000) < 0.1] = np.nan
    got = cells.quantile(cell, values, n_cells, 0.9)
    for c in range(n_cells):
        v = values[(cell == c) & ~np.isnan(values)]
        if len(v) == 0:
            assert np.isnan(got[c])
        else:
            assert got[c] == pytest.approx(np.quantile(v, 0.9), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(
    ("prop", "kind", "ptype", "normalize"),
    [("$browser", "event", None, False), ("n", "event", "Numeric", False), ("b", "event", "Boolean", False),
     ("url", "event", None, True), ("missing", "event", None, False), ("plan", "person", None, False),
     ("event", "event_metadata", None, False),
     # dictionaries past SMALL_DICTIONARY: per-bucket bincounts; one label per value, or shared
     ("wide", "event", None, False), ("shared", "event", "Numeric", False)],
)
def test_single_grouping_equals_the_general_path(prop, kind, ptype, normalize):
    import trendcalc as tc
    from trendcalc.engine import breakdown as bd
    from trendcalc.engine.context import QueryContext
    from trendcalc.limits import DEFAULT_LIMITS
    from trendcalc.query.displays import DISPLAYS
    from trendcalc.query.model import Breakdown, BreakdownItem

    rng = np.random.default_rng(1)
    events = []
    for i in range(300):
        props = {"$browser": ["Chrome", "Safari", "", None][i % 4], "n": [1, 1.0, "1", "x", None][i % 5],
                 "b": [True, False, "true", None][i % 4], "url": ["https://a/", "https://a", "https://a/?", "?"][i % 4],
                 "wide": f"v{i % 40}" if i % 9 else None, "shared": i % 25 if i % 2 else str(i % 25)}
        events.append({"event": ["a", "b"][i % 2], "distinct_id": f"d{int(rng.integers(0, 20))}",
                       "timestamp": 1_700_000_000 + i, "properties": {k: v for k, v in props.items() if v is not None}})
    persons = [{"distinct_ids": [f"d{i}"], "properties": {"plan": ["pro", "free"][i % 2]}} for i in range(0, 20, 3)]
    store = tc.EventStore.from_records(events, persons=persons)
    defs = [{"name": prop, "type": ptype, "kind": "person" if kind == "person" else "event"}] if ptype else []
    project = tc.Project(property_definitions=defs)
    ctx = QueryContext(store, tc.parse_filter({"events": [{"id": "a"}]}), project, None, DEFAULT_LIMITS,
                       DISPLAYS["ActionsLineGraph"])
    item = BreakdownItem(prop, type=kind, normalize_url=normalize)
    runs = [np.array([0, 40, 40, 130, 247]), np.array([0, 0, 10, 20, 30])]  # two blocks of 247 and 30 rows
    for rows, block_runs in ((slice(3, 250), None), (np.arange(0, 300, 7), None),
                             (np.r_[3:250, 260:290], runs)):
        fast = bd.single_grouping(ctx, item, rows, block_runs)
        general = bd.general_grouping(ctx, Breakdown((item,)), rows)
        np.testing.assert_array_equal(fast.row_codes(), general.codes)
        np.testing.assert_array_equal(fast.fine_to_final, general.fine_to_final)
        assert fast.values == general.values
        np.testing.assert_array_equal(fast.kinds, general.kinds)
        if block_runs is not None and prop in ("wide", "shared"):
            assert fast.cell_counts is not None  # the counting path ran
        if fast.cell_counts is not None:
            bucket = np.concatenate([np.repeat(np.arange(4), np.diff(r)) for r in block_runs])
            cell = general.codes.astype(np.int64) * 4 + bucket
            np.testing.assert_array_equal(fast.cell_counts, np.bincount(cell, minlength=len(general.values) * 4))


@pytest.mark.parametrize("seed", range(10))
def test_icontains_plain_needle_matches_the_regex_path(seed):
    from trendcalc.engine.predicates.operators import _contains_ascii, _search
    from trendcalc.query.regex import compile_like

    rng = np.random.default_rng(seed)
    alphabet = list("abcDEF/.-@xyz") + ([] if seed % 2 else ["\u212a", "é", "ſ"])
    texts = ["".join(rng.choice(alphabet, int(rng.integers(0, 12)))) for _ in range(300)]
    for needle in ("a", "De", "f/", "@xy", "k", "s", "zz"):
        class Dom:
            def texts(self):
                return np.array(texts, dtype=object)

            def __len__(self):
                return len(texts)

        ref = _search(Dom(), compile_like(f"%{needle}%", case_sensitive=False))
        fast = _contains_ascii(texts, needle.lower())
        if fast is None:
            assert seed % 2 == 0  # non-ASCII texts take the regex path
        else:
            np.testing.assert_array_equal(fast, ref)


def test_store_cached_filter_tables_give_the_same_answers_as_a_fresh_store():
    import trendcalc as tc

    events = [{"event": "e", "distinct_id": f"d{i % 7}", "timestamp": f"2024-01-0{1 + i % 5}T10:00:00Z",
               "properties": {"url": ["https://A/docs", "https://b/x", "https://c/DOCS/y"][i % 3], "n": i % 4}}
              for i in range(60)]
    persons = [{"distinct_ids": [f"d{i}"], "properties": {"email": f"u{i}@{'posthog.com' if i % 3 == 0 else 'ex.com'}"}}
               for i in range(7)]
    queries = [
        {"events": [{"id": "e"}], "properties": [{"key": "url", "value": v, "operator": op}], "date_from": "2024-01-01",
         "date_to": "2024-01-06"}
        for v in ("docs", "x", "DOCS") for op in ("icontains", "not_icontains", "exact")
    ] + [{"events": [{"id": "e"}], "filter_test_accounts": True, "date_from": "2024-01-01", "date_to": "2024-01-06",
          "properties": [{"key": "n", "value": [1, 2], "operator": "exact"}]}]
    project = {"test_account_filters": [{"key": "email", "value": "@posthog.com", "operator": "not_icontains",
                                         "type": "person"}]}
    shared = tc.EventStore.from_records(events, persons=persons)
    for _ in range(2):
        for q in queries:
            fresh = tc.EventStore.from_records(events, persons=persons)
            assert tc.trends(shared, q, project=project).to_dicts() == tc.trends(fresh, q, project=project).to_dicts()


def test_dictionary_text_fast_path_is_render_text():
    from trendcalc.store.columns import ValueDictionary, render_text

    rng = np.random.default_rng(3)
    pool = list("ab\"\\\n\t\x00\x1f\x7fé\u2028 /") + ["\ud800"]
    for n_special in (0, 1):
        values = ["".join(rng.choice(pool[:-9] if not n_special else pool, 5)) for _ in range(200)]
        values = list(dict.fromkeys(values))
        got = ValueDictionary(values).text()
        assert got.tolist() == [render_text(v) for v in values] + [None]
    mixed = ValueDictionary(["a", 1, 1.5, True, None, ["x"], {"k": "v"}])
    assert mixed.text().tolist() == [render_text(v) for v in mixed.values] + [None]


def test_at_rows_is_a_view_only_for_the_marked_array():
    """A filter reads a column through a view when its rows are the marked slice's index, and
    gathers for any other array, even an equal one."""
    import trendcalc as tc
    from trendcalc.engine.context import QueryContext
    from trendcalc.limits import DEFAULT_LIMITS
    from trendcalc.query.displays import DISPLAYS

    ctx = QueryContext(tc.EventStore.from_records([]), tc.parse_filter({"events": [{"id": "a"}]}), tc.Project(),
                       None, DEFAULT_LIMITS, DISPLAYS["ActionsLineGraph"])
    column = np.arange(100, 200)
    rows = np.arange(10, 20)
    ctx.mark_span(rows, slice(10, 20))
    got = ctx.at_rows(column, rows)
    assert np.shares_memory(got, column) and got.tolist() == list(range(110, 120))
    twin = rows.copy()
    other = ctx.at_rows(column, twin)
    assert not np.shares_memory(other, column) and other.tolist() == got.tolist()
    assert ctx.at_rows(column, rows[::2]).tolist() == list(range(110, 120, 2))
