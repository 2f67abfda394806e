"""Breakdowns with more (value × bucket) cells than fit in memory at once, evaluated in blocks.

A breakdown by a high-cardinality property (``$session_id``, ``distinct_id``, URLs) over many
buckets can have billions of cells although the answer is the top 25 values and "Other". PostHog
ranks values after aggregating them; so do we, without holding the whole matrix: the fine groups
are cut into blocks of at most ``block_cells`` cells, each block's rows form a small frame and
its math runs as for any breakdown (maths are per group, so a block needs no other block's
rows). Pass one keeps each block's non-zero cells and the per-value totals the ranking needs;
pass two folds the kept values and "Other" out of those cells (or, when the non-zero cells
themselves would be too many, recomputes the blocks).

The answer equals the one-matrix path's: the same values per cell, and Other summed exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from ..errors import ValidationError
from .context import Frame, QueryContext
from .exactsum import ExactSums, split_sums

BLOCK_CELLS = 4_000_000
"""Cells per block (32 MB of float64): small enough to stay in memory, big enough that the
per-block overhead is noise. Also capped by ``Limits.max_cells``."""
KEPT_CELLS_FACTOR = 4
"""Non-zero cells kept between the passes, in blocks' worth; beyond that pass two recomputes."""

Compute = Callable[[Frame], np.ndarray]


def block_cells(ctx: QueryContext) -> int:
    return min(BLOCK_CELLS, ctx.limits.max_cells)


def check_cells(ctx: QueryContext, n_groups: int, n_buckets: int) -> None:
    """Refuse a breakdown of more (value × bucket) cells than ``Limits.max_breakdown_cells``."""
    if n_groups * n_buckets > ctx.limits.max_breakdown_cells:
        raise ValidationError(
            ("breakdown",),
            f"{n_groups} breakdown values × {n_buckets} buckets exceed "
            f"max_breakdown_cells={ctx.limits.max_breakdown_cells}; use a coarser interval, a shorter range "
            "or a property with fewer values",
        )


def needed(ctx: QueryContext, frame: Frame) -> bool:
    """Whether the frame's (group × bucket) matrix is over one block (and within the limits)."""
    check_cells(ctx, frame.n_groups, frame.n_buckets)
    return frame.n_groups * frame.n_buckets > block_cells(ctx)


def _blocks(frame: Frame, compute: Compute, size: int) -> Iterator[tuple[int, np.ndarray]]:
    """(first fine group, values of the block's groups × buckets) for every block with rows."""
    group = frame.group.astype(np.int64)
    block = group // size
    order = np.argsort(block, kind="stable")  # rows keep their order within a block
    bounds = np.searchsorted(block[order], np.arange((frame.n_groups + size - 1) // size + 1))
    for k in range(len(bounds) - 1):
        a, b = int(bounds[k]), int(bounds[k + 1])
        if a == b:
            continue
        lo = k * size
        n = min(size, frame.n_groups - lo)
        sub = frame.subset(order[a:b], (group[order[a:b]] - lo).astype(np.int32), n)
        vals = np.asarray(compute(sub), dtype=np.float64).reshape(n, frame.n_buckets)
        yield lo, vals


def evaluate(
    ctx: QueryContext, frame: Frame, compute: Compute, fine_to_final: np.ndarray, n_final: int,
    rank: Callable[[np.ndarray], tuple[list[int], np.ndarray]],
) -> tuple[list[int], np.ndarray, np.ndarray | None]:
    """(kept final groups in display order, their values (kept × buckets), Other's values or
    None) for ``compute`` over ``frame``'s fine groups folded into final groups.

    ``rank`` maps the per-final-group totals to (kept, folded into Other), as for one matrix."""
    size = max(1, block_cells(ctx) // max(frame.n_buckets, 1))
    n_buckets = frame.n_buckets
    totals = np.zeros(n_final, dtype=np.float64)
    kept: list[tuple[int, np.ndarray, np.ndarray]] | None = []
    budget = KEPT_CELLS_FACTOR * block_cells(ctx)
    for lo, vals in _blocks(frame, compute, size):
        np.add.at(totals, fine_to_final[lo:lo + len(vals)], vals.sum(axis=1))
        if kept is not None:
            nz = np.flatnonzero(vals)
            budget -= len(nz)
            kept = [*kept, (lo, nz, vals.reshape(-1)[nz])] if budget >= 0 else None
    keep, other = rank(totals)
    slot = np.full(n_final, -1, dtype=np.int64)
    slot[np.asarray(keep, dtype=np.int64)] = np.arange(len(keep))
    slot[np.asarray(other, dtype=np.int64)] = len(keep)
    acc = np.zeros((len(keep) + 1, n_buckets), dtype=np.float64)
    folded = ExactSums.empty(n_buckets)  # Other, summed exactly: independent of the blocks' order
    if kept is not None:
        for lo, nz, v in kept:
            fine = lo + nz // n_buckets
            s = slot[fine_to_final[fine]]
            np.add.at(acc, (s, nz % n_buckets), v)
            into_other = s == len(keep)
            folded = folded.merge(split_sums(nz[into_other] % n_buckets, v[into_other], n_buckets).exact())
    else:
        for lo, vals in _blocks(frame, compute, size):
            s = slot[fine_to_final[lo:lo + len(vals)]]
            np.add.at(acc, s, vals)
            rows = vals[s == len(keep)]
            cell = np.tile(np.arange(n_buckets, dtype=np.int64), len(rows))
            folded = folded.merge(split_sums(cell, rows.reshape(-1), n_buckets).exact())
    return keep, acc[:-1], (folded.values() if len(other) else None)


__all__ = ["BLOCK_CELLS", "check_cells", "evaluate", "needed"]
