"""The actors behind one data point of a Trends result: PostHog's InsightActorsQuery over a
TrendsQuery, run through an ActorsQuery.

Semantics follow posthog/hogql_queries/insights/trends/trends_actors_query_builder.py (which
events count for a point), insight_actors_query_runner.py (persons or groups),
actors_query_runner.py (columns, ordering, the join with the persons/groups table) and
actor_strategies.py (what an actor dict holds), with HogQLHasMorePaginator's paging:

- The point's events are the series' event/action rows passing the query's filters (test
  accounts, global and series properties, the group-key filter of group maths, sampling) inside
  the point's window, and carrying the requested breakdown value.
- The window is ``[day, day + interval)`` in the project timezone (``day`` taken literally, as
  PostHog does); the previous period shifts ``day`` back by date_from's relative delta (or by
  the gap between the periods' starts for ``compare_to`` and absolute/"all" ranges); explicit
  dates clamp the window to the query range. Total-value displays take no ``day``: the window is
  the whole range ``[date_from, date_to]``, resolved with the query's interval. Weekly/monthly
  active users look back 6/29 more days (from date_to on total-value displays).
- Actors are persons, or groups of ``$group_N`` for dau/unique_group/weekly/monthly active with a
  group type index; ``event_count`` is the number of the point's events per actor.

Everything is vectorised over rows; Python loops only over the page of returned actors (to build
their dicts) and over each dictionary or person once per store (id texts, cached).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
from dateutil import parser as du_parser
from dateutil.relativedelta import relativedelta

from ..errors import UnsupportedError, ValidationError, brief
from ..limits import Limits
from ..project import Project
from ..query.actors_request import ActorsRequest
from ..query.displays import DISPLAYS
from ..query.maths import MATH_SPECS
from ..query.model import Breakdown, BreakdownItem, Series, TrendsFilter
from ..query.suggest import suggest
from ..results import ActorsResult
from ..store import EventStore
from ..store.columns import BREAKDOWN_NULL, BREAKDOWN_OTHER
from ..store.tables import NO_TIME
from ..timeutil import MAX_YEAR, MIN_YEAR, UTC, datetime_to_us, us_to_datetime
from . import breakdown as bd
from .context import QueryContext
from .frames import date_range
from .localtime import shift_days
from .math import MathType, effective_series, math_type
from .timeaxis import STEP, DateRange, TimeAxis, resolve_range
from .trends import Query, SeriesSource, earliest_timestamp

HISTOGRAM_ALL_VALUES = '["",""]'  # PostHog's placeholder for "every bin"


# --- columns -----------------------------------------------------------------------------------


@attrs.frozen
class Column:
    """One selectable column. ``table``: read from the persons/groups table, so selecting (or
    ordering by) it joins that table and drops actors without a row there, as PostHog's INNER
    JOIN does; the other columns come from the actors' events alone."""

    name: str
    value: Callable[[ActorSet, np.ndarray], list[Any]]
    sort: Callable[[ActorSet], tuple[np.ndarray, np.ndarray]] | None
    table: bool = False
    strategies: tuple[str, ...] = ("person", "group")
    doc: str = ""


@attrs.frozen
class OrderTerm:
    column: str
    descending: bool
    key: Callable[[ActorSet], tuple[np.ndarray, np.ndarray]]  # (is NULL, sort value) per actor
    table: bool


# --- the point's window ------------------------------------------------------------------------


@attrs.frozen
class Window:
    """Events with ``lo_us <= ts < hi_us`` belong to the data point; ``range`` is the period's
    resolved date range (current or previous)."""

    lo_us: int
    hi_us: int
    start: dt.datetime
    range: DateRange
    period: str | None


