"""The time axis of a query: the date range, event bounds and buckets (spec §1–2).

Dates are resolved in the project timezone exactly as PostHog's QueryDateRange does; bucket
starts are computed in local wall-clock time (day/week/month at local midnight, hours as
consecutive absolute hours aligned to local hour starts, so DST days have 23 or 25 hours) and
then converted to UTC µs, where rows are binned with ``searchsorted``.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable

import attrs
import numpy as np
from dateutil import parser as du_parser
from dateutil.relativedelta import relativedelta

from ..errors import ValidationError
from ..recent import Recent
from ..timeutil import UTC, datetime_to_us

_RELATIVE = re.compile(r"-?(?P<number>[0-9]+)?(?P<kind>[hdwmqysHDWMQY])(?P<position>Start|End)?")  # PostHog's kinds only
STEP = {
    "minute": relativedelta(minutes=1),
    "hour": relativedelta(hours=1),
    "day": relativedelta(days=1),
    "week": relativedelta(weeks=1),
    "month": relativedelta(months=1),
}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
EN_DASH = "\u2013"


def delta_mapping(kind: str, number: str | None, position: str | None, *, human_friendly: bool = False) -> dict:
    """The relativedelta arguments of one relative-date token (posthog.utils get_delta_mapping_for)."""
    n = int(number) if number else None
    m: dict = {}
    if kind == "h":
        if n:
            m["hours"] = n
        if position == "Start":
            m.update(minute=0, second=0, microsecond=0)
        elif position == "End":
            m.update(minute=59, second=59, microsecond=999999)
    elif kind == "d":
        if n:
            m["days"] = n
        if position == "Start":
            m.update(hour=0, minute=0, second=0, microsecond=0)
        elif position == "End":
            m.update(hour=23, minute=59, second=59, microsecond=999999)
    elif kind == "w":
        if n:
            m["weeks"] = n
    elif kind == "m":
        if n:
            if human_friendly:
                m["weeks"] = 4
            else:
                m["months"] = n
        if position == "Start":
            m["day"] = 1
        elif position == "End":
            m["day"] = 31
    elif kind == "q":
        if n:
            m["weeks"] = 13 * n
    elif kind == "y":
        if n:
            if human_friendly:
                m["weeks"] = 52
            else:
                m["years"] = n
        if position == "Start":
            m.update(month=1, day=1)
        elif position == "End":
            m["day"] = 31
    elif kind == "M":
        if n:
            m["minutes"] = n
    elif kind == "s":
        if n:
            m["seconds"] = n
    return m


_DELTAS: Recent[tuple[dict | None, relativedelta | dt.timedelta | None]] = Recent(256)
_ABSOLUTE: Recent[tuple[dt.datetime | None]] = Recent(256)
"""What a date text means apart from the clock, per text: a live dashboard (``now=None``) asks the
same ``"-30d"`` with a new ``now`` at every call, which no range memo serves, and matching the
text, failing to read it as an absolute date (two parsers raising) and building its delta cost
~40 µs a query."""


_PLAIN = frozenset({"weeks", "days", "hours", "minutes", "seconds"})


def _delta_of(mapping: dict) -> relativedelta | dt.timedelta:
    """The delta of a mapping: a ``timedelta`` when it only counts weeks, days, hours, minutes or
    seconds (wall-clock arithmetic on an aware datetime, as ``relativedelta``'s, and ~10× faster),
    else a ``relativedelta`` (months, years, absolute fields)."""
    if mapping.keys() <= _PLAIN:
        return dt.timedelta(**mapping)
    return relativedelta(**mapping)


def parse_relative(text: str, now: dt.datetime, *, human_friendly: bool = False) -> tuple[dt.datetime, dict]:
    """``now`` minus the first relative token found in ``text``; no match → (now, {})."""
    key = (text, human_friendly)
    hit = _DELTAS.find(key)
    if hit is None:
        match = _RELATIVE.search(text)
        if match:
            found = delta_mapping(match["kind"], match["number"], match["position"], human_friendly=human_friendly)
            hit = (found, _delta_of(found))
        else:
            hit = (None, None)
        _DELTAS.put(key, hit)
    mapping, delta = hit
    if mapping is None or delta is None:
        return now, {}
    return now - delta, dict(mapping)  # (a copy: the caller's to keep)


def parse_absolute(text: str, tz: dt.tzinfo) -> dt.datetime | None:
    """An absolute date/datetime in ``tz`` (naive = local), or None when ``text`` is not one
    (a function of the text and zone: remembered per pair)."""
    key = (text, tz)
    hit = _ABSOLUTE.find(key)
    if hit is None:
        hit = (_parse_absolute(text, tz),)  # (an exception is raised, not remembered)
        _ABSOLUTE.put(key, hit)
    return hit[0]


def _parse_absolute(text: str, tz: dt.tzinfo) -> dt.datetime | None:
    try:
        d = du_parser.isoparse(text)
    except (ValueError, OverflowError):
        try:
            d = dt.datetime.strptime(text, "%Y-%m-%d")
        except ValueError:
            return None
    if d.tzinfo is None:
        return d.replace(tzinfo=tz)
    return d.astimezone(tz)


@attrs.frozen
class ParsedDate:
    """A resolved date: ``mapping`` is None for absolute values, else the relative delta."""

    value: dt.datetime
    mapping: dict | None

    @property
    def relative(self) -> bool:
        return self.mapping is not None


def parse_date(text: str, now: dt.datetime, tz: dt.tzinfo, path: tuple) -> ParsedDate:
    """Absolute first (isoparse, then %Y-%m-%d); otherwise relative (which never fails)."""
    try:
        d = parse_absolute(text, tz)
    except (OverflowError, ValueError) as exc:  # e.g. 9999-12-31T23:59:59-14:00 in UTC+1
        raise ValidationError(path, f"date {text!r} out of range") from exc
    if d is not None:
        if not 1900 <= d.year <= 2299:
            raise ValidationError(path, f"date {text!r} outside years 1900..2299")
        return ParsedDate(d, None)
    try:
        value, mapping = parse_relative(text, now)
    except (OverflowError, ValueError) as exc:
        raise ValidationError(path, f"relative date {text!r} out of range") from exc
    if not 1900 <= value.year <= 2299:
        raise ValidationError(path, f"relative date {text!r} reaches outside years 1900..2299")
    return ParsedDate(value, mapping)


def start_of_interval(d: dt.datetime, interval: str, week_start_day: int) -> dt.datetime:
    """Local wall-clock start of the interval containing ``d``."""
    if interval == "minute":
        return d.replace(second=0, microsecond=0)
    if interval == "hour":
        return d.replace(minute=0, second=0, microsecond=0)
    day = d.replace(hour=0, minute=0, second=0, microsecond=0)
    if interval == "day":
        return day
    if interval == "week":
        # weekday(): Monday=0. Sunday-start weeks go back (weekday+1)%7 days, Monday-start weekday days.
        back = d.weekday() if week_start_day == 1 else (d.weekday() + 1) % 7
        return day - dt.timedelta(days=back)
    return day.replace(day=1)


def _resolve_local(d: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """A wall-clock time that is skipped by DST moves forward to the next valid instant."""
    u = d.astimezone(UTC)
    back = u.astimezone(tz)
    return back


@attrs.frozen
class DateRange:
    """The resolved [date_from, date_to] of a query in the project timezone, before bucketing."""

    date_from: dt.datetime
    date_to: dt.datetime
    from_mapping: dict | None  # None = absolute
    to_mapping: dict | None  # None = absolute or missing (see to_given)
    to_given: bool
    interval: str
    explicit: bool = False
    exact: bool = False  # exact_timerange (BoldNumber)
    _key: tuple | None = attrs.field(default=None, init=False, eq=False, repr=False)  # _range_key, once

    @property
    def from_relative(self) -> bool:
        return self.from_mapping is not None

    @property
    def tz(self) -> dt.tzinfo:
        """The project timezone the range was resolved in (``date_from`` is always aware)."""
        zone = self.date_from.tzinfo
        if zone is None:
            raise ValueError("DateRange.date_from must be timezone-aware")
        return zone


_RANGES: Recent[DateRange] = Recent(256)


def resolve_range(
    date_from: str | None,
    date_to: str | None,
    *,
    interval: str,
    now: dt.datetime,
    tz: zoneinfo.ZoneInfo,
    explicit: bool = False,
    exact: bool = False,
    earliest: Callable[[], dt.datetime] | None = None,
) -> DateRange:
    """date_from() and date_to() of QueryDateRange (spec §1.4–1.5, 1.7–1.9).

    A pure function of its arguments unless date_from is "all" (then of the data too), so recent
    ranges are reused: a dashboard asks for the same "-30d" at the same ``now`` again and again,
    and parsing dates costs more than counting a million rows' buckets. The key holds ``now``'s
    offset and ``tz`` besides the values (equal instants in other zones resolve differently)."""
    if date_from == "all":
        return _resolve_range(date_from, date_to, interval=interval, now=now, tz=tz, explicit=explicit,
                              exact=exact, earliest=earliest)
    key = (date_from, date_to, interval, now, now.utcoffset(), tz, explicit, exact)
    return _RANGES.get(key, lambda: _resolve_range(date_from, date_to, interval=interval, now=now, tz=tz,
                                                   explicit=explicit, exact=exact))


def _resolve_range(
    date_from: str | None,
    date_to: str | None,
    *,
    interval: str,
    now: dt.datetime,
    tz: zoneinfo.ZoneInfo,
    explicit: bool = False,
    exact: bool = False,
    earliest: Callable[[], dt.datetime] | None = None,
) -> DateRange:
    now_local = now.astimezone(tz)
    # date_from()
    if date_from == "all":
        start = (earliest() if earliest else now_local - dt.timedelta(weeks=1)).astimezone(tz)
        from_mapping: dict | None = {}
    elif date_from is None:
        start = now_local.replace(hour=0, minute=0, second=0, microsecond=0) - relativedelta(days=7)
        from_mapping = {"days": 7}
    else:
        p = parse_date(date_from, now_local, tz, ("date_from",))
        start, from_mapping = p.value, p.mapping
        if p.mapping is not None and not (interval == "minute" or exact or explicit):
            if "hours" in p.mapping:
                start = start.replace(minute=0, second=0, microsecond=0)
            else:
                start = start.replace(hour=0, minute=0, second=0, microsecond=0)
    # date_to()
    to_mapping: dict | None = None
    if date_to is None:
        end = now_local
        if exact and not explicit:
            return DateRange(start, end, from_mapping, None, False, interval, explicit, exact)
        relative_to = True
    else:
        p = parse_date(date_to, now_local, tz, ("date_to",))
        end, to_mapping = p.value, p.mapping
        relative_to = p.relative
    if not explicit:
        if interval not in ("hour", "minute"):
            end = end.replace(hour=23, minute=59, second=59, microsecond=999999)
        elif relative_to and interval == "hour":
            end = end.replace(minute=59, second=59, microsecond=999999)
        elif relative_to:
            end = end.replace(second=59, microsecond=999999)
    # date_to stays a wall-clock time (possibly one DST skips) like PostHog's datetime: instants
    # come from astimezone(UTC), which reads it forward, and compare subtracts wall clocks (§8.2)
    return DateRange(start, end, from_mapping, to_mapping, date_to is not None, interval, explicit, exact)


@attrs.frozen
class TimeAxis:
    """Buckets and event bounds of one query period.

    ``lo_us``/``hi_us``: events with ``lo_us <= ts < hi_us`` are in range (whole-second bounds).
    ``starts`` are the bucket starts (local datetimes); ``edges_us`` their UTC µs plus one more
    edge, the end of the last bucket.
    """

    range: DateRange
    interval: str
    week_start_day: int
    lo_us: int
    hi_us: int
    starts: tuple[dt.datetime, ...]
    edges_us: np.ndarray
    label_range: DateRange  # the current period's range (week labels clamp to it, even for compare)
    _memo: dict = attrs.field(factory=dict, eq=False, repr=False)  # labels/days, computed once

    def _once(self, key: str, build: Callable[[], list]) -> list:
        if key not in self._memo:
            self._memo[key] = build()
        return list(self._memo[key])

    @property
    def n_buckets(self) -> int:
        return len(self.starts)

    def bucket_of(self, ts: np.ndarray) -> np.ndarray:
        """Bucket index per timestamp (-1 outside every bucket)."""
        b = np.searchsorted(self.edges_us, ts, "right") - 1
        b[(b >= len(self.starts)) | (b < 0)] = -1
        return b.astype(np.int32, copy=False)

    def days(self) -> list[str]:
        fmt = "%Y-%m-%d %H:%M:%S" if self.interval in ("hour", "minute") else "%Y-%m-%d"
        return self._once("days", lambda: [s.strftime(fmt) for s in self.starts])

    def labels(self) -> list[str]:
        return self._once("labels", lambda: [format_label(s, self.interval, self.label_range, self.week_start_day)
                                             for s in self.starts])

    def label_range_strings(self) -> list[str]:
        """The current period's date_from and date_to in ISO format (each series' ``filter``)."""
        r = self.label_range
        return self._once("label_range_strings", lambda: [r.date_from.isoformat(), r.date_to.isoformat()])

    def action_days(self) -> list[dt.datetime]:
        """PostHog's `action.days`: aligned date_from stepping by the interval while <= date_to.

        Always the current period's (``label_range``), also on a previous-period axis (§8.4)."""
        return self._once("action_days", self._action_days)

    def action_day_strings(self) -> list[str]:
        """``action_days`` in ISO format (the ``action.days`` of every series on this axis)."""
        return self._once("action_day_strings", lambda: [d.isoformat() for d in self.action_days()])

    def _action_days(self) -> list[dt.datetime]:
        r = self.label_range
        out: list[dt.datetime] = []
        d = start_of_interval(r.date_from, r.interval, self.week_start_day)
        step = STEP[r.interval]
        while d <= r.date_to and len(out) <= len(self.starts) + 1:
            out.append(d)
            d = d + step
        return out


