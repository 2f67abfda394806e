"""Exact sums of floats per cell: the correctly rounded value of the mathematical sum.

A float sum added row by row depends on the order of the rows in its last bits, so the same
events split into parts (person partitions, blocks) could give a different ``sum``/``avg``.
The engine therefore sums exactly and rounds once: the result is a function of the multiset of
values alone — the same whatever the order, the split or the grouping of the rows — and equals
``math.fsum`` of the same values.

``split_sums`` is the fast path over rows: an error-free extraction (Rump, Ogita and Oishi's
ExtractVector) splits every value into a part on a coarse grid, whose per-cell sum is exact in
float64 in any order, and a remainder, repeated until no remainder is left — usually two or
three vectorised passes. ``ExactSums`` holds sums as integer *limbs* of ``LIMB`` bits on a
lattice common to all stores (bit ``ORIGIN`` is below every float64 bit): the partial state of
a sum on a partitioned store, whose partitions' limbs add as integers (``merge``).
Infinities are counted apart (+inf and -inf together are NaN, as in any float sum); NaN values
are skipped (the callers' NULL).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs
import numpy as np

LIMB = 24
"""Bits per limb: a limb contribution is below 2^24, so float64 ``bincount`` adds up to 2^29 of
them per slot exactly (and int64 adds any realistic number)."""
ORIGIN = -1128
"""The lattice's lowest bit (a multiple of ``LIMB``): below every float64 mantissa bit
(a subnormal's integer mantissa ends at bit -1126)."""
_MASK = (1 << LIMB) - 1
_FLOAT_EXACT_ROWS = 1 << 28
"""Rows (or total multiplicity) per float64 ``bincount`` pass: 2^28 · 2^24 < 2^53 keeps it exact."""


@attrs.frozen
class ExactSums:
    """Per-cell exact sums: ``limbs[c, k]`` is the integer coefficient of 2^(ORIGIN + LIMB·(lo + k));
    ``pos_inf``/``neg_inf`` count the infinite values of each cell."""

    limbs: np.ndarray
    lo: int
    pos_inf: np.ndarray
    neg_inf: np.ndarray

    @property
    def n_cells(self) -> int:
        return len(self.pos_inf)

    @classmethod
    def empty(cls, n_cells: int) -> ExactSums:
        z = np.zeros(n_cells, dtype=np.int64)
        return cls(np.zeros((n_cells, 0), dtype=np.int64), 0, z, z.copy())

    @classmethod
    def of(cls, cell: np.ndarray, values: np.ndarray, n_cells: int, counts: np.ndarray | None = None) -> ExactSums:
        """The exact sums per cell of ``values`` (NaN skipped), each counted ``counts`` times."""
        values = np.asarray(values, dtype=np.float64)
        cell = np.asarray(cell, dtype=np.int64)
        mult = np.ones(len(values), dtype=np.int64) if counts is None else np.asarray(counts, dtype=np.int64)
        inf = np.isinf(values)
        pos_inf = np.bincount(cell[inf & (values > 0)], weights=mult[inf & (values > 0)], minlength=n_cells)
        neg_inf = np.bincount(cell[inf & (values < 0)], weights=mult[inf & (values < 0)], minlength=n_cells)
        ok = np.isfinite(values) & (values != 0)
        if not ok.all():
            cell, values, mult = cell[ok], values[ok], mult[ok]
        if len(values) == 0:
            out = cls.empty(n_cells)
            return attrs.evolve(out, pos_inf=pos_inf.astype(np.int64), neg_inf=neg_inf.astype(np.int64))
        m, e = np.frexp(values)
        mant = (m * 2.0**53).astype(np.int64)  # exact: a float64 mantissa has 53 bits
        exp = e.astype(np.int64) - 53 - ORIGIN  # value = mant · 2^(ORIGIN + exp), exp >= 0
        lo = int(exp.min()) // LIMB
        hi = (int(exp.max()) + 53) // LIMB + 1
        n_limbs = hi - lo + 1
        shift = exp - lo * LIMB
        q, r = shift // LIMB, shift % LIMB
        a = np.abs(mant)
        sign = np.where(mant < 0, -1, 1) * mult
        limbs = np.zeros((n_cells, n_limbs), dtype=np.int64)
        base = cell * n_limbs + q
        big = counts is not None and int(np.abs(mult).sum()) >= _FLOAT_EXACT_ROWS
        for j, piece in enumerate((a & _MASK, (a >> LIMB) & _MASK, a >> (2 * LIMB))):
            y = piece << r  # < 2^47
            for part, at in ((y & _MASK, base + j), (y >> LIMB, base + j + 1)):
                _accumulate(limbs.reshape(-1), at, part * sign, big)
        return cls(limbs, lo, pos_inf.astype(np.int64), neg_inf.astype(np.int64))

    def merge(self, other: ExactSums, cells: np.ndarray | None = None, n_cells: int | None = None) -> ExactSums:
        """These sums plus ``other``'s, whose cell ``i`` is cell ``cells[i]`` here (identity
        when None); ``n_cells`` grows the result."""
        n = max(self.n_cells, n_cells or 0)
        at = np.arange(other.n_cells) if cells is None else np.asarray(cells, dtype=np.int64)
        lo = min(self.lo, other.lo) if self.limbs.shape[1] and other.limbs.shape[1] else (
            self.lo if self.limbs.shape[1] else other.lo)
        hi = max(self.lo + self.limbs.shape[1], other.lo + other.limbs.shape[1])
        limbs = np.zeros((n, max(hi - lo, 0)), dtype=np.int64)
        if self.limbs.shape[1]:
            limbs[:self.n_cells, self.lo - lo:self.lo - lo + self.limbs.shape[1]] += self.limbs
        if other.limbs.shape[1]:
            np.add.at(limbs, (at[:, None], np.arange(other.lo - lo, other.lo - lo + other.limbs.shape[1])[None, :]),
                      other.limbs)
        pos = np.zeros(n, dtype=np.int64)
        neg = np.zeros(n, dtype=np.int64)
        pos[:self.n_cells] += self.pos_inf
        neg[:self.n_cells] += self.neg_inf
        np.add.at(pos, at, other.pos_inf)
        np.add.at(neg, at, other.neg_inf)
        return ExactSums(limbs, lo, pos, neg)

    def values(self) -> np.ndarray:
        """The correctly rounded sum of each cell (0.0 for a cell without finite non-zero
        values; ±inf beyond the float range or with infinite values; NaN with both infinities)."""
        out = np.zeros(self.n_cells, dtype=np.float64)
        if self.limbs.shape[1]:
            nz = np.flatnonzero(np.any(self.limbs != 0, axis=1))
            if len(nz):
                out[nz] = _round(self.limbs[nz], ORIGIN + LIMB * self.lo)
        out[self.pos_inf > 0] = np.inf
        out[self.neg_inf > 0] = -np.inf
        out[(self.pos_inf > 0) & (self.neg_inf > 0)] = np.nan
        return out


def _accumulate(flat: np.ndarray, at: np.ndarray, weights: np.ndarray, big: bool) -> None:
    """``flat[at] += weights`` for integer weights below 2^24 · multiplicity, exactly."""
    if big:
        np.add.at(flat, at, weights)
        return
    for s in range(0, len(at), _FLOAT_EXACT_ROWS):  # float64 bincount is exact below 2^53 per slot
        part = np.bincount(at[s:s + _FLOAT_EXACT_ROWS], weights=weights[s:s + _FLOAT_EXACT_ROWS].astype(np.float64),
                           minlength=len(flat))
        flat += part.astype(np.int64)


def _round(limbs: np.ndarray, base_exp: int) -> np.ndarray:
    """Each row's exact integer Σ limbs[k]·2^(LIMB·k), times 2^base_exp, rounded to a float
    (Python's int true division rounds correctly; a loop over cells, not rows)."""
    total = limbs[:, -1].astype(object)
    for k in range(limbs.shape[1] - 2, -1, -1):
        total = total * (1 << LIMB) + limbs[:, k].astype(object)
    return np.array([_scaled(int(t), base_exp) for t in total.tolist()], dtype=np.float64)


def _scaled(t: int, base_exp: int) -> float:
    try:
        return float(t << base_exp) if base_exp >= 0 else t / (1 << -base_exp)
    except OverflowError:
        return float("inf") if t > 0 else float("-inf")


@attrs.frozen
class SplitSums:
    """Per-cell exact float sums ``parts`` (each array's per-cell value is exact; their sum is
    the cell's exact sum) and the counts of infinite values per cell."""

    parts: list[np.ndarray]
    pos_inf: np.ndarray
    neg_inf: np.ndarray
    wide: ExactSums | None = None  # values too large for a float σ, summed as limbs

    def values(self) -> np.ndarray:
        """Correctly rounded per-cell sums (see ``ExactSums.values`` for the special values)."""
        if self.wide is not None:
            return self.exact().values()
        n = len(self.pos_inf)
        nonzero = [p for p in self.parts if p.any()]
        if not nonzero:
            out = np.zeros(n, dtype=np.float64)
        elif len(nonzero) == 1:
            out = nonzero[0] + 0.0  # the exact sum itself; -0.0 → 0.0
        else:
            stack = np.stack(nonzero, axis=1)
            several = np.count_nonzero(stack, axis=1) > 1
            out = stack.sum(axis=1) + 0.0  # exact where at most one part is non-zero
            idx = np.flatnonzero(several)
            if len(idx):
                out[idx] = [_fsum(row) for row in stack[idx].tolist()]  # a loop over cells, not rows
        out[self.pos_inf > 0] = np.inf
        out[self.neg_inf > 0] = -np.inf
        out[(self.pos_inf > 0) & (self.neg_inf > 0)] = np.nan
        return out

    def exact(self) -> ExactSums:
        """The same sums as integer limbs (to merge with other stores' sums)."""
        n = len(self.pos_inf)
        out = ExactSums.empty(n)
        if self.parts:
            cells = np.tile(np.arange(n, dtype=np.int64), len(self.parts))
            out = ExactSums.of(cells, np.concatenate(self.parts), n)
        if self.wide is not None:
            out = out.merge(self.wide)
        return attrs.evolve(out, pos_inf=self.pos_inf, neg_inf=self.neg_inf)


def _fsum(row: list[float]) -> float:
    import math
    from fractions import Fraction

    try:
        return math.fsum(row)
    except OverflowError:  # an intermediate or the exact sum is beyond the float range
        total = sum((Fraction(x) for x in row), Fraction(0))
        try:
            return float(total)
        except OverflowError:
            return float("inf") if total > 0 else float("-inf")


def split_sums(cell: np.ndarray, values: np.ndarray, n_cells: int,
               add: Callable[[np.ndarray, np.ndarray, int], np.ndarray] | None = None) -> SplitSums:
    """Per-cell sums of ``values`` (NaN skipped) as a few exact float parts.

    Each pass takes σ = 2^M ≥ 2·n·max|v| and splits v = q + r with q = (σ + v) − σ, r = v − q,
    both exact; every q is a multiple of 2^(M−53) and Σ|q| < σ, so any order of adding the q of
    a cell is exact. The remainders (|r| ≤ 2^(M−53)) go to the next pass. ``add(cell, q,
    n_cells)`` is the per-cell float sum to use (default ``np.bincount``)."""
    values = np.asarray(values, dtype=np.float64)
    add = add or (lambda c, w, n: np.bincount(c, weights=w, minlength=n))
    finite = np.isfinite(values)
    pos_inf = np.zeros(n_cells, dtype=np.int64)
    neg_inf = np.zeros(n_cells, dtype=np.int64)
    if not finite.all():
        inf = np.isinf(values)
        pos_inf = np.bincount(cell[inf & (values > 0)], minlength=n_cells).astype(np.int64)
        neg_inf = np.bincount(cell[inf & (values < 0)], minlength=n_cells).astype(np.int64)
        values = np.where(finite, values, 0.0)
    parts: list[np.ndarray] = []
    n = max(len(values), 1)
    rest = values
    while len(rest):
        top = max(float(rest.max()), -float(rest.min()))
        if top == 0.0:
            break
        bound = 2.0 * n * top
        _, e = np.frexp(bound)  # 2·n·top < 2^e
        if not np.isfinite(bound) or e > 1023:  # σ would overflow: sum these values limb by limb instead
            return SplitSums(parts, pos_inf, neg_inf, ExactSums.of(cell, rest, n_cells))
        sigma = 2.0**int(e)
        q = np.add(rest, sigma)
        np.subtract(q, sigma, out=q)
        parts.append(add(cell, q, n_cells))
        np.subtract(rest, q, out=q)  # q is now the remainder
        left = np.count_nonzero(q)
        if left == 0:
            break
        if left * 2 < len(q):  # later passes read only the remainders
            keep = q != 0
            cell, rest = cell[keep], q[keep]
        else:
            rest = q
    return SplitSums(parts, pos_inf, neg_inf)


def column_sums(matrix: np.ndarray) -> np.ndarray:
    """Exact per-column sums of a (rows × columns) float matrix."""
    n_columns = matrix.shape[1]
    cell = np.tile(np.arange(n_columns, dtype=np.int64), matrix.shape[0])
    return split_sums(cell, np.ascontiguousarray(matrix, dtype=np.float64).reshape(-1), n_columns).values()


def exact_sum(values: Sequence[float]) -> float:
    """The correctly rounded sum of ``values`` (one cell)."""
    v = np.asarray(values, dtype=np.float64)
    return float(split_sums(np.zeros(len(v), np.int64), v, 1).values()[0])


__all__ = ["ExactSums", "SplitSums", "column_sums", "exact_sum", "split_sums"]