def point_window(ctx: QueryContext, math: MathType, req: ActorsRequest) -> Window:
    """The data point's event window (see the module docstring)."""
    filt, tz = ctx.filter, ctx.project.tz
    total_value = DISPLAYS[filt.display].total_value
    current = resolve_range(
        filt.date_from, filt.date_to, interval=filt.interval, now=ctx.now, tz=tz,
        explicit=filt.explicit_date, earliest=lambda: earliest_timestamp(ctx, filt.series),
    )
    previous = filt.compare and req.compare == "previous"
    if previous:
        from .compare import previous_range

        rng = previous_range(ctx)  # ctx.display has no exact_timerange here (see run_actors)
    else:
        rng = current
    query_from, query_to = rng.date_from, rng.date_to
    inclusive = False
    if total_value:
        if req.day is not None:
            raise ValidationError(req.path("day"), f"a day is not allowed with the total-value display {filt.display}: its data point is the whole date range")
        lo, hi, inclusive = query_from, query_to, True
    else:
        if req.day is None:
            raise ValidationError(req.path("day"), "a day is required for a time-series display: the `days` value of the data point")
        frame = parse_day(req.day, ctx, req.path("day"))
        try:
            if previous:
                delta = None if filt.compare_to is not None else _from_delta(filt, current)
                if delta is None:  # compare_to, an absolute or "all" range: shift by the periods' gap
                    frame = query_from + (frame - current.date_from)
                else:
                    frame = frame - relativedelta(**delta)
                    if filt.interval != "hour":
                        frame = frame.replace(hour=0, minute=0, second=0, microsecond=0)
            lo, hi = frame, frame + STEP[filt.interval]
        except (OverflowError, ValueError) as exc:
            raise ValidationError(req.path("day"), f"day {brief(req.day)} is out of range for this query") from exc
        if filt.explicit_date and not math.actors_lookback_days:
            lo = max(lo, query_from)
            if query_to < hi:
                hi, inclusive = query_to, True
    if math.actors_lookback_days:
        if total_value:
            lo = hi
        try:
            lo = shift_days(lo.astimezone(tz), -math.actors_lookback_days)
        except (OverflowError, ValueError) as exc:
            raise ValidationError(req.path("day"), "the data point's look-back window is out of range") from exc
        if filt.explicit_date:
            lo, hi = max(lo, query_from), min(hi, query_to)
    for d in (lo, hi):
        try:
            year = d.astimezone(UTC).year
        except (OverflowError, ValueError):
            year = 0
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise ValidationError(req.path("day"), f"the data point's window reaches outside years {MIN_YEAR}..{MAX_YEAR}")
    lo_us = datetime_to_us(lo.astimezone(UTC))
    hi_us = datetime_to_us(hi.astimezone(UTC)) + (1 if inclusive else 0)
    return Window(lo_us, max(hi_us, lo_us), lo, rng, "previous" if previous else ("current" if filt.compare else None))


def _from_delta(filt: TrendsFilter, current: DateRange) -> dict | None:
    """QueryPreviousPeriodDateRange.date_from_delta_mappings: the relative delta of date_from
    (None for "all" and absolute dates; a missing date_from is the default -7d)."""
    if filt.date_from == "all":
        return None
    return current.from_mapping


def parse_day(day: Any, ctx: QueryContext, path: tuple) -> dt.datetime:
    """The data point's ``day``: ISO text (or any date dateutil reads), a datetime or a date;
    naive values are in the project timezone (PostHog's ``parse(day)`` then team tz)."""
    tz = ctx.project.tz
    if isinstance(day, dt.datetime):
        d = day
    elif isinstance(day, dt.date):
        d = dt.datetime(day.year, day.month, day.day)
    else:
        try:
            d = du_parser.isoparse(day)
        except (ValueError, OverflowError):
            default = ctx.now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
            try:
                d = du_parser.parse(day, default=default)
            except (ValueError, OverflowError, TypeError) as exc:
                raise ValidationError(path, f"unparsable day {brief(day)}: expected a date like '2024-03-01' or a datetime") from exc
    if d.tzinfo is None:
        d = d.replace(tzinfo=tz)
    try:
        year = d.astimezone(UTC).year
    except (OverflowError, ValueError) as exc:
        raise ValidationError(path, f"day {brief(day)} is out of range") from exc
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError(path, f"day {brief(day)} is outside years {MIN_YEAR}..{MAX_YEAR}")
    return d


def window_axis(window: Window, interval: str, week_start_day: int) -> TimeAxis:
    """A one-bucket axis over the window, so the math's frame builders select exactly it."""
    edges = np.array([window.lo_us, window.hi_us], dtype=np.int64)
    edges.flags.writeable = False
    return TimeAxis(window.range, interval, week_start_day, window.lo_us, window.hi_us, (window.start,), edges, window.range)


