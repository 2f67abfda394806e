"""What an ingest did with its input: rows read, rows kept, and every row it skipped, with why."""

from __future__ import annotations

import os
import sys
import warnings
from types import FrameType
from typing import Any

import attrs

from ..errors import PathElem, format_path

ERRORS_MODES = ("raise", "skip")


class IngestWarning(UserWarning):
    """Emitted when ``errors="skip"`` dropped rows, so a skip is never silent."""


@attrs.frozen
class SkippedRow:
    """One input row that ``errors="skip"`` left out.

    ``source`` is the file path, or ``events``/``persons``/``groups`` for in-memory records and
    DataFrames; ``row`` is, by ``unit``: the 1-based ``line`` of a JSON-lines or CSV file, the 0-based
    ``item`` of a JSON array file, or the 0-based ``index`` of an in-memory record; ``path`` locates
    the bad field inside the row.
    """

    source: str
    row: int
    path: tuple[PathElem, ...]
    reason: str
    unit: str = "index"

    def __str__(self) -> str:
        where = f"{self.source}[{self.row}]" if self.unit == "index" else f"{self.source}, {self.unit} {self.row}"
        return f"{where}: {format_path(self.path)}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "row": self.row, "unit": self.unit, "path": list(self.path), "reason": self.reason}


@attrs.frozen
class IngestReport:
    """Counts per kind of record (``events``, ``persons``, ``groups``) and every skipped row."""

    read: dict[str, int] = attrs.field(factory=dict)
    kept: dict[str, int] = attrs.field(factory=dict)
    skipped: tuple[SkippedRow, ...] = ()

    def __str__(self) -> str:
        counts = ", ".join(f"{k}: {self.kept.get(k, 0):,} of {n:,} kept" for k, n in self.read.items() if n)
        lines = [f"ingest: {counts or 'no rows'}; {len(self.skipped):,} skipped"]
        lines += [f"  {s}" for s in self.skipped]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"read": dict(self.read), "kept": dict(self.kept), "skipped": [s.to_dict() for s in self.skipped]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> IngestReport:
        skipped = tuple(
            SkippedRow(s["source"], s["row"], tuple(s["path"]), s["reason"], s.get("unit", "index")) for s in d.get("skipped", ())
        )
        return cls(dict(d.get("read", {})), dict(d.get("kept", {})), skipped)

    def warn(self) -> None:
        """Warn (IngestWarning), attributed to the caller's code, when rows were skipped."""
        if self.skipped:
            first = self.skipped[0]
            more = f" (and {len(self.skipped) - 1:,} more)" if len(self.skipped) > 1 else ""
            warnings.warn(
                f"skipped {len(self.skipped):,} malformed row(s): {first}{more}; see store.ingest_report",
                IngestWarning,
                stacklevel=user_stacklevel(),
            )


def user_stacklevel() -> int:
    """The stacklevel of the first frame outside trendcalc (where the user called us)."""
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    level = 1
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(pkg + os.sep):
        level += 1
        frame = frame.f_back
    return level
