"""Local midnights and look-back windows: memoised (every partition and every repeat of a query
asks for the same), read-only, and keyed by the zone as well as the instants."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import numpy as np
import pytest

from trendcalc.engine.localtime import local_midnights
from trendcalc.engine.math import _windows
from trendcalc.timeutil import UTC, datetime_to_us

NY = zoneinfo.ZoneInfo("America/New_York")
HOUR_US = 3600 * 10**6


def test_local_midnights_across_dst_are_memoised_and_read_only() -> None:
    lo = datetime_to_us(dt.datetime(2024, 3, 9, 12, tzinfo=UTC))
    hi = datetime_to_us(dt.datetime(2024, 3, 11, 12, tzinfo=UTC))
    ny = local_midnights(lo, hi, NY)
    assert [dt.datetime.fromtimestamp(t / 1e6, NY).isoformat() for t in ny] == [
        f"2024-03-{d:02d}T00:00:00-0{5 if d < 11 else 4}:00" for d in range(8, 13)]
    assert local_midnights(lo + 1, hi - 1, NY) is ny  # (the same days: the memo)
    utc = local_midnights(lo, hi, UTC)
    assert np.diff(utc).tolist() == [24 * HOUR_US] * 4 and not np.array_equal(utc, ny)
    with pytest.raises(ValueError):
        ny[0] = 0


def test_look_back_windows_keep_the_starts_own_wall_clock() -> None:
    """The same instants in New York and in UTC: a week back from 2024-03-12 00:00 New York
    crosses the DST change (167 hours back); in UTC it is 168."""
    starts_ny = [dt.datetime(2024, 3, 12, tzinfo=NY), dt.datetime(2024, 3, 13, tzinfo=NY)]
    starts_utc = [s.astimezone(UTC) for s in starts_ny]
    s_ny, w_ny = _windows(starts_ny, 7)
    s_utc, w_utc = _windows(starts_utc, 7)
    assert s_ny.tolist() == s_utc.tolist()
    assert (s_ny - w_ny).tolist() == [167 * HOUR_US] * 2 and (s_utc - w_utc).tolist() == [168 * HOUR_US] * 2
    assert _windows(list(starts_ny), 7)[1] is w_ny and not w_ny.flags.writeable