# --- breakdown value -----------------------------------------------------------------------------


def breakdown_mask(ctx: QueryContext, breakdown: Breakdown, lookup: Any, rows: np.ndarray, path: tuple) -> np.ndarray | None:
    """Rows carrying breakdown value ``lookup`` (None: no condition), as PostHog's
    Breakdown.get_actors_query_where_filter: "Other" keeps every row; the null marker matches
    NULL and ''; histogram bins ``[lo,hi]`` match lo <= value < hi; cohorts match members
    (``"all"`` everyone)."""
    items = breakdown.items
    if items[0].type == "cohort":
        return _cohort_mask(ctx, lookup, rows, path)
    if breakdown.multi:
        if not isinstance(lookup, tuple) or len(lookup) != len(items):
            raise ValidationError(path, f"expected a list of {len(items)} values, one per breakdown (the result's `breakdown_value`), got {brief(_jsonish(lookup))}")
        parts = list(zip(items, lookup, (path + (i,) for i in range(len(items)))))
    else:
        if isinstance(lookup, tuple):
            raise ValidationError(path, f"expected one value (the query has a single breakdown), got a list {brief(_jsonish(lookup))}")
        parts = [(items[0], lookup, path)]
    mask: np.ndarray | None = None
    for item, value, where in parts:
        m = item_mask(ctx, item, _lookup_text(value), rows, where)
        if m is not None:
            mask = m if mask is None else mask & m
    return mask


