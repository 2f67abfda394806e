"""Breakdowns: the breakdown value of every row, then PostHog's ranking, top-N and "Other".

A *source* (one per breakdown type) gives each row a code into a dictionary of raw values; a
*renderer* turns each dictionary value into its breakdown string (§6.2) or, for histograms,
each distinct number into its bin (§6.4). Strings are built once per dictionary value, never
per row. Maths run on *fine* groups (the values PostHog's events query groups by: for
histograms the raw numbers) and are then summed into the final groups (the bins).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np

from ..errors import UnsupportedError, ValidationError
from ..query.model import Breakdown, BreakdownItem
from ..store.columns import (
    BREAKDOWN_NULL,
    BREAKDOWN_OTHER,
    ValueDictionary,
    float_text,
    render_text,
    to_float,
)
from .context import QueryContext
from .grouping import NORMAL, NULL, OTHER, Grouping  # noqa: F401  (re-exported: bd.NORMAL, bd.Grouping)
from .select import RowKey

TEXT = "__text__"  # RawColumn.prop_type of values that are final breakdown text (no JSON rendering)
BREAKDOWN_VALUE_MAX_LENGTH = 400  # PostHog's left(toString(v), 400) on breakdown values (PR #48274)


@attrs.frozen
class RawColumn:
    """One breakdown dimension's raw values over the rows: codes (-1 = NULL) into a dictionary."""

    codes: np.ndarray
    dictionary: ValueDictionary
    prop_type: str | None = None


@attrs.frozen
class ItemValues:
    """One rendered dimension: fine id per row, the final label id of each fine id, the labels."""

    fine: np.ndarray
    fine_label: np.ndarray
    labels: Sequence[str]
    numbers: np.ndarray | None = None
    """Histograms: the number of each fine id (NaN: not a number, the null marker's)."""


EMPTY = ValueDictionary(())


def render_value(v: Any, prop_type: str | None, normalize: bool = False) -> str:
    """The breakdown string of one raw value (spec §6.2); the null marker for NULL/empty.

    URL normalisation (§6.5) runs before the null check, so ``""`` and ``"?"`` become ``"/"``.
    The text is then cut to its first 400 bytes, as PostHog's ``left(toString(v), 400)``; values
    that agree on those bytes share one breakdown value. (A character split by the cut is dropped.)"""
    if v is None:
        return BREAKDOWN_NULL
    if prop_type == TEXT:  # already the breakdown text (a hogql expression's toString)
        r = normalize_url(v) if normalize else v
    elif prop_type == "Numeric":
        f = to_float(v)
        r = "" if f != f else float_text(f)
    elif prop_type == "Boolean":
        r = render_text(v)
        r = r if r in ("true", "false") else ""
    else:
        r = render_text(v)
        if normalize:
            r = normalize_url(r)
    return truncate_value(r) if r != "" else BREAKDOWN_NULL


def truncate_value(s: str) -> str:
    """The first BREAKDOWN_VALUE_MAX_LENGTH bytes of ``s`` in UTF-8 (ClickHouse's ``left`` counts
    bytes); a multi-byte character cut by the boundary is dropped."""
    if len(s) <= BREAKDOWN_VALUE_MAX_LENGTH // 4:  # cannot exceed the byte limit
        return s
    b = s.encode("utf-8", "surrogatepass")
    if len(b) <= BREAKDOWN_VALUE_MAX_LENGTH:
        return s
    return b[:BREAKDOWN_VALUE_MAX_LENGTH].decode("utf-8", "ignore")


def normalize_url(s: str) -> str:
    """trimRight(v, '/?#'), empty → '/' (spec §6.5)."""
    t = s.rstrip("/?#")
    return t if t else "/"


def column_values(codes: np.ndarray, dictionary_values: Sequence[Any], prop_type: str | None, normalize: bool,
                  dictionary: ValueDictionary | None = None) -> ItemValues:
    """Label ids per row from dictionary codes, rendering each dictionary value once — once per
    store when the column's ``dictionary`` is given (the look-up table is cached there)."""

    def build() -> tuple[np.ndarray, list[str]]:
        rendered = [render_value(v, prop_type, normalize) for v in dictionary_values] + [BREAKDOWN_NULL]
        index: dict[str, int] = {}
        lut = np.fromiter((index.setdefault(s, len(index)) for s in rendered), dtype=np.int32, count=len(rendered))
        return lut, list(index)

    lut, labels = build() if dictionary is None else dictionary.cached(("breakdown_labels", prop_type, normalize), build)
    return ItemValues(lut[codes], np.arange(len(labels), dtype=np.int32), labels)


