"""The answer cache: keyed by (project, store version, settings, insight, query, resolved time range).

Every query function is pure in (store, query, project, now), and a Trends answer depends on
``now`` only through the resolved date range (the current one and the one compare derives), so
two requests with those equal get the same answer: the second is served from here with
``is_cached: true`` and the first answer's ``last_refresh``. Where an answer can depend on ``now``
otherwise (relative ``is_date_*`` operands, HogQL, actors, stickiness, lifecycle) the exact
``now`` is part of the key instead, so a hit is still the same answer. A replaced store has a new
version, hence new keys; old entries age out of the LRU.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any

import attrs

from ..errors import ValidationError
from ..limits import Limits
from ..project import Project

_NOW_SENSITIVE = ("is_date_", "hogql")  # texts that make an answer depend on now beyond the range


@attrs.frozen
class Entry:
    """A cached answer: the result object, when it was computed, and its JSON text once rendered."""

    result: Any
    last_refresh: dt.datetime
    resolved: dict[str, str] | None
    rendered: dict[str, bytes] = attrs.field(factory=dict, eq=False)  # format -> bytes, filled on use


class AnswerCache:
    """A thread-safe LRU of ``Entry`` (``capacity`` 0 disables caching)."""

    def __init__(self, capacity: int):
        self._capacity = capacity
        self._data: OrderedDict[str, Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> Entry | None:
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key: str, entry: Entry) -> None:
        if self._capacity <= 0:
            return
        with self._lock:
            self._data[key] = entry
            self._data.move_to_end(key)
            while len(self._data) > self._capacity:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


def settings_fingerprint(project: Project, limits: Limits) -> str:
    """A digest of the project settings and limits (attrs reprs are deterministic)."""
    return hashlib.sha256(repr((project, limits)).encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=4096)
def _parsed(text: str, limits: Limits) -> Any:
    """The parsed filter of a query's canonical JSON (immutable; the same for every store and now)."""
    from ..api import parse_filter

    return parse_filter(json.loads(text), limits=limits)


def trends_range(text: str, project: Project, limits: Limits, now: dt.datetime) -> tuple[list[Any], dict[str, str]]:
    """The resolved date ranges a Trends answer depends on (the displayed one, and the one with
    the query's own interval that compare starts from), and the displayed one as
    ``resolved_date_range``, for the query whose canonical JSON is ``text``. Raises
    ValidationError for a query the engine would refuse too."""
    from ..engine.timeaxis import resolve_range
    from ..query.displays import DISPLAYS

    filt = _parsed(text, limits)
    display = DISPLAYS[filt.display]
    parts: list[Any] = []
    shown: dict[str, str] = {}
    for interval in ("day" if display.total_value else filt.interval, filt.interval):
        r = resolve_range(filt.date_from, filt.date_to, interval=interval, now=now, tz=project.tz,
                          explicit=filt.explicit_date, exact=display.exact_timerange, earliest=None)
        start = "all" if filt.date_from == "all" else r.date_from.isoformat()
        parts.append([interval, start, r.date_to.isoformat()])
        if not shown:
            shown = {"date_from": start, "date_to": r.date_to.isoformat()}
    return parts, shown


def cache_key(
    *,
    project_id: int,
    store_version: str,
    settings: str,
    kind: str,
    query: Any,
    project: Project,
    limits: Limits,
    now: dt.datetime,
) -> tuple[str | None, dict[str, str] | None]:
    """(key, resolved_date_range): None for a key when the query is not JSON or cannot be resolved
    (the computation then reports the problem and nothing is cached)."""
    try:
        text = json.dumps(query, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return None, None
    resolved = None
    if kind == "trends" and not any(s in text for s in _NOW_SENSITIVE):
        try:
            time_key: Any
            time_key, resolved = trends_range(text, project, limits, now)
        except (ValidationError, OverflowError, ValueError):
            return None, None
    else:
        time_key = ["now", now.isoformat()]
        if kind == "trends":
            try:
                resolved = trends_range(text, project, limits, now)[1]
            except (ValidationError, OverflowError, ValueError):
                return None, None
    material = json.dumps([project_id, store_version, settings, kind, text, time_key], separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest(), resolved
