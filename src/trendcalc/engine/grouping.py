"""Rows grouped by breakdown value: the record the breakdown sources build and the maths read."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

NORMAL, NULL, OTHER = 0, 1, 2
@attrs.frozen
class Grouping:
    """Rows grouped by breakdown value.

    ``codes``: fine group per row (0..n_fine-1); ``fine_to_final``: the final group of each fine
    group; ``values``/``kinds``: per final group (str, or tuple of str for multi-breakdowns);
    ``take``: when a row counts in several groups (a person in several cohorts), the positions
    into the query's rows that ``codes`` refer to. A one-property grouping may leave ``codes``
    to be gathered on demand (``row_codes``) from the rows' dictionary codes ``raw`` through
    ``composite``, and carry the rows per (fine group, bucket) it counted on the way
    (``cell_counts``, flat)."""

    codes: np.ndarray | None
    fine_to_final: np.ndarray
    values: tuple[Any, ...]
    kinds: np.ndarray
    take: np.ndarray | None = None
    raw: np.ndarray | None = None
    composite: np.ndarray | None = None
    cell_counts: np.ndarray | None = None
    fine_keys: tuple[np.ndarray, ...] | None = None
    """With a histogram among the breakdown items: per item, the number (histograms; NaN: the
    null marker's) or the label (other items) of each fine group, by which a partitioned store
    merges a non-additive math's states before folding them into the bins."""

    @property
    def n_fine(self) -> int:
        return len(self.fine_to_final)

    def row_codes(self) -> np.ndarray:
        """Fine group per row."""
        if self.codes is not None:
            return self.codes
        if self.composite is None or self.raw is None:
            raise ValueError("a Grouping needs either codes or composite and raw")
        return self.composite[self.raw]

    def fold(self, fine_values: np.ndarray) -> np.ndarray:
        """Per-final-group values: the sum of their fine groups' values (identity when 1:1)."""
        if len(self.fine_to_final) == len(self.values) and np.array_equal(self.fine_to_final, np.arange(len(self.values))):
            return fine_values
        out = np.zeros((len(self.values),) + fine_values.shape[1:], dtype=np.float64)
        np.add.at(out, self.fine_to_final, fine_values)
        return out
