"""The sessions table: one row per session, derived once per store from events sharing $session_id.

A session is the set of events (of any name, any date) whose ``$session_id`` is a UUIDv7
(filters.md §9). Fields are computed over the session's events ordered by time: start/end,
``$session_duration`` (whole seconds crossed), entry/exit URL and its path and host, entry
attribution (referrer, utm_*, click ids), event counts, ``$is_bounce`` and ``$channel_type``.

Each field is a PropertyColumn over sessions, so filters and breakdowns read it like any other
property. Events without a session read the join's defaults: 0 for numeric fields, NULL else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from .channel import channel_type
from .columns import PropertyColumn, ValueDictionary

UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
BOUNCE_SECONDS = 10
NUMERIC_FIELDS = ("$session_duration", "duration", "$pageview_count", "$autocapture_count", "$screen_count", "$num_uniq_urls")
ALIASES = {"duration": "$session_duration", "$exit_current_url": "$end_current_url", "$exit_pathname": "$end_pathname",
           "$exit_hostname": "$end_hostname"}  # fmt: skip
ENTRY_PROPERTIES = {
    "$entry_referring_domain": "$referring_domain", "$entry_utm_source": "utm_source",
    "$entry_utm_campaign": "utm_campaign", "$entry_utm_medium": "utm_medium", "$entry_utm_term": "utm_term",
    "$entry_utm_content": "utm_content", "$entry_gclid": "gclid", "$entry_gad_source": "gad_source",
    "$entry_fbclid": "fbclid",
}  # fmt: skip


def _text_or_none(v: Any) -> str | None:
    """``nullIf(nullIf(JSONExtractString(properties, key), ''), 'null')``: a string property as
    is; anything else (a number, a list, absent) reads ``""``; and ``""`` / ``"null"`` are NULL.
    (Non-strings used to be rendered as JSON text; found by tests/property.)"""
    if not isinstance(v, str) or v in ("", "null"):
        return None
    return v


def url_path(url: str | None) -> str | None:
    """ClickHouse ``path(url)``: from the slash after ``//host`` (or the first slash) up to ``?``
    or ``#``; ``""`` (not NULL) when there is none, e.g. ``https://x.io``."""
    if url is None:
        return None
    at = url.find("/")
    if at < 0:
        return ""
    if url[at + 1 : at + 2] == "/":
        at = url.find("/", at + 2)
        if at < 0:
            return ""
    end = min((i for i in (url.find("?", at), url.find("#", at)) if i >= 0), default=len(url))
    return url[at:end]


_SCHEME = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.\-]*:)?//")


def url_host(url: str | None) -> str | None:
    """ClickHouse ``domain(url)``: the host after ``scheme://`` (or of a bare ``host/path``) as
    written (not lower-cased), without user info and port; ``""`` (not NULL) unless it has a dot
    with something after it (``localhost`` has no domain)."""
    if url is None:
        return None
    m = _SCHEME.match(url)
    rest = url[m.end() :] if m else url
    host = re.split(r"[/?#]", rest, maxsplit=1)[0].rpartition("@")[2].split(":")[0]
    if "." not in host or host.startswith(".") or host.endswith("."):
        return ""
    return host


