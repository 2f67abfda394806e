"""Vectorised reductions of row values into (group, bucket) cells."""

from __future__ import annotations

import numpy as np


def count(cell: np.ndarray, n_cells: int) -> np.ndarray:
    """Rows per cell."""
    return np.bincount(cell, minlength=n_cells).astype(np.float64)


def count_distinct(cell: np.ndarray, key: np.ndarray, n_keys: int, n_cells: int) -> np.ndarray:
    """Distinct ``key`` values per cell (sort-based: unique over combined int64 ids)."""
    if len(cell) == 0:
        return np.zeros(n_cells, dtype=np.float64)
    combined = np.unique(cell.astype(np.int64) * int(n_keys) + key.astype(np.int64))
    return np.bincount(combined // int(n_keys), minlength=n_cells).astype(np.float64)
