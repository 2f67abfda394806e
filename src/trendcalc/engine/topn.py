"""Top-N breakdowns of event counts without the (value × bucket) matrix.

A count broken down by a property of thousands of values (URLs) answers the top 25 values and
"Other". Counts add, so the ranking needs only each value's total, and Other's cells are the
rows of every value not kept, counted like a kept value's — exact integers. So two passes over
the rows' dictionary codes suffice: one ``bincount`` of the codes (the totals of every value),
then one gather of each code's *slot* (its kept value, or Other) and one ``bincount`` of the
(bucket, slot) pairs. No per-row group array, no matrix over every value; label strings are
compared only for the kept values and for ties at the cut. Large scans split their rows over
``Limits.threads`` threads (partial counts add).

Usually one pass suffices: engine/front_counts.py counts every code's total and, in the same
``bincount``, the first codes' rows per bucket — a dictionary numbered by first use holds its
frequent values there — so the kept values' cells are matrix columns and Other is each bucket's
rows minus theirs; the second pass runs only when a kept value lies past that front. Ranking
sees only the values whose total reaches a lower bound of the cut (``groups_to_rank``).

The answer is the general path's (``run_query`` → ``shape_query`` in engine/trends.py): the same
groups (labels present in the rows), ranking, cells and Other; trends.py's ``count_series``
shapes them. tests/engine/test_topn.py checks both paths give the same answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import attrs
import numpy as np

from ..store.columns import BREAKDOWN_NULL
from . import blockwise
from . import breakdown as bd
from .context import Frame, QueryContext
from .distinct import THREAD_MIN_ROWS, over_buckets
from .front_counts import FrontCounts, front_counts, front_size
from .math import MathType
from .plan import Query


def applies(ctx: QueryContext, q: Query, frame: Frame, math: MathType) -> bool:
    """Whether a query is a count broken down by one property over bucket runs (what this
    module computes); every other breakdown takes the general path."""
    b = ctx.filter.breakdown
    if b is None or q.cohort is not None or frame.runs is None or frame.breakdown_rows is not None:
        return False
    if math.name != "total" or len(b.items) != 1 or b.multi:
        return False
    item = b.items[0]
    return item.type != "cohort" and item.histogram_bin_count is None and bd.source_of(item.type) is not None


def label_facts(raw: bd.RawColumn, normalize: bool) -> tuple[np.ndarray, np.ndarray, bool, int]:
    """(label id per code — the missing value last —, the labels, whether every code has a
    label of its own, the null marker's label id or -1); cached on the column's dictionary."""
    lut, labels = bd.label_table(raw, normalize)

    def build() -> tuple[bool, int]:
        hit = np.flatnonzero(labels == BREAKDOWN_NULL)  # labels are distinct: one at most
        return len(labels) == len(lut), int(hit[0]) if len(hit) else -1  # (numbered by first use)

    facts = build() if raw.dictionary is bd.EMPTY else raw.dictionary.cached(("topn_label_facts", raw.prop_type, normalize), build)
    return lut, labels, facts[0], facts[1]


def _chunks(n: int, threads: int) -> list[tuple[int, int]]:
    """Row ranges for ``threads`` workers (one range below the threading threshold)."""
    if threads <= 1 or n < THREAD_MIN_ROWS:
        return [(0, n)]
    cuts = [n * i // threads for i in range(threads + 1)]
    return list(zip(cuts[:-1], cuts[1:]))


def _parallel_sum(chunks: Sequence[tuple[int, int]], threads: int, rows: int, part: object) -> np.ndarray:
    """The sum of ``part(a, b)`` (int64 arrays of one shape) over the row ranges, each range on
    a thread of the engine's pool when there are several."""
    if len(chunks) == 1:
        return part(*chunks[0])  # type: ignore[operator]
    outs: list[np.ndarray | None] = [None] * len(chunks)

    def work(indices: Iterable[int]) -> None:
        for i in indices:
            a, b = chunks[i]
            outs[i] = part(a, b)  # type: ignore[operator]

    over_buckets(len(chunks), rows, threads, work)
    total = outs[0]
    assert total is not None
    for o in outs[1:]:
        total = total + o
    return total


def code_totals(codes: np.ndarray, n_slots: int, threads: int) -> np.ndarray:
    """Rows per dictionary slot: slot 0 is code -1 (missing), slot k+1 code k (int64)."""
    chunks = _chunks(len(codes), threads)

    def part(a: int, b: int) -> np.ndarray:
        x = codes[a:b].astype(np.intp)
        x += 1
        return np.bincount(x, minlength=n_slots)

    return _parallel_sum(chunks, threads, len(codes), part)


OTHER_SPREAD = 8
"""Slots Other's rows are spread over (then added): ``bincount`` adds into one bin one row after
another, so the many rows of one hot bin — Other's, often half the rows — wait on each other."""


CHUNK_ROWS = 1 << 16
"""Rows the (bucket, slot) count takes at a time — whole buckets, so each chunk's keys and
counts stay in the core's cache; chunks are the units spread over threads."""


def _bucket_chunks(runs: Sequence[np.ndarray], n_buckets: int) -> list[tuple[int, int, int, np.ndarray]]:
    """(first row, first bucket, end bucket, the chunk's run starts from 0) per chunk: runs of
    consecutive buckets of one block with about ``CHUNK_ROWS`` rows (a larger bucket alone)."""
    out = []
    pos = 0
    for r in runs:
        b0 = 0
        while b0 < n_buckets:
            b1 = min(max(int(np.searchsorted(r, r[b0] + CHUNK_ROWS, "right")) - 1, b0 + 1), n_buckets)
            if r[b1] > r[b0]:
                out.append((pos + int(r[b0]), b0, b1, r[b0:b1 + 1] - r[b0]))
            b0 = b1
        pos += int(r[-1])
    return out


def _spread(raw: bd.RawColumn, n: int) -> np.ndarray:
    """0, 1, ..., OTHER_SPREAD-1, 0, 1, ... over ``n`` labels (cached with the dictionary)."""
    build = lambda: np.arange(n, dtype=np.intp) % OTHER_SPREAD  # noqa: E731
    return build() if raw.dictionary is bd.EMPTY else raw.dictionary.cached(("topn_spread", n), build)


def slot_cells(codes: np.ndarray, code_slot: np.ndarray, runs: Sequence[np.ndarray], n_slots: int,
               n_buckets: int, threads: int) -> np.ndarray:
    """Rows per (bucket, slot), int64 (n_buckets × n_slots): ``code_slot`` gives each code's slot
    (its last entry: code -1's), ``runs`` the rows of each bucket (blocks concatenated)."""
    chunks = _bucket_chunks(runs, n_buckets)
    counted: list[np.ndarray | None] = [None] * len(chunks)

    def work(indices: Iterable[int]) -> None:
        for i in indices:
            first, b0, b1, r = chunks[i]
            key = np.take(code_slot, codes[first:first + int(r[-1])], mode="wrap")  # code -1 → the last entry
            if b1 - b0 > 1:
                key += np.repeat(np.arange(b1 - b0, dtype=np.intp) * n_slots, np.diff(r))
            counted[i] = np.bincount(key, minlength=(b1 - b0) * n_slots).reshape(b1 - b0, n_slots)

    over_buckets(len(chunks), len(codes), threads, work)
    out = np.zeros((n_buckets, n_slots), dtype=np.int64)
    for (_, b0, b1, _), c in zip(chunks, counted):
        assert c is not None
        out[b0:b1] += c
    return out


class _Labels:
    """The groups' values, read by ``rank`` for ties at the cut and the kept values only: a view
    of the label array through the present label ids (no array of thousands of strings)."""

    __slots__ = ("labels", "present")

    def __init__(self, labels: np.ndarray, present: np.ndarray):
        self.labels, self.present = labels, present

    def __len__(self) -> int:
        return len(self.present)

    def __getitem__(self, g: int) -> Any:
        return self.labels[self.present[g]]


@attrs.frozen
class TopN:
    """A count breakdown's answer before shaping: the kept values in display order, then Other
    when ``has_other``, with their rows per bucket (int64, one row each)."""

    values: list[Any]
    cells: np.ndarray
    has_other: bool


@attrs.frozen
class _Totals:
    """A frame's rows per breakdown value (label), from one pass over the rows' codes, and how
    many values have rows (the groups)."""

    raw: bd.RawColumn
    lut: np.ndarray
    labels: np.ndarray
    one_to_one: bool
    null_id: int
    label_totals: np.ndarray
    n_present: int
    matrix: np.ndarray | None  # rows per (bucket, code) when counted so (``_code_matrix``)
    front: FrontCounts | None  # the first codes' rows per bucket when counted so (engine/front_counts.py)

    def present(self) -> np.ndarray:
        """The groups: labels with rows, in label order."""
        return np.flatnonzero(self.label_totals != 0)  # (a bool mask: nonzero without branches)

    def kinds(self, ids: np.ndarray) -> np.ndarray:
        return (ids == self.null_id).view(np.int8)  # bd.NULL (1) for the null marker, else bd.NORMAL (0)


RANK_SAMPLE = 512
"""Labels (the first, in label order) whose totals bound the ranking's cut from below."""


def groups_to_rank(t: _Totals, limit: int) -> np.ndarray:
    """The label ids ``rank`` needs to see to choose the top ``limit`` groups: those with a total
    at least the ``limit``-th largest of the first ``RANK_SAMPLE`` labels' — a lower bound of the
    cut, whatever the order — when that leaves ``limit`` normal values or more (then every kept
    value and every tie at the cut is among them, in either display's order); else every group.
    Ranking a few dozen values instead of thousands: the rest can only fall into Other."""
    totals = t.label_totals
    if 0 < limit < t.n_present:
        sample = totals[:RANK_SAMPLE]
        if len(sample) >= limit:
            bound = max(int(np.partition(sample, len(sample) - limit)[len(sample) - limit]), 1)
            ids = np.flatnonzero(totals >= bound)
            normal = len(ids) - int(t.null_id >= 0 and totals[t.null_id] >= bound)
            if normal >= limit:
                return ids
    return t.present()


def _raw(ctx: QueryContext, frame: Frame) -> tuple[bd.RawColumn, bool]:
    b = ctx.filter.breakdown
    assert b is not None and frame.runs is not None  # (``applies``)
    item = b.items[0]
    source = bd.source_of(item.type)
    assert source is not None
    return source(ctx, item, frame.row_key), item.normalize_url


def _code_matrix(raw: bd.RawColumn, frame: Frame, n_codes: int) -> np.ndarray | None:
    """Rows per (bucket, code), the missing value last, when that matrix is cheaper than two
    passes: a few codes (counted by comparisons) or fewer cells than rows (engine/breakdown.py's
    ``code_counts``, as its one-property grouping does); else None."""
    assert frame.runs is not None
    if not frame.runs:  # no rows
        return np.zeros((frame.n_buckets, n_codes), dtype=np.int64)
    if n_codes <= bd.SMALL_DICTIONARY or n_codes * frame.n_buckets <= len(raw.codes):
        return bd.code_counts(raw.codes, frame.runs, n_codes)
    return None


def _totals(ctx: QueryContext, frame: Frame, *, cells: bool = True) -> _Totals:
    """The frame's rows per label; ``cells``: the kept values' cells are asked next (so count
    the front's rows per bucket in the same pass)."""
    raw, normalize = _raw(ctx, frame)
    lut, labels, one_to_one, null_id = label_facts(raw, normalize)
    matrix = _code_matrix(raw, frame, len(lut))
    front = None
    if matrix is not None:
        per_code = matrix.sum(axis=0)
    else:
        assert frame.runs is not None  # (``applies``)
        b = ctx.filter.breakdown
        assert b is not None
        size = front_size(len(lut) - 1, len(raw.codes), frame.n_buckets, ctx.display.breakdown_limit or b.limit) if cells else 0
        if size:
            front = front_counts(raw.codes, frame.runs, len(lut) - 1, frame.n_buckets, size, ctx.limits.threads)
            per_code = front.totals
        else:
            per_slot = code_totals(raw.codes, len(lut), ctx.limits.threads)
            per_code = np.concatenate((per_slot[1:], per_slot[:1]))  # in the look-up table's order
    label_totals = per_code if one_to_one else np.bincount(lut, weights=per_code, minlength=len(labels)).astype(np.int64)
    n_present = int(np.count_nonzero(label_totals))
    blockwise.check_cells(ctx, n_present, frame.n_buckets)
    return _Totals(raw, lut, labels, one_to_one, null_id, label_totals, n_present, matrix, front)


def _in_front(lut: np.ndarray, one_to_one: bool, n_labels: int, kept_labels: np.ndarray, front: int) -> bool:
    """Whether every code of the kept labels lies below ``front`` or is the missing value."""
    n_codes = len(lut) - 1
    if one_to_one:  # label id = look-up slot
        return bool(((kept_labels < front) | (kept_labels == n_codes)).all())
    kept = np.zeros(n_labels, dtype=bool)
    kept[kept_labels] = True
    return not bool(kept[lut[front:n_codes]].any())


def _front_cells(frame: Frame, front: FrontCounts, lut: np.ndarray, one_to_one: bool, n_labels: int,
                 kept_labels: np.ndarray) -> np.ndarray | None:
    """``_cells`` from the front's matrix when every code of a kept label lies in the front (or
    is the missing value); else None. Other: each bucket's rows minus the kept ones."""
    k, n_codes = len(kept_labels), len(lut) - 1
    if not _in_front(lut, one_to_one, n_labels, kept_labels, front.front):
        return None
    cells = np.empty((k + 1, frame.n_buckets), dtype=np.int64)
    if one_to_one:  # label id = look-up slot
        cells[:k] = front.matrix[:, np.where(kept_labels == n_codes, front.front, kept_labels)].T
    else:
        label_slot = np.full(n_labels, k, dtype=np.intp)
        label_slot[kept_labels] = np.arange(k, dtype=np.intp)
        col_slot = label_slot[np.append(lut[:front.front], lut[n_codes])]  # each front column's slot
        key = (np.arange(frame.n_buckets, dtype=np.intp)[:, None] * (k + 1) + col_slot).ravel()
        by_slot = np.bincount(key, weights=front.matrix.ravel(), minlength=frame.n_buckets * (k + 1))  # (exact: counts < 2**53)
        cells[:k] = by_slot.reshape(frame.n_buckets, k + 1)[:, :k].T
    assert frame.runs is not None
    rows = np.zeros(frame.n_buckets, dtype=np.int64)
    for r in frame.runs:
        rows += np.diff(r)
    cells[k] = rows - cells[:k].sum(axis=0)  # Other: every row of a value not kept
    return cells


def _cells(ctx: QueryContext, frame: Frame, raw: bd.RawColumn, lut: np.ndarray, one_to_one: bool,
           n_labels: int, kept_labels: np.ndarray, matrix: np.ndarray | None = None,
           front: FrontCounts | None = None) -> np.ndarray:
    """Rows per bucket of each kept label (in the given order), then Other's: every other row.
    ``matrix``: the frame's rows per (bucket, code) when already counted (``_code_matrix``);
    ``front``: the first codes' rows per bucket (used when the kept labels lie there)."""
    k = len(kept_labels)
    if front is not None and matrix is None:
        cells = _front_cells(frame, front, lut, one_to_one, n_labels, kept_labels)
        if cells is not None:
            return cells
    if matrix is None:
        matrix = _code_matrix(raw, frame, len(lut))
    if matrix is not None:
        cells = np.empty((k + 1, frame.n_buckets), dtype=np.int64)
        if one_to_one:
            cells[:k] = matrix[:, kept_labels].T
        else:
            label_slot = np.full(n_labels, k, dtype=np.intp)
            label_slot[kept_labels] = np.arange(k, dtype=np.intp)
            by_slot = np.zeros((k + 1, frame.n_buckets), dtype=np.int64)
            np.add.at(by_slot, label_slot[lut], matrix.T)  # (few codes or few cells)
            cells[:k] = by_slot[:k]
        cells[k] = matrix.sum(axis=1) - cells[:k].sum(axis=0)  # Other: every row of a value not kept
        return cells
    # each code's slot: its kept value's, else one of Other's OTHER_SPREAD slots
    label_slot = _spread(raw, n_labels) + k
    label_slot[kept_labels] = np.arange(k, dtype=np.intp)
    code_slot = label_slot if one_to_one else label_slot[lut]  # (one label per code: lut is the identity)
    assert frame.runs is not None
    counted = slot_cells(raw.codes, code_slot, frame.runs, k + OTHER_SPREAD, frame.n_buckets, ctx.limits.threads)
    cells = np.empty((k + 1, frame.n_buckets), dtype=np.int64)
    cells[:k] = counted[:, :k].T
    cells[k] = counted[:, k:].sum(axis=1)  # Other: every row of a value not kept
    return cells


def top_n_counts(ctx: QueryContext, frame: Frame) -> TopN:
    """The kept values and Other of a count broken down by one property (``applies``)."""
    t = _totals(ctx, frame)
    b = ctx.filter.breakdown
    assert b is not None
    ids = groups_to_rank(t, ctx.display.breakdown_limit or b.limit)
    values = _Labels(t.labels, ids)
    keep, _ = bd.rank_query(ctx, values, t.kinds(ids), t.label_totals[ids].astype(np.float64))
    cells = _cells(ctx, frame, t.raw, t.lut, t.one_to_one, len(t.labels), ids[np.asarray(keep, dtype=np.intp)],
                   t.matrix, t.front)
    kept_values = [values[g] for g in keep]
    has_other = t.n_present > len(keep)  # a group not kept (``ids`` may leave some out)
    if has_other:
        kept_values.append(bd.other_value(b.multi, len(b.items)))
    return TopN(kept_values, cells[:len(kept_values)], has_other)


__all__ = ["TopN", "applies", "top_n_counts"]