def histogram_values(raw: RawColumn, bins: int, bounds: tuple[float, float] | None = None) -> ItemValues:
    """Numeric bins between the min and max value of the rows (§6.4); fine ids are the numbers.

    Bin i is [min + d/n*i, min + d/n*(i+1)) with +0.01 on the last upper edge; a value takes the
    first bin that holds it. Non-numeric and missing values give the null marker. ``bounds``:
    the (min, max) over all the query's rows when these rows are one partition's share of them."""
    floats = raw.dictionary.floats()
    values = floats[raw.codes]
    uniq, fine = np.unique(values, return_inverse=True)  # NaN sorts last and is kept once
    fine_label, labels = histogram_bins(uniq, bins, bounds)
    return ItemValues(fine.reshape(-1).astype(np.int32), fine_label, labels, uniq)


def histogram_bins(uniq: np.ndarray, bins: int, bounds: tuple[float, float] | None = None) -> tuple[np.ndarray, list[str]]:
    """(the bin of each of the ascending distinct numbers ``uniq`` — NaN last, in the null
    marker's bin —, the bins' labels): ``histogram_values``' bins, also what a partitioned
    store's coordinator folds a non-additive math's numbers into (``partition/run.py``)."""
    numeric = ~np.isnan(uniq)
    labels: list[str] = []
    fine_label = np.full(len(uniq), -1, dtype=np.int32)
    if numeric.any():
        lo_v, hi_v = bounds if bounds is not None else (float(uniq[numeric].min()), float(uniq[numeric].max()))
        diff = hi_v - lo_v
        edges = [((diff / bins) * x + lo_v, (diff / bins) * (x + 1) + lo_v + (0.01 if x + 1 == bins else 0.0)) for x in range(bins)]
        for lo, hi in edges:  # a loop over bins, not rows
            hit = numeric & (fine_label < 0) & (uniq >= lo) & (uniq < hi)
            if hit.any():
                fine_label[hit] = len(labels)
                labels.append(f"[{float_text(lo)},{float_text(hi)}]")
    if (fine_label < 0).any():
        fine_label[fine_label < 0] = len(labels)
        labels.append(BREAKDOWN_NULL)
    return fine_label, labels


def numeric_bounds(raw: RawColumn) -> tuple[float, float] | None:
    """The (min, max) of the numeric values of ``raw`` (None: none is numeric): what
    ``histogram_values`` puts its edges on."""
    values = raw.dictionary.floats()[raw.codes]
    values = values[~np.isnan(values)]
    return (float(values.min()), float(values.max())) if len(values) else None


# --- sources: where a breakdown value is read ----------------------------------------------------


def _missing(rows: RowKey) -> RawColumn:
    n = rows.stop - rows.start if isinstance(rows, slice) else len(rows)
    return RawColumn(np.full(n, -1, np.int32), EMPTY)


def _event_source(ctx: QueryContext, item: BreakdownItem, rows: RowKey) -> RawColumn:
    col = ctx.store.column(item.property)
    if col is None:
        return _missing(rows)
    return RawColumn(col.codes[rows], col.dictionary, ctx.project.property_type(item.property, "event"))


def _person_source(ctx: QueryContext, item: BreakdownItem, rows: RowKey) -> RawColumn:
    from ..store.virtual import person_column

    col = person_column(ctx.store, item.property)
    if col is None:
        return _missing(rows)
    return RawColumn(col.codes[ctx.store.person[rows]], col.dictionary, ctx.project.property_type(item.property, "person"))


def _group_source(ctx: QueryContext, item: BreakdownItem, rows: RowKey) -> RawColumn:
    gti = item.group_type_index
    table = ctx.store.groups.get(gti) if gti is not None else None
    col = table.column(item.property) if table is not None else None
    if col is None or gti is None:
        return _missing(rows)
    grows = ctx.store.group_rows(gti)[rows]
    codes = np.where(grows >= 0, col.codes[np.maximum(grows, 0)], -1).astype(np.int32)
    return RawColumn(codes, col.dictionary, ctx.project.property_type(item.property, "group", gti))