def _jsonish(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def _lookup_text(v: Any) -> str:
    """A lookup value as text, like PostHog's ``str(value)`` (so 20 is "20", 20.5 "20.5")."""
    return v if isinstance(v, str) else str(v)


def item_mask(ctx: QueryContext, item: BreakdownItem, value: str, rows: np.ndarray, path: tuple) -> np.ndarray | None:
    """One breakdown dimension equal to ``value`` over ``rows`` (None: no condition)."""
    if value == BREAKDOWN_OTHER:
        return None
    source = bd.source_of(item.type)
    if source is None:
        raise UnsupportedError(("breakdown",), f"{item.type} breakdowns are not implemented yet")
    raw = source(ctx, item, rows)
    if item.histogram_bin_count is not None:
        if value == BREAKDOWN_NULL:
            return raw.codes < 0
        if value == HISTOGRAM_ALL_VALUES:
            return None
        lo, hi = _bin(value, path)
        floats = raw.dictionary.floats()[raw.codes]
        with np.errstate(invalid="ignore"):
            return (floats >= lo) & (floats < hi)
    if value == BREAKDOWN_NULL:  # NULL or '' (no URL normalisation on this side, as upstream)
        lut, labels = bd.label_table(raw, False)
    else:
        lut, labels = bd.label_table(raw, item.normalize_url)
    return (labels == value)[lut][raw.codes]


def _bin(value: str, path: tuple) -> tuple[float, float]:
    try:
        bounds = json.loads(value)
    except ValueError:
        bounds = None
    ok = isinstance(bounds, list) and len(bounds) == 2 and all(
        isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds
    )
    if not ok:
        raise ValidationError(path, f"a histogram breakdown value is a bin like '[10.0,20.0]' (or the null marker), got {brief(value)}")
    return float(bounds[0]), float(bounds[1])


def _cohort_mask(ctx: QueryContext, lookup: Any, rows: np.ndarray, path: tuple) -> np.ndarray | None:
    from .predicates.cohorts import ALL, membership

    values = list(lookup) if isinstance(lookup, tuple) else [lookup]
    if lookup == ALL or not [v for v in values if v != ALL]:
        return None
    persons = ctx.store.person[rows]
    mask = np.zeros(len(rows), dtype=bool)
    for i, v in enumerate(values):
        if v != ALL:
            mask |= membership(ctx, v, path + ((i,) if isinstance(lookup, tuple) else ()))[persons]
    return mask


# --- actors ----------------------------------------------------------------------------------


class ActorSet:
    """The actors of a data point, one entry per actor: ``key`` (person row, or group key id),
    ``count`` (events), the rows they came from and the actor of each row (``of_row``)."""

    def __init__(self, ctx: QueryContext, strategy: str, gti: int | None, rows: np.ndarray, key: np.ndarray):
        self.ctx, self.strategy, self.gti = ctx, strategy, gti
        self.store: EventStore = ctx.store
        self.rows = rows
        self.key, self.of_row, counts = np.unique(key, return_inverse=True, return_counts=True)
        self.of_row = self.of_row.reshape(-1)
        self.count = counts.astype(np.int64)
        self._cache: dict[str, Any] = {}

    def __len__(self) -> int:
        return len(self.key)

    def keep(self, mask: np.ndarray) -> None:
        """Drop the actors where ``mask`` is False (and their rows)."""
        if mask.all():
            return
        new_index = np.cumsum(mask) - 1
        row_ok = mask[self.of_row]
        self.rows, self.of_row = self.rows[row_ok], new_index[self.of_row[row_ok]]
        self.key, self.count = self.key[mask], self.count[mask]
        self._cache.clear()

    def _memo(self, name: str, build: Callable[[], Any]) -> Any:
        if name not in self._cache:
            self._cache[name] = build()
        return self._cache[name]

    # --- per actor, vectorised -------------------------------------------------------------------
    def has_row(self) -> np.ndarray:
        """The actor has a row in the persons / groups table."""
        if self.strategy == "person":
            return ~self.store.persons.synthetic[self.key]
        return self.group_rows() >= 0

    def group_rows(self) -> np.ndarray:
        table = self.store.groups.get(self.gti)
        texts = group_key_texts(self.store, self.gti)
        if table is None:
            return np.full(len(self.key), -1, dtype=np.int64)
        lut = self.store.cached(("group_key_table_rows", self.gti),
                                lambda: np.array([table.index.get(t, -1) for t in texts.tolist()], dtype=np.int64))
        return lut[self.key]

    def last_seen(self) -> np.ndarray:
        def build() -> np.ndarray:
            out = np.full(len(self.key), np.iinfo(np.int64).min, dtype=np.int64)
            np.maximum.at(out, self.of_row, self.store.ts[self.rows])
            return out

        return self._memo("last_seen", build)

    def id_rank(self) -> np.ndarray:
        """Rank of each actor's id text (its sort position among all ids of the store)."""
        if self.strategy == "person":
            return person_id_ranks(self.store)[self.key]
        return self.key  # group key ids are ranks of the key texts already

    def created_at(self) -> np.ndarray:
        if self.strategy == "person":
            return self.store.persons.created_at[self.key]
        rows = self.group_rows()
        table = self.store.groups.get(self.gti)
        if table is None:
            return np.full(len(self.key), NO_TIME, dtype=np.int64)
        return np.where(rows >= 0, table.created_at[np.maximum(rows, 0)] if len(table) else NO_TIME, NO_TIME)

    def property_codes(self, key: str) -> tuple[np.ndarray, Any] | None:
        """(dictionary code per actor, -1 = absent; the column) of an actor property."""
        if self.strategy == "person":
            col = self.store.persons.column(key)
            return None if col is None else (col.codes[self.key], col)
        table = self.store.groups.get(self.gti)
        col = table.column(key) if table is not None else None
        if col is None:
            return None
        rows = self.group_rows()
        return np.where(rows >= 0, col.codes[np.maximum(rows, 0)], -1), col

    def distinct_ids(self, idx: np.ndarray) -> list[list[str]]:
        """The distinct_ids on the point's events of the actors at positions ``idx``."""
        sel = np.isin(self.of_row, idx)
        dids = self.store.distinct_id[self.rows[sel]].astype(np.int64)
        n = max(len(self.store.distinct_ids), 1)
        pairs = np.unique(self.of_row[sel].astype(np.int64) * n + dids)
        actor, did = pairs // n, pairs % n
        names = self.store.distinct_ids
        out = []
        for a in idx.tolist():
            lo, hi = np.searchsorted(actor, [a, a + 1])
            out.append([str(names[d]) for d in did[lo:hi].tolist()])
        return out

    # --- one page, in Python -------------------------------------------------------------------
    def ids(self, idx: np.ndarray) -> list[Any]:
        if self.strategy == "person":
            return [person_id(self.store, k) for k in self.key[idx].tolist()]
        texts = group_key_texts(self.store, self.gti)
        return [texts[k] for k in self.key[idx].tolist()]

    def dicts(self, idx: np.ndarray) -> list[dict[str, Any]]:
        """PostHog's actor dicts (actor_strategies get_actors), or the fallback for actors
        without a table row: ``{"id", "distinct_ids"}`` / ``{"id", "group_type_index"}``."""
        ids, has_row = self.ids(idx), self.has_row()[idx].tolist()
        out: list[dict[str, Any]] = []
        if self.strategy == "person":
            persons = self.store.persons
            need_events = not all(has_row)
            event_dids = self.distinct_ids(idx) if need_events else None
            order, bounds = person_distinct_id_index(self.store)
            names = self.store.distinct_ids
            for j, (k, pid, real) in enumerate(zip(self.key[idx].tolist(), ids, has_row)):
                if not real:
                    out.append({"id": pid, "distinct_ids": event_dids[j] if event_dids is not None else []})
                    continue
                out.append({
                    "id": pid,
                    "properties": _properties(persons.properties, k),
                    "created_at": _iso_utc(int(persons.created_at[k])),
                    "distinct_ids": [str(names[c]) for c in order[bounds[k]:bounds[k + 1]].tolist()],
                })
            return out
        table = self.store.groups.get(self.gti)
        rows = self.group_rows()[idx].tolist()
        for key, row in zip(ids, rows):
            if row < 0 or table is None:
                out.append({"id": key, "group_type_index": self.gti})
                continue
            props = _properties(table.properties, row)
            out.append({
                "id": key, "type": "group", "properties": props, "group_key": key, "group_type_index": self.gti,
                "created_at": _iso_utc(int(table.created_at[row])), "group_properties": copy.deepcopy(props),
            })
        return out


def _properties(columns: Mapping[str, Any], row: int) -> dict[str, Any]:
    out = {}
    for key, col in columns.items():
        code = int(col.codes[row])
        if code >= 0:
            out[key] = copy.deepcopy(col.dictionary.values[code])
    return out


def _iso_utc(us: int) -> str | None:
    if us == NO_TIME:
        return None
    return us_to_datetime(us).isoformat().replace("+00:00", "Z")


def _iso_local(us: int, tz: dt.tzinfo) -> str | None:
    if us == NO_TIME:
        return None
    return us_to_datetime(us, tz).isoformat().replace("+00:00", "Z")


def person_id(store: EventStore, k: int) -> Any:
    """A person's id: the ``id`` given for it, else ``person:<row>`` (as the person_id breakdown)."""
    pid = store.persons.ids[k]
    return pid if pid is not None else f"person:{k}"


def person_id_ranks(store: EventStore) -> np.ndarray:
    """Per person row, the rank of its id text among all persons' (computed once per store)."""

    def build() -> np.ndarray:
        texts = np.array([str(person_id(store, k)) for k in range(len(store.persons))] or [""], dtype=object)
        _, ranks = np.unique(texts, return_inverse=True)
        return ranks.reshape(-1).astype(np.int64)

    return store.cached("person_id_ranks", build)


def person_distinct_id_index(store: EventStore) -> tuple[np.ndarray, np.ndarray]:
    """(distinct_id codes grouped by person, in the order they were ingested; per person row the
    start of its group, plus the end): person k's are ``order[bounds[k]:bounds[k + 1]]``."""

    def build() -> tuple[np.ndarray, np.ndarray]:
        owner = store.persons.person_of_distinct_id
        order = np.argsort(owner, kind="stable")
        bounds = np.searchsorted(owner[order], np.arange(len(store.persons) + 1))
        return order, bounds

    return store.cached("person_distinct_id_index", build)


def group_key_texts(store: EventStore, gti: int) -> np.ndarray:
    """The sorted distinct group keys of ``$group_N`` (object array); see ``group_key_ids``."""
    return group_key_ids(store, gti)[1]


def group_key_ids(store: EventStore, gti: int) -> tuple[np.ndarray, np.ndarray]:
    """(key id per dictionary code of ``$group_N``, the missing slot last (-1); sorted key texts)."""
    col = store.column(f"$group_{gti}")
    if col is None:
        return np.full(1, -1, dtype=np.int64), np.array([], dtype=object)

    def build() -> tuple[np.ndarray, np.ndarray]:
        texts = [v if isinstance(v, str) else json.dumps(v) for v in col.dictionary.values]
        uniq, ids = np.unique(np.array(texts or [""], dtype=object), return_inverse=True)
        ids = ids.reshape(-1).astype(np.int64)[: len(texts)]
        return np.concatenate([ids, [-1]]), uniq if texts else np.array([], dtype=object)

    return col.dictionary.cached("group_key_ids", build)


# --- column registry ---------------------------------------------------------------------------


def _count_key(a: ActorSet) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(len(a), bool), a.count


def _id_key(a: ActorSet) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(len(a), bool), a.id_rank()


def _time_key(values: Callable[[ActorSet], np.ndarray]) -> Callable[[ActorSet], tuple[np.ndarray, np.ndarray]]:
    def key(a: ActorSet) -> tuple[np.ndarray, np.ndarray]:
        v = values(a)
        return v == NO_TIME, v

    return key


def _const_key(a: ActorSet) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(len(a), bool), np.zeros(len(a), np.int64)


def _property_key(name: str) -> Callable[[ActorSet], tuple[np.ndarray, np.ndarray]]:
    """Actor property ``name``: NULL when absent; numbers by value when the project defines the
    property Numeric, else by their text."""

    def key(a: ActorSet) -> tuple[np.ndarray, np.ndarray]:
        found = a.property_codes(name)
        if found is None:
            return np.ones(len(a), bool), np.zeros(len(a), np.int64)
        codes, col = found
        kind = "person" if a.strategy == "person" else "group"
        if a.ctx.project.property_type(name, kind, a.gti) == "Numeric":
            v = col.dictionary.floats()[codes]
            return np.isnan(v), np.nan_to_num(v)
        text = col.dictionary.text()[codes]
        null = np.array([t is None for t in text.tolist()], dtype=bool) if len(text) else np.zeros(0, bool)
        _, rank = np.unique(np.where(null, "", text).astype(object), return_inverse=True)
        return null, rank.reshape(-1)

    return key


def _property_value(name: str) -> Callable[[ActorSet, np.ndarray], list[Any]]:
    def value(a: ActorSet, idx: np.ndarray) -> list[Any]:
        found = a.property_codes(name)
        if found is None:
            return [None] * len(idx)
        codes, col = found
        return [copy.deepcopy(col.dictionary.values[c]) if c >= 0 else None for c in codes[idx].tolist()]

    return value


def _registry() -> dict[str, Column]:
    def dicts(a: ActorSet, idx: np.ndarray) -> list[Any]:
        return a.dicts(idx)

    def ids(a: ActorSet, idx: np.ndarray) -> list[Any]:
        return a.ids(idx)

    def counts(a: ActorSet, idx: np.ndarray) -> list[Any]:
        return a.count[idx].tolist()

    def event_dids(a: ActorSet, idx: np.ndarray) -> list[Any]:
        return a.distinct_ids(idx)

    def recordings(a: ActorSet, idx: np.ndarray) -> list[Any]:
        return [[] for _ in range(len(idx))]

    def last_seen(a: ActorSet, idx: np.ndarray) -> list[Any]:
        tz = a.ctx.project.tz
        return [_iso_local(v, tz) for v in a.last_seen()[idx].tolist()]

    def created_at(a: ActorSet, idx: np.ndarray) -> list[Any]:
        tz = a.ctx.project.tz
        return [_iso_local(v, tz) for v in a.created_at()[idx].tolist()]

    def delete(a: ActorSet, idx: np.ndarray) -> list[Any]:
        return [1] * len(idx)

    entries = [
        Column("actor", dicts, _id_key, doc="the actor dict (person or group)"),
        Column("person", dicts, _id_key, strategies=("person",), doc="the person dict"),
        Column("group", dicts, _id_key, strategies=("group",), doc="the group dict"),
        Column("id", ids, _id_key, doc="the actor's id"),
        Column("actor_id", ids, _id_key, doc="the actor's id"),
        Column("event_count", counts, _count_key, doc="the point's events of the actor"),
        Column("event_distinct_ids", event_dids, None, strategies=("person",), doc="distinct_ids on those events"),
        Column("matched_recordings", recordings, None, doc="session recordings of those events (always [])"),
        Column("last_seen", last_seen, _time_key(lambda a: a.last_seen()), doc="the actor's last event of the point"),
        Column("created_at", created_at, _time_key(lambda a: a.created_at()), table=True, doc="the person's/group's created_at"),
        Column("person.$delete", delete, _const_key, strategies=("person",), doc="the constant 1"),
    ]
    return {c.name: c for c in entries}


COLUMNS: dict[str, Column] = _registry()
PROPERTY_PREFIX = "properties."


def resolve_column(name: str, strategy: str, path: tuple) -> Column:
    """The column ``name`` selects (``properties.<key>`` reads an actor property)."""
    text = name.strip()
    col = COLUMNS.get(text)
    if col is None and text.startswith(PROPERTY_PREFIX) and len(text) > len(PROPERTY_PREFIX):
        key = text[len(PROPERTY_PREFIX):]
        col = Column(text, _property_value(key), _property_key(key), table=True)
    if col is None:
        known = ", ".join(COLUMNS) + ", properties.<key>"
        raise UnsupportedError(path, f"column {brief(name)} is not supported{suggest(text, COLUMNS)} (columns: {known})")
    if strategy not in col.strategies:
        raise ValidationError(path, f"column {col.name!r} does not exist when the actors are {strategy}s")
    return col


def parse_order(req: ActorsRequest, strategy: str, columns: Sequence[Column]) -> list[OrderTerm]:
    """ORDER BY terms: the request's ``order_by`` (``"<column> [ASC|DESC]"``, several per string
    separated by commas), PostHog's strategy order for ``["person"]``/``["group"]`` (by email /
    name), or its default: created_at DESC when selected, else the first column ascending."""
    if req.order_by is None:
        if any(c.name == "created_at" for c in columns):
            return [OrderTerm("created_at", True, COLUMNS["created_at"].sort, True)]
        first = columns[0]
        if first.sort is None:
            return []
        return [OrderTerm(first.name, False, first.sort, first.table)]
    special = {(strategy, ""): False, (strategy, "ASC"): False, (strategy, "DESC"): True}
    if len(req.order_by) == 1:
        word, _, direction = req.order_by[0].strip().partition(" ")
        if (word, direction.strip().upper()) in special and word in ("person", "group"):
            prop = "email" if strategy == "person" else "name"
            return [OrderTerm(f"properties.{prop}", special[(word, direction.strip().upper())], _property_key(prop), True)]
    terms = []
    for i, text in enumerate(req.order_by):
        for part in text.split(","):
            tokens = part.split()
            path = req.path("order_by") + (i,)
            if not tokens or len(tokens) > 2 or (len(tokens) == 2 and tokens[1].upper() not in ("ASC", "DESC")):
                raise ValidationError(path, f"expected '<column> [ASC|DESC]', got {brief(part.strip())}")
            col = resolve_column(tokens[0], strategy, path)
            if col.sort is None:
                raise UnsupportedError(path, f"ordering by {col.name!r} is not supported")
            terms.append(OrderTerm(col.name, len(tokens) == 2 and tokens[1].upper() == "DESC", col.sort, col.table))
    return terms


def order_actors(actors: ActorSet, terms: Sequence[OrderTerm]) -> np.ndarray:
    """Positions of the actors in order: the terms (NULLs last, as ClickHouse), then person row /
    group key ascending so that ties are deterministic."""
    keys: list[np.ndarray] = [actors.key]  # np.lexsort: last key is primary
    for term in reversed(terms):
        null, value = term.key(actors)
        value = np.asarray(value)
        if term.descending:
            value = -value.astype(np.float64) if value.dtype.kind == "f" else -value.astype(np.int64)
        keys.append(value)
        keys.append(null.astype(np.int8))
    return np.lexsort(keys)


# --- the query ---------------------------------------------------------------------------------


def actor_strategy(series: Series, filt: TrendsFilter) -> tuple[str, int | None]:
    """("group", N) when the series counts groups of type N (dau, unique_group, weekly/monthly
    active with a group type index, or the query's aggregation_group_type_index), else persons."""
    gti = series.math_group_type_index
    if gti is None:
        gti = filt.aggregation_group_type_index
    if gti is not None and MATH_SPECS[series.math].counts_groups:
        return "group", gti
    return "person", None


def run_actors(store: EventStore, filt: TrendsFilter, project: Project, now: dt.datetime, limits: Limits,
               req: ActorsRequest) -> ActorsResult:
    """The actors behind one data point, one page of them (see the module docstring)."""
    display = attrs.evolve(DISPLAYS[filt.display], exact_timerange=False)  # actors use plain date ranges
    ctx = QueryContext(store, filt, project, now, limits, display)
    if not filt.series:
        raise ValidationError(("series",) if filt.source == "query" else ("events",), "Trends insights require at least one series.")
    if req.series >= len(filt.series):
        raise ValidationError(req.path("series"), f"series {req.series} does not exist: the query has {len(filt.series)} series (0..{len(filt.series) - 1})")
    series = effective_series(filt.series[req.series], filt.interval)
    math = math_type(series.math)
    strategy, gti = actor_strategy(series, filt)

    # columns and order, checked before any data is read
    names = req.select or (("person", "id", "person.$delete", "event_distinct_ids") if strategy == "person" else ("group",))
    select_path = req.path("select")
    columns = [resolve_column(n, strategy, select_path + (i,)) for i, n in enumerate(names)]
    first_time = math.actors_frame is not date_range  # first-time maths select no timestamps
    for i, c in enumerate(columns):
        if c.name == "matched_recordings" and not req.include_recordings:
            raise ValidationError(select_path + (i,), "matched_recordings needs include_recordings: true")
        if c.name == "last_seen" and first_time:
            raise ValidationError(select_path + (i,), f"last_seen does not exist for the math {series.math!r}")
    names = list(names)
    if strategy == "person" and not any(c.name == "event_distinct_ids" for c in columns):
        columns.append(COLUMNS["event_distinct_ids"])  # PostHog appends it to trends actors
        names.append("event_distinct_ids")
    terms = parse_order(req, strategy, columns)
    if any(t.column == "last_seen" for t in terms) and first_time:
        raise ValidationError(req.path("order_by"), f"last_seen does not exist for the math {series.math!r}")
    if req.breakdown is not None and filt.breakdown is None:
        raise ValidationError(req.path("breakdown"), "the query has no breakdown")

    window = point_window(ctx, math, req)
    axis = window_axis(window, filt.interval, project.week_start_day)
    frame = math.actors_frame(SeriesSource(ctx, Query(series, axis, window.period)))
    if frame is None:  # the series' action does not exist: no events
        rows = np.zeros(0, dtype=np.int64)
        breakdown_rows = rows
    else:
        rows = frame.rows
        breakdown_rows = frame.breakdown_rows if frame.breakdown_rows is not None else rows
    if req.breakdown is not None and filt.breakdown is not None:
        mask = breakdown_mask(ctx, filt.breakdown, req.breakdown, breakdown_rows, req.path("breakdown"))
        if mask is not None:
            rows = rows[mask]

    if strategy == "person":
        key = store.person[rows].astype(np.int64)
    else:
        lut, _ = group_key_ids(store, gti)
        col = store.column(f"$group_{gti}")
        key = lut[col.codes[rows]] if col is not None else np.zeros(0, np.int64)
        rows, key = rows[key >= 0], key[key >= 0]
    actors = ActorSet(ctx, strategy, gti, rows, key)
    joined = any(c.table for c in columns) or any(t.table for t in terms)
    if joined:
        actors.keep(actors.has_row())

    order = order_actors(actors, terms)
    page = order[req.offset:req.offset + req.limit + 1]
    has_more = len(page) > req.limit
    page = page[: req.limit]
    values = [c.value(actors, page) for c in columns]
    out_rows = [list(r) for r in zip(*values)] if columns else []
    missing = None if joined else int(np.count_nonzero(~actors.has_row()[page]))
    return ActorsResult(
        columns=tuple(names), rows=out_rows, has_more=has_more, limit=req.limit,
        offset=req.offset, missing_actors_count=missing,
    )


__all__ = ["COLUMNS", "run_actors"]