class SessionTable:
    """Sessions of one store; build with ``session_table(store)`` (cached on the store)."""

    def __init__(self, store: Any):
        self.store = store
        col = store.column("$session_id")
        n = len(store)
        if col is None:
            ids: list[str] = []
            session_of_row = np.full(n, -1, dtype=np.int32)
        else:
            valid = [isinstance(v, str) and bool(UUID7.match(v)) for v in col.dictionary.values]
            ids = sorted({v.lower() for v, ok in zip(col.dictionary.values, valid) if ok})
            index = {s: i for i, s in enumerate(ids)}
            lut = np.array([index[v.lower()] if ok else -1 for v, ok in zip(col.dictionary.values, valid)] + [-1],
                           dtype=np.int32)
            session_of_row = lut[col.codes]
        self.ids = tuple(ids)
        self.session_of_row = session_of_row
        has = np.flatnonzero(session_of_row >= 0)
        order = _by_distinct_id_on_ties(store, has[np.lexsort((store.ts[has], session_of_row[has]))], session_of_row)
        s = session_of_row[order]
        head = np.ones(len(order), dtype=bool)
        head[1:] = s[1:] != s[:-1]
        tail = np.ones(len(order), dtype=bool)
        tail[:-1] = s[1:] != s[:-1]
        self.entry_row = np.full(len(ids), -1, np.int64)
        self.exit_row = np.full(len(ids), -1, np.int64)
        self.entry_row[s[head]] = order[head]
        self.exit_row[s[tail]] = order[tail]
        self._rows_by_session = (order, s)
        # a session of the dictionary without rows (a partition sharing a bigger store's
        # dictionary) has no entry/exit: 0, and no row reads it
        ts = np.asarray(store.ts) if len(store.ts) else np.zeros(1, np.int64)
        self.start_us = np.where(self.entry_row >= 0, ts[np.maximum(self.entry_row, 0)], 0).astype(np.int64)
        self.end_us = np.where(self.exit_row >= 0, ts[np.maximum(self.exit_row, 0)], 0).astype(np.int64)
        self.duration = (self.end_us // 1_000_000 - self.start_us // 1_000_000).astype(np.float64)
        self._columns: dict[str, PropertyColumn | None] = {}

    def __len__(self) -> int:
        return len(self.ids)

    # --- per event row ----------------------------------------------------------------------------
    def duration_of_rows(self, rows: np.ndarray) -> np.ndarray:
        """$session_duration of each event row's session (0 without one: the join default)."""
        s = self.session_of_row[rows]
        return np.where(s >= 0, self.duration[np.maximum(s, 0)] if len(self.ids) else 0.0, 0.0)

    def row_codes(self, name: str, rows: np.ndarray) -> tuple[np.ndarray, ValueDictionary] | None:
        """(codes, dictionary) of a session field at event rows; session-less rows read the default."""
        col = self.column(name)
        if col is None:
            return None
        s = self.session_of_row[rows]
        default = self._default_code(name, col)
        codes = np.where(s >= 0, col.codes[np.maximum(s, 0)] if len(self.ids) else default, default)
        return codes.astype(np.int32), col.dictionary

    def _default_code(self, name: str, col: PropertyColumn) -> int:
        if ALIASES.get(name, name) not in NUMERIC_FIELDS:
            return -1
        return col.dictionary.values.index(0)  # numeric_column puts 0 in every numeric dictionary

    # --- columns ----------------------------------------------------------------------------------
    def column(self, name: str) -> PropertyColumn | None:
        """The session field ``name`` as a column over sessions (None for an unknown field)."""
        name = ALIASES.get(name, name)
        if name not in self._columns:
            build = FIELDS.get(name)
            self._columns[name] = None if build is None else build(self)
        return self._columns[name]

    def event_codes(self, key: str, rows_kind: str) -> tuple[np.ndarray, ValueDictionary]:
        """Codes of property ``key`` at each session's entry (or exit) event, and its dictionary."""
        rows = self.entry_row if rows_kind == "entry" else self.exit_row
        col = self.store.column(key)
        if col is None or not len(rows) or not len(col.codes):
            return np.full(len(self.ids), -1, np.int32), ValueDictionary(())
        return np.where(rows >= 0, col.codes[np.maximum(rows, 0)], -1).astype(np.int32), col.dictionary

    def event_counts(self, event: str) -> np.ndarray:
        code = self.store.event_code(event)
        out = np.zeros(len(self.ids), dtype=np.int64)
        if code is None:
            return out
        order, s = self._rows_by_session
        hit = self.store.event[order] == code
        return np.bincount(s[hit], minlength=len(self.ids)).astype(np.int64)


def _by_distinct_id_on_ties(store: Any, order: np.ndarray, session_of_row: np.ndarray) -> np.ndarray:
    """The rows of each session by time, ties by row order — event name, then input order —
    except that events of one name at one instant from different distinct_ids go in the order
    of their distinct_id texts. Upstream's argMin/argMax pick one of such tied events
    arbitrarily; this order depends on the events alone, not on how they were split, so a
    partitioned store whose session spans partitions (a distinct_id lives in one) finds the
    same entry and exit event without knowing the input order across partitions."""
    if len(order) < 2:
        return order
    ts = store.ts[order]
    at = np.flatnonzero(ts[1:] == ts[:-1])  # (neighbours at one instant: few; only they are compared)
    a, b = order[at], order[at + 1]
    ev, did = store.event, store.distinct_id
    if not ((session_of_row[a] == session_of_row[b]) & (ev[a] == ev[b]) & (did[a] != did[b])).any():
        return order
    rank = np.empty(len(store.distinct_ids), dtype=np.int64)
    rank[np.argsort(np.asarray(store.distinct_ids, dtype=object), kind="stable")] = np.arange(len(rank))
    return order[np.lexsort((rank[did[order]], ev[order], ts, session_of_row[order]))]  # (stable: then row order)


def mapped_column(codes: np.ndarray, dictionary: ValueDictionary, fn: Callable[[Any], Any]) -> PropertyColumn:
    """A column of ``fn(value)`` computed once per dictionary value (None results are NULL)."""
    mapped = [fn(v) for v in dictionary.values] + [fn(None)]
    distinct: dict[Any, int] = {}
    lut = np.array([-1 if m is None else distinct.setdefault(m, len(distinct)) for m in mapped], dtype=np.int32)
    return PropertyColumn(lut[codes], ValueDictionary(list(distinct)))


def numeric_column(values: np.ndarray) -> PropertyColumn:
    """An integer field; its dictionary always holds 0, the value session-less events read."""
    uniq, inverse = np.unique(np.concatenate((np.asarray(values, dtype=np.int64), [0])), return_inverse=True)
    return PropertyColumn(inverse[:-1].astype(np.int32), ValueDictionary([int(v) for v in uniq.tolist()]))


def _text_field(key: str, kind: str, transform: Callable[[str | None], Any] = lambda v: v) -> Callable[[SessionTable], PropertyColumn]:
    """The entry/exit event's property ``key`` as a nullable string, then ``transform``."""

    def build(t: SessionTable) -> PropertyColumn:
        codes, dictionary = t.event_codes(key, kind)
        return mapped_column(codes, dictionary, lambda v: transform(_text_or_none(v)))

    return build


def _is_bounce(t: SessionTable) -> PropertyColumn:
    pv, ac = t.event_counts("$pageview"), t.event_counts("$autocapture")
    bounce = ~((pv > 1) | (ac > 0) | (t.duration >= BOUNCE_SECONDS))
    codes = np.where(pv == 0, -1, np.where(bounce, 1, 0)).astype(np.int32)
    return PropertyColumn(codes, ValueDictionary([False, True]))


CHANNEL_KEYS = ("utm_source", "utm_medium", "utm_campaign", "$referring_domain", "gclid", "fbclid", "gad_source")


def _channel(t: SessionTable) -> PropertyColumn:
    """$channel_type, computed once per distinct entry attribution tuple."""
    parts = [t.event_codes(k, "entry") for k in CHANNEL_KEYS]
    if not len(t.ids):
        return PropertyColumn(np.zeros(0, np.int32), ValueDictionary(()))
    stacked = np.stack([c for c, _ in parts], axis=1)
    uniq, inverse = np.unique(stacked, axis=0, return_inverse=True)
    labels = []
    for row in uniq.tolist():  # one per distinct tuple
        src, med, camp, ref, gclid, fbclid, gad = (
            _text_or_none(d.values[c]) if c >= 0 else None for c, (_, d) in zip(row, parts)
        )
        labels.append(channel_type(src, med, camp, ref, gclid is not None, fbclid is not None, gad))
    distinct = sorted(set(labels))
    lut = np.array([distinct.index(x) for x in labels], dtype=np.int32)
    return PropertyColumn(lut[inverse.reshape(-1)], ValueDictionary(distinct))


def _num_uniq_urls(t: SessionTable) -> PropertyColumn:
    col = t.store.column("$current_url")
    if col is None:
        return numeric_column(np.zeros(len(t.ids), np.int64))
    order, s = t._rows_by_session
    # $urls: every non-empty JSONExtractString($current_url) ("null" included, non-strings not)
    nonempty = col.dictionary.view("nonempty_string", lambda v: isinstance(v, str) and v != "", bool, False)
    codes = col.codes[order]
    ok = nonempty[codes]
    width = len(col.dictionary) + 1
    pairs = np.unique(s[ok].astype(np.int64) * width + codes[ok])
    return numeric_column(np.bincount(pairs // width, minlength=len(t.ids)))


FIELDS: dict[str, Callable[[SessionTable], PropertyColumn]] = {
    "$session_duration": lambda t: numeric_column(t.duration.astype(np.int64)),
    "$start_timestamp": lambda t: numeric_column(t.start_us // 1_000_000),
    "$end_timestamp": lambda t: numeric_column(t.end_us // 1_000_000),
    "$entry_current_url": _text_field("$current_url", "entry"),
    "$end_current_url": _text_field("$current_url", "exit"),
    "$entry_pathname": _text_field("$current_url", "entry", url_path),
    "$end_pathname": _text_field("$current_url", "exit", url_path),
    "$entry_hostname": _text_field("$current_url", "entry", url_host),
    "$end_hostname": _text_field("$current_url", "exit", url_host),
    "$pageview_count": lambda t: numeric_column(t.event_counts("$pageview")),
    "$autocapture_count": lambda t: numeric_column(t.event_counts("$autocapture")),
    "$screen_count": lambda t: numeric_column(t.event_counts("$screen")),
    "$num_uniq_urls": _num_uniq_urls,
    "$is_bounce": _is_bounce,
    "$channel_type": _channel,
    "$last_external_click_url": _text_field("$external_click_url", "exit"),
    **{name: _text_field(key, "entry") for name, key in ENTRY_PROPERTIES.items()},
}


def session_table(store: Any) -> SessionTable:
    """The store's sessions table, built on first use and cached on the store."""
    return store.cached("sessions", lambda: SessionTable(store))