def _session_source(ctx: QueryContext, item: BreakdownItem, rows: RowKey) -> RawColumn:
    index = rows if isinstance(rows, np.ndarray) else np.arange(rows.start, rows.stop, dtype=np.int64)
    found = ctx.sessions().row_codes(item.property, index)
    if found is None:
        raise UnsupportedError(("breakdown",), f"session property {item.property!r} is not supported")
    codes, dictionary = found
    return RawColumn(codes, dictionary)


def _event_metadata_source(ctx: QueryContext, item: BreakdownItem, rows: RowKey) -> RawColumn:
    """An event column (``distinct_id``, ``event``, ``person_id``) or an event field like ``$group_0``."""
    store = ctx.store
    if item.property == "distinct_id":
        return RawColumn(store.distinct_id[rows], ValueDictionary(store.distinct_ids.tolist()))
    if item.property == "event":
        return RawColumn(store.event[rows], ValueDictionary(store.event_names))
    if item.property == "person_id":
        ids = ctx.person_ids()
        return RawColumn(store.person[rows], ValueDictionary(ids))
    return _event_source(ctx, attrs.evolve(item, type="event"), rows)


SOURCES: dict[str, Callable[[QueryContext, BreakdownItem, RowKey], RawColumn]] = {
    "event": _event_source,
    "person": _person_source,
    "group": _group_source,
    "session": _session_source,
    "event_metadata": _event_metadata_source,
}


def _hogql_source(ctx: QueryContext, item: BreakdownItem, rows: RowKey) -> RawColumn:
    """``breakdown_type: hogql``: the expression's ``toString`` per row (NULL → the null marker)."""
    from .hogql import breakdown_column

    codes, dictionary = breakdown_column(ctx, item.expr, rows)
    return RawColumn(codes, dictionary, TEXT)


# Breakdowns by a user expression: a registry of their own, beside the property sources that the
# test kit's reference mirrors one for one.
EXPRESSION_SOURCES: dict[str, Callable[[QueryContext, BreakdownItem, RowKey], RawColumn]] = {
    "hogql": _hogql_source,
}


def source_of(breakdown_type: str) -> Callable[[QueryContext, BreakdownItem, RowKey], RawColumn] | None:
    """Where a breakdown type reads its values (None: not implemented)."""
    return SOURCES.get(breakdown_type) or EXPRESSION_SOURCES.get(breakdown_type)


def item_values(ctx: QueryContext, item: BreakdownItem, rows: RowKey) -> ItemValues:
    source = source_of(item.type)
    if source is None:
        raise UnsupportedError(("breakdown",), f"{item.type} breakdowns are not implemented yet")
    raw = source(ctx, item, rows)
    if item.histogram_bin_count is not None:
        return histogram_values(raw, item.histogram_bin_count, ctx.given.get(("histogram_bounds", item)))
    shared = raw.dictionary if raw.dictionary is not EMPTY else None
    return column_values(raw.codes, raw.dictionary.values, raw.prop_type, item.normalize_url, shared)


def group_rows(ctx: QueryContext, breakdown: Breakdown, rows: RowKey, runs: Sequence[np.ndarray] | None = None) -> Grouping:
    """Breakdown group per row (single or multiple breakdowns; several cohorts). ``runs``: the
    bucket runs of the rows when they have them (see ``single_grouping``)."""
    if breakdown.items[0].type == "cohort":
        from .cohort_breakdown import cohort_grouping

        return cohort_grouping(ctx, breakdown.items[0], rows)
    if len(breakdown.items) == 1 and not breakdown.multi and breakdown.items[0].histogram_bin_count is None:
        return single_grouping(ctx, breakdown.items[0], rows, runs)
    return general_grouping(ctx, breakdown, rows)


