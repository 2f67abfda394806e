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
from urllib.parse import urlsplit

import numpy as np

from .channel import channel_type
from .columns import ColumnBuilder, PropertyColumn, ValueDictionary, render_text

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
    """A property read as a nullable string: non-strings give '', and '' / 'null' give NULL."""
    s = v if isinstance(v, str) else ("" if v is None else render_text(v))
    return None if s in ("", "null") else s


def url_path(url: str | None) -> str | None:
    if url is None:
        return None
    return urlsplit(url).path or None


def url_host(url: str | None) -> str | None:
    if url is None:
        return None
    return urlsplit(url).hostname or None


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
        order = has[np.lexsort((store.ts[has], session_of_row[has]))]
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
        self.start_us = store.ts[self.entry_row] if len(ids) else np.zeros(0, np.int64)
        self.end_us = store.ts[self.exit_row] if len(ids) else np.zeros(0, np.int64)
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
        values = col.dictionary.values
        for i, v in enumerate(values):
            if v == 0 and not isinstance(v, bool):
                return i
        return -1  # 0 is added to every numeric dictionary at build time, so this is not reached

    # --- columns ----------------------------------------------------------------------------------
    def column(self, name: str) -> PropertyColumn | None:
        """The session field ``name`` as a column over sessions (None for an unknown field)."""
        name = ALIASES.get(name, name)
        if name not in self._columns:
            build = FIELDS.get(name)
            self._columns[name] = None if build is None else _column(build(self), numeric=name in NUMERIC_FIELDS)
        return self._columns[name]

    def event_values(self, key: str, rows_kind: str) -> list[Any]:
        """Raw property ``key`` of each session's entry (or exit) event."""
        rows = self.entry_row if rows_kind == "entry" else self.exit_row
        col = self.store.column(key)
        if col is None:
            return [None] * len(self.ids)
        codes = col.codes[rows] if len(rows) else np.zeros(0, np.int32)
        return [col.dictionary.values[c] if c >= 0 else None for c in codes.tolist()]

    def event_counts(self, event: str) -> np.ndarray:
        code = self.store.event_code(event)
        out = np.zeros(len(self.ids), dtype=np.int64)
        if code is None:
            return out
        order, s = self._rows_by_session
        hit = self.store.event[order] == code
        return np.bincount(s[hit], minlength=len(self.ids)).astype(np.int64)


def _column(values: list[Any], numeric: bool) -> PropertyColumn:
    b = ColumnBuilder()
    if numeric:
        b.add(-1, 0)  # every numeric field knows the value 0 (the default for session-less events)
    for i, v in enumerate(values):
        b.add(i, v)
    col = b.build(len(values) + 1)
    return PropertyColumn(col.codes[: len(values)].copy(), col.dictionary)


def _urls(t: SessionTable, kind: str) -> list[str | None]:
    return [_text_or_none(v) for v in t.event_values("$current_url", kind)]


def _int_list(a: np.ndarray) -> list[int]:
    return [int(x) for x in a.tolist()]


def _is_bounce(t: SessionTable) -> list[bool | None]:
    pv, ac = t.event_counts("$pageview"), t.event_counts("$autocapture")
    out: list[bool | None] = []
    for p, a, d in zip(pv.tolist(), ac.tolist(), t.duration.tolist()):
        out.append(None if p == 0 else not (p > 1 or a > 0 or d >= BOUNCE_SECONDS))
    return out


def _channel(t: SessionTable) -> list[str]:
    fields = ("utm_source", "utm_medium", "utm_campaign", "$referring_domain", "gclid", "fbclid", "gad_source")
    cols = [[_text_or_none(v) for v in t.event_values(k, "entry")] for k in fields]
    memo: dict[tuple, str] = {}
    out = []
    for src, med, camp, ref, gclid, fbclid, gad in zip(*cols):
        key = (src, med, camp, ref, gclid is not None, fbclid is not None, gad)
        if key not in memo:
            memo[key] = channel_type(src, med, camp, ref, key[4], key[5], gad)
        out.append(memo[key])
    return out


def _num_uniq_urls(t: SessionTable) -> list[int]:
    col = t.store.column("$current_url")
    if col is None:
        return [0] * len(t.ids)
    order, s = t._rows_by_session
    nonempty = col.dictionary.view("nonempty_text", lambda v: _text_or_none(v) is not None, bool, False)
    codes = col.codes[order]
    ok = nonempty[codes]
    pairs = np.unique(s[ok].astype(np.int64) * (len(col.dictionary) + 1) + codes[ok])
    return _int_list(np.bincount(pairs // (len(col.dictionary) + 1), minlength=len(t.ids)))


def _entry_field(key: str) -> Callable[[SessionTable], list[Any]]:
    """The entry event's property ``key`` as a nullable string."""
    return lambda t: [_text_or_none(v) for v in t.event_values(key, "entry")]


FIELDS: dict[str, Callable[[SessionTable], list[Any]]] = {
    "$session_duration": lambda t: _int_list(t.duration.astype(np.int64)),
    "$start_timestamp": lambda t: _int_list(t.start_us // 1_000_000),
    "$end_timestamp": lambda t: _int_list(t.end_us // 1_000_000),
    "$entry_current_url": lambda t: _urls(t, "entry"),
    "$end_current_url": lambda t: _urls(t, "exit"),
    "$entry_pathname": lambda t: [url_path(u) for u in _urls(t, "entry")],
    "$end_pathname": lambda t: [url_path(u) for u in _urls(t, "exit")],
    "$entry_hostname": lambda t: [url_host(u) for u in _urls(t, "entry")],
    "$end_hostname": lambda t: [url_host(u) for u in _urls(t, "exit")],
    "$pageview_count": lambda t: _int_list(t.event_counts("$pageview")),
    "$autocapture_count": lambda t: _int_list(t.event_counts("$autocapture")),
    "$screen_count": lambda t: _int_list(t.event_counts("$screen")),
    "$num_uniq_urls": _num_uniq_urls,
    "$is_bounce": _is_bounce,
    "$channel_type": _channel,
    "$last_external_click_url": lambda t: [_text_or_none(v) for v in t.event_values("$external_click_url", "exit")],
    **{name: _entry_field(key) for name, key in ENTRY_PROPERTIES.items()},
}


def session_table(store: Any) -> SessionTable:
    """The store's sessions table, built on first use and cached on the store."""
    return store.cached("sessions", lambda: SessionTable(store))
