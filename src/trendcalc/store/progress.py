"""An optional tqdm progress bar for long ingests; a no-op when tqdm is absent or it is not wanted."""

from __future__ import annotations

import sys
from typing import Any

LARGE_BYTES = 64 << 20  # files above this get a bar by default
LARGE_ROWS = 500_000  # in-memory inputs above this get a bar by default


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(progress: bool | None, total: int | None, large: int, desc: str, unit: str) -> Any:
    """A bar with ``update(n)``/``close()``.

    ``progress=None`` (the default everywhere) shows one only when tqdm is installed, stderr is a
    terminal and ``total >= large``; ``True`` always (tqdm.auto picks the notebook widget), ``False``
    never.
    """
    if progress is False:
        return _NoBar()
    if progress is None:
        isatty = getattr(sys.stderr, "isatty", None)
        if not (isatty and isatty()) or total is None or total < large:
            return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        if progress:
            raise ImportError("progress=True needs tqdm: pip install 'trendcalc[progress]'") from None
        return _NoBar()
    scale = unit == "B"
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=scale, unit_divisor=1024 if scale else 1000, leave=False)