def general_grouping(ctx: QueryContext, breakdown: Breakdown, rows: RowKey) -> Grouping:
    """Any breakdown: fine groups (histograms: the raw numbers), folded into the final groups."""
    parts = [item_values(ctx, item, rows) for item in breakdown.items]
    fine_shape = tuple(max(len(p.fine_label), 1) for p in parts)
    label_shape = tuple(max(len(p.labels), 1) for p in parts)
    fine_key = np.ravel_multi_index(tuple(p.fine for p in parts), fine_shape) if len(parts) > 1 else parts[0].fine.astype(np.int64)
    uniq_fine, codes = dense_codes(fine_key, int(np.prod(fine_shape)))
    fine_idx = np.unravel_index(uniq_fine, fine_shape)
    label_ids = tuple(p.fine_label[i] for p, i in zip(parts, fine_idx))
    final_key = np.ravel_multi_index(label_ids, label_shape) if len(parts) > 1 else label_ids[0].astype(np.int64)
    uniq_final, fine_to_final = dense_codes(final_key, int(np.prod(label_shape)))
    if len(parts) == 1 and not breakdown.multi:  # the common case, without a loop per value
        labels = np.asarray(parts[0].labels, dtype=object)
        values: tuple[Any, ...] = tuple(labels[uniq_final].tolist())
        kinds = np.where(labels[uniq_final] == BREAKDOWN_NULL, NULL, NORMAL).astype(np.int8)
    else:
        final_idx = np.unravel_index(uniq_final, label_shape)
        values = tuple(tuple(p.labels[j] for p, j in zip(parts, col)) for col in zip(*(a.tolist() for a in final_idx)))
        if not breakdown.multi:
            values = tuple(v[0] for v in values)
        kinds = np.array([NULL if _has_null(v) else NORMAL for v in values], dtype=np.int8)
    return Grouping(codes.astype(np.int32, copy=False).reshape(-1), fine_to_final.astype(np.int64).reshape(-1), values,
                    kinds, fine_keys=_fine_keys(parts, fine_idx))


def _fine_keys(parts: Sequence[ItemValues], fine_idx: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...] | None:
    """With a histogram among the items: per item, each fine group's number (histograms; NaN:
    not a number) or label (the others) — what a partitioned store merges a non-additive math's
    states by before it folds them into the bins (``Grouping.fine_keys``). None without one."""
    if all(p.numbers is None for p in parts):
        return None
    return tuple(p.numbers[i] if p.numbers is not None else np.asarray(p.labels, dtype=object)[p.fine_label[i]]
                 for p, i in zip(parts, fine_idx))