def lower_bound(r: DateRange, week_start_day: int) -> dt.datetime:
    """The WHERE lower bound (spec §1.6)."""
    f = r.date_from
    exact = (
        r.explicit
        or r.exact
        or (r.from_relative and r.interval in ("hour", "minute"))
        or (r.from_relative and r.interval == "day" and "hours" in (r.from_mapping or {}))
    )
    if exact:
        return f
    if r.interval == "week":
        return f.replace(hour=0, minute=0, second=0, microsecond=0)
    return start_of_interval(f, r.interval, week_start_day)


def _floor_second_us(d: dt.datetime) -> int:
    return datetime_to_us(d.astimezone(UTC).replace(microsecond=0))


def bucket_starts(r: DateRange, week_start_day: int, max_buckets: int) -> list[dt.datetime]:
    """Inclusive list of bucket starts from date_from's interval to date_to's (spec §2.3)."""
    tz = r.tz
    s = start_of_interval(r.date_from, r.interval, week_start_day)
    e = start_of_interval(r.date_to.astimezone(tz), r.interval, week_start_day)
    if r.interval in ("hour", "minute"):
        step_us = (3600 if r.interval == "hour" else 60) * 1_000_000
        s_us, e_us = datetime_to_us(s.astimezone(UTC)), datetime_to_us(e.astimezone(UTC))
        if e_us < s_us:
            return []
        n = (e_us - s_us) // step_us + 1
        _check_buckets(n, max_buckets)
        s_utc = s.astimezone(UTC)
        return [(s_utc + dt.timedelta(microseconds=k * step_us)).astimezone(tz) for k in range(n)]
    if e < s:
        return []
    if r.interval == "month":
        n = (e.year - s.year) * 12 + (e.month - s.month) + 1
    else:
        days = (e.date() - s.date()).days
        n = (days // 7 if r.interval == "week" else days) + 1
    _check_buckets(n, max_buckets)
    step = STEP[r.interval]
    out: list[dt.datetime] = []
    naive = s.replace(tzinfo=None)
    for k in range(n):
        out.append(_resolve_local((naive + step * k).replace(tzinfo=tz), tz))
    return out


def _check_buckets(n: int, max_buckets: int) -> None:
    if n > max_buckets:
        raise ValidationError(
            ("interval",),
            f"the date range has {n} buckets at this interval, more than max_buckets={max_buckets}; "
            "use a coarser interval or a shorter range",
        )


def _range_key(r: DateRange | None) -> tuple | None:
    """A hashable key of a range. Datetimes are keyed by wall time, offset *and* zone: equal
    instants in different zones bucket differently."""
    if r is None:
        return None
    if r._key is None:  # computed once per range (ranges are reused, see resolve_range)

        def part(v: object) -> object:
            if isinstance(v, dict):
                return tuple(sorted(v.items()))
            if isinstance(v, dt.datetime):
                return v.isoformat(), str(v.tzinfo)
            return v

        values = (r.date_from, r.date_to, r.from_mapping, r.to_mapping, r.to_given, r.interval, r.explicit, r.exact)
        object.__setattr__(r, "_key", tuple(part(v) for v in values))
    return r._key


# at most 250,000 buckets held in all (~90 MB of starts, edges and labels)
_AXES: Recent[TimeAxis] = Recent(256, max_weight=250_000, weight=lambda axis: axis.n_buckets)


def build_axis(r: DateRange, week_start_day: int, *, max_buckets: int, label_range: DateRange | None = None,
               single_bucket: bool = False) -> TimeAxis:
    """The TimeAxis of a resolved range; ``single_bucket`` gives one bucket over the whole range.

    An axis is immutable and a function of these arguments alone, so recent ones are reused (a
    dashboard asks for the same few ranges again and again): bucket starts, labels and days are
    then computed once."""
    key = (_range_key(r), week_start_day, max_buckets, _range_key(label_range), single_bucket)
    return _AXES.get(key, lambda: _build_axis(r, week_start_day, max_buckets=max_buckets, label_range=label_range,
                                              single_bucket=single_bucket))


def _build_axis(r: DateRange, week_start_day: int, *, max_buckets: int, label_range: DateRange | None,
                single_bucket: bool) -> TimeAxis:
    lo = _floor_second_us(lower_bound(r, week_start_day))
    hi = _floor_second_us(r.date_to) + 1  # ts <= date_to rendered to whole seconds
    if single_bucket:
        starts: list[dt.datetime] = [r.date_from]
        edges = np.array([lo, max(hi, lo)], dtype=np.int64)
    else:
        starts = bucket_starts(r, week_start_day, max_buckets)
        if starts:
            last_end = starts[-1] + STEP[r.interval] if r.interval not in ("hour", "minute") else None
            if last_end is None:
                last_end_us = datetime_to_us(starts[-1].astimezone(UTC)) + (3600 if r.interval == "hour" else 60) * 1_000_000
            else:
                last_end_us = datetime_to_us(_resolve_local(last_end.replace(tzinfo=None).replace(tzinfo=r.tz), r.tz).astimezone(UTC))
            edges = np.array([datetime_to_us(s.astimezone(UTC)) for s in starts] + [last_end_us], dtype=np.int64)
        else:
            edges = np.zeros(1, dtype=np.int64)
    edges.flags.writeable = False  # axes are shared between queries (build_axis reuses them)
    return TimeAxis(r, r.interval, week_start_day, lo, hi, tuple(starts), edges, label_range or r)


def format_label(d: dt.datetime, interval: str, r: DateRange, week_start_day: int) -> str:
    """PostHog's label for a bucket start (spec §2.6)."""
    if interval == "day":
        return f"{d.day}-{MONTHS[d.month - 1]}-{d.year}"
    if interval in ("hour", "minute"):
        return f"{d.day}-{MONTHS[d.month - 1]} {d:%H:%M}"
    if interval == "month":
        return f"{MONTHS[d.month - 1]} {d.year}"
    ws = start_of_interval(d, "week", week_start_day).date()
    we = ws + dt.timedelta(days=6)
    start = max(ws, r.date_from.date())
    end = max(min(we, r.date_to.astimezone(r.date_from.tzinfo).date()), start)
    if start == end:
        return f"{start.day}-{MONTHS[start.month - 1]}-{start.year}"
    if start.year != end.year:
        return f"{start.day}-{MONTHS[start.month - 1]}-{start.year} {EN_DASH} {end.day}-{MONTHS[end.month - 1]}-{end.year}"
    if start.month != end.month:
        return f"{start.day}-{MONTHS[start.month - 1]} {EN_DASH} {end.day}-{MONTHS[end.month - 1]}"
    return f"{start.day}{EN_DASH}{end.day} {MONTHS[start.month - 1]}"