def dense_codes(key: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(key, return_inverse=True)`` for keys in [0, n_keys): sort-free (a bincount and a
    look-up table) when the key space is small, as label ids are; the inverse is int32."""
    if n_keys > 4 * len(key) + 4096:
        uniq, inv = np.unique(key, return_inverse=True)
        return uniq, inv.reshape(-1).astype(np.int32)
    used = np.bincount(key, minlength=n_keys) > 0
    remap = np.cumsum(used, dtype=np.int32) - 1
    return np.flatnonzero(used), remap[key]


def label_table(raw: RawColumn, normalize: bool) -> tuple[np.ndarray, np.ndarray]:
    """(label id per dictionary code, the missing value last; the labels as an object array):
    each dictionary value is rendered once, and the table is cached on the column's dictionary."""
    values_of = raw.dictionary.values

    def build() -> tuple[np.ndarray, np.ndarray]:
        rendered = [render_value(v, raw.prop_type, normalize) for v in values_of] + [BREAKDOWN_NULL]
        index: dict[str, int] = {}
        lut = np.fromiter((index.setdefault(s, len(index)) for s in rendered), dtype=np.int32, count=len(rendered))
        return lut, np.asarray(list(index), dtype=object)

    if raw.dictionary is EMPTY:
        return build()
    return raw.dictionary.cached(("breakdown_label_table", raw.prop_type, normalize), build)


SMALL_DICTIONARY = 16  # up to this many codes, rows per (code, bucket) are counted by comparisons


def single_grouping(ctx: QueryContext, item: BreakdownItem, rows: RowKey,
                    runs: Sequence[np.ndarray] | None = None) -> Grouping:
    """One property breakdown without a sort: find the dictionary codes present, then compose
    the (cached) label table with the renumbering of the labels present into one look-up table
    from code to group. Same result as the general path.

    With bucket ``runs`` and a small dictionary the codes present come from counting each code
    in each bucket's run (SIMD comparisons over runs that stay in cache); those counts are kept
    (``cell_counts``) and the per-row groups are only gathered if a math asks for them."""
    source = source_of(item.type)
    if source is None:
        raise UnsupportedError(("breakdown",), f"{item.type} breakdowns are not implemented yet")
    raw = source(ctx, item, rows)
    lut, labels = label_table(raw, item.normalize_url)
    counts = None
    n_buckets = len(runs[0]) - 1 if runs else 0
    if runs is not None and (len(lut) <= SMALL_DICTIONARY or len(lut) * n_buckets <= len(raw.codes)):
        counts = code_counts(raw.codes, runs, len(lut))  # (bucket, slot)
        present = counts.sum(axis=0) > 0
    else:
        present = np.zeros(len(lut), dtype=bool)  # slot -1 (the last) is the missing value
        present[raw.codes] = True
    used = np.zeros(len(labels), dtype=bool)
    used[lut[present]] = True
    uniq = np.flatnonzero(used)
    composite = (np.cumsum(used, dtype=np.int32) - 1)[lut]
    values = labels[uniq]
    kinds = np.where(values == BREAKDOWN_NULL, NULL, NORMAL).astype(np.int8)
    fine = np.arange(len(uniq), dtype=np.int64)
    if counts is None:
        return Grouping(composite[raw.codes], fine, tuple(values.tolist()), kinds)
    group_of, counted = composite[present], counts[:, present]
    if len(group_of) == len(uniq) and bool(np.all(group_of[1:] > group_of[:-1])):
        per_group = counted  # one code per group, in code order (labels are numbered in it)
    else:
        per_group = np.zeros((counts.shape[0], len(uniq)), dtype=np.float64)
        for b in range(counts.shape[0]):  # a bincount per bucket: np.add.at is slow on many rows
            per_group[b] = np.bincount(group_of, weights=counted[b], minlength=len(uniq))
    cell_counts = np.ascontiguousarray(per_group.T, dtype=np.float64).reshape(-1)  # (group, bucket)
    return Grouping(None, fine, tuple(values.tolist()), kinds, raw=raw.codes, composite=composite,
                    cell_counts=cell_counts)


def code_counts(codes: np.ndarray, runs: Sequence[np.ndarray], n_slots: int) -> np.ndarray:
    """Rows per (bucket, dictionary slot); slot n_slots-1 is code -1 (missing). ``codes`` are
    aligned with the blocks of ``runs``, concatenated. Each bucket's run is counted where it
    lies (it stays in cache): by comparisons for a small dictionary, else by one bincount."""
    n_buckets = len(runs[0]) - 1 if runs else 0
    out = np.zeros((n_buckets, n_slots), dtype=np.int64)
    pos = 0
    for r in runs:
        for b in range(n_buckets):
            x = codes[pos + int(r[b]):pos + int(r[b + 1])]
            if not len(x):
                continue
            if n_slots <= SMALL_DICTIONARY:
                for k in range(n_slots - 1):
                    out[b, k] += np.count_nonzero(x == k)
                out[b, n_slots - 1] += np.count_nonzero(x < 0)
            else:
                c = np.bincount(x + 1, minlength=n_slots)  # slot 0 here: code -1
                out[b, :-1] += c[1:]
                out[b, -1] += c[0]
        pos += int(r[-1])
    return out


def _has_null(v: Any) -> bool:
    return v == BREAKDOWN_NULL if isinstance(v, str) else any(x == BREAKDOWN_NULL for x in v)


def _value_key(v: Any) -> Any:
    if isinstance(v, tuple):
        return tuple(str(x) for x in v)
    return str(v)


def rank(
    values: Sequence[Any], kinds: np.ndarray, totals: np.ndarray, limit: int, *, total_value: bool = False
) -> tuple[list[int], np.ndarray]:
    """(kept groups in display order, groups folded into Other) per spec §6.3/6.9.

    Display order is class (normal, then null), total desc, value asc as strings. Time series
    choose the top ``limit`` in that same order, so the null bucket falls into Other first;
    total-value displays choose by total alone (PostHog's ``row_number() OVER (ORDER BY total
    DESC)``, ties taken by value), and then sort the kept values by class, so a kept null marker
    is still shown last (case trends_c__breakdown_filtering_bar_chart_by_value)."""
    n = max(limit, 0)

    def display_key(g: int) -> tuple:
        return int(kinds[g]), -float(totals[g]), _value_key(values[g])

    if len(values) <= limit:
        return sorted(range(len(values)), key=display_key), np.zeros(0, dtype=np.int64)
    # Choose the kept groups with NumPy (by class and total; by total alone for total-value
    # displays), break ties at the cut by value, and sort only the kept ones in Python. The
    # folded rest is returned in group order (its display order does not matter).
    kinds_a, neg = np.asarray(kinds), -np.asarray(totals, dtype=np.float64)
    if bool(np.isfinite(neg).all()):
        chosen = _choose_top(values, kinds_a, neg, n, total_value)
        keep = sorted(np.flatnonzero(chosen).tolist(), key=display_key)
        return keep, np.flatnonzero(~chosen)
    keys = (neg,) if total_value else (neg, kinds_a)
    by_num = np.lexsort(keys)
    chosen = np.zeros(len(values), dtype=bool)
    if n:
        cut = by_num[n - 1]
        tie = np.logical_and.reduce([k == k[cut] for k in keys])
        better = by_num[:n][~tie[by_num[:n]]]
        tied = sorted(np.flatnonzero(tie).tolist(), key=lambda g: _value_key(values[g]))
        chosen[better] = True
        chosen[tied[: n - len(better)]] = True
    keep = sorted(np.flatnonzero(chosen).tolist(), key=display_key)
    return keep, np.flatnonzero(~chosen)


def rank_query(ctx: QueryContext, values: Any, kinds: np.ndarray, totals: np.ndarray) -> tuple[list[int], np.ndarray]:
    """``rank`` with the query's limit and display: (kept groups in display order, groups folded
    into Other); more kept values than ``Limits.max_breakdown_values`` is an error. ``values``:
    a sequence, or anything with ``len`` and ``[g]`` (read for ties and kept groups only)."""
    assert ctx.filter.breakdown is not None  # only breakdown queries are ranked
    limit = ctx.display.breakdown_limit or ctx.filter.breakdown.limit
    keep, other = rank(values, kinds, totals, limit, total_value=ctx.display.total_value)
    if len(keep) > ctx.limits.max_breakdown_values:
        raise ValidationError(("breakdown_limit",), f"{len(keep)} breakdown values exceed max_breakdown_values={ctx.limits.max_breakdown_values}")
    return keep, other


def _choose_top(values: Sequence[Any], kinds: np.ndarray, neg: np.ndarray, n: int, total_value: bool) -> np.ndarray:
    """The ``n`` groups first by (class, -total) — by -total alone for total-value displays —
    ties at the cut taken by value; as ``rank``'s sort, but with a partition (linear) instead
    of sorting every group: thousands of values for a top 25. ``neg`` is finite."""
    chosen = np.zeros(len(neg), dtype=bool)
    classes: list[np.ndarray | None] = [None] if total_value or not kinds.any() else [  # None: every group
        np.flatnonzero(kinds == k) for k in np.flatnonzero(np.bincount(kinds.astype(np.intp))).tolist()]  # (small ints)
    for members in classes:
        if n <= 0:
            break
        size = len(neg) if members is None else len(members)
        if size <= n:
            chosen[slice(None) if members is None else members] = True
            n -= size
            continue
        m = neg if members is None else neg[members]
        cut = np.partition(m, n - 1)[n - 1]
        better = np.flatnonzero(m < cut) if members is None else members[m < cut]
        at_cut = np.flatnonzero(m == cut) if members is None else members[m == cut]
        tied = sorted(at_cut.tolist(), key=lambda g: _value_key(values[g]))
        chosen[better] = True
        chosen[tied[: n - len(better)]] = True
        break
    return chosen


def cumulative_order(kept: Sequence[tuple[Any, np.ndarray]]) -> list[tuple[Any, np.ndarray]]:
    """Kept (value, per-bucket values) pairs in the order PostHog shows a cumulative breakdown:
    the top N are chosen on raw totals (``rank``), but the rows are then ordered by class, the sum
    of their *running totals* desc, and value (builder 5913810 sorts the cumulated arrays by
    ``arraySum(total)``; test_trends_breakdown_cumulative: two values with one user each show the
    earlier one first)."""

    def key(kv: tuple[Any, np.ndarray]) -> tuple:
        value, vals = kv
        is_null = isinstance(value, (str, tuple)) and _has_null(value)
        return int(is_null), -float(np.cumsum(np.asarray(vals, dtype=np.float64)).sum()), _value_key(value)

    return sorted(kept, key=key)


def other_value(multi: bool, width: int) -> Any:
    return tuple([BREAKDOWN_OTHER] * width) if multi else BREAKDOWN_OTHER
