"""Hypothesis strategies for Trends worlds (events, persons, groups, project, now) and queries.

Optional dependency: ``pip install 'trendcalc[testing]'``. Every strategy is composable and
takes keyword-only bounds (``min_*``/``max_*``); bad arguments raise hypothesis'
``InvalidArgument``. Strategies generate only features that ``trendcalc.testing.reference``
implements, so a generated query can always be checked against it:

    from hypothesis import given
    from trendcalc.testing import strategies as tst

    @given(tst.scenarios())
    def test_my_backend(scenario):
        assert my_backend(scenario) == scenario.expected()

Worlds are built around interesting instants: DST changes of the project timezone (Berlin in
March/October, São Paulo's midnight changes, Lord Howe's 30-minute shift), local midnights,
month starts, and the last second (and microsecond) of a day.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ..limits import Limits
from ..project import Project
from . import reference

UTC = dt.timezone.utc

TIMEZONES = (
    "UTC", "Europe/Berlin", "America/Sao_Paulo", "Australia/Lord_Howe", "America/New_York",
    "Asia/Kolkata", "Asia/Tokyo", "America/Phoenix", "Pacific/Chatham",
)  # fmt: skip
"""Zones with and without DST; São Paulo changed at midnight until 2019, Lord Howe by 30 minutes."""
NO_DST_TIMEZONES = ("UTC", "Asia/Kolkata", "Asia/Tokyo", "America/Phoenix")
DST_TIMEZONES = tuple(z for z in TIMEZONES if z not in NO_DST_TIMEZONES)

EVENT_NAMES = ("$pageview", "sign up", "$pageleave", "purchase", "$autocapture")
DISTINCT_IDS = ("u1", "u2", "u3", "u4", "u5", "anon-1", "anon-2", "7")
GROUP_KEYS = ("g1", "g2", "g3", "7")

INTERVALS = ("hour", "day", "week", "month")  # the legacy form turns "minute" into "hour"
DISPLAYS = reference.DISPLAYS
MATHS = reference.MATHS
BREAKDOWN_TYPES = reference.BREAKDOWN_TYPES

RELATIVE_DATES = (
    "-7d", "-14d", "-1d", "-3d", "-30d", "-24h", "-48h", "-3h", "-1w", "-2w", "-1m", "-3m",
    "-90d", "dStart", "-1dStart", "mStart", "-1mStart", "yStart", "-1q", "-30M", "hStart",
    "7d", "+7d", "-7D", "x-3d", "-1y",
)  # fmt: skip
FORMULAS = ("A", "A+B", "A-B", "A*2", "A/B", "B/A", "(A+B)/2", "A**2", "-A+3", "A*1.5", "a+b", "A+C", "B%A", "A/0")
COMPARE_TO = ("-1w", "-2d", "-1m", "-1y", "-3d", "-24h", "-2m", "-2y", "-2w", "-1q", "-6h", "-1mStart", "2024-01-01")
RELATIVE_DATES_TO = ("-1d", "-1dEnd", "dStart", "-1mEnd", "-1h", "-2d", "-1w", "-3h")

# UUIDv7 session ids (sessions; the upper-case one is the first session again) and a UUIDv4 (none).
SESSION_IDS = ("0190a0b4-5e2c-7c3d-8a1b-1234567890ab", "0190a0b4-5e2c-7c3d-8a1b-000000000002",
               "0190A0B4-5E2C-7C3D-8A1B-1234567890AB", "0190a0b4-5e2c-4c3d-8a1b-1234567890ab")
# Gaps between a session's events, in seconds: the bounce threshold (10 s), whole-second
# boundaries, an hour, a day.
FOLLOW_UP_GAPS = (0, 0.4, 1, 9, 9.6, 10, 59, 600, 3600, 86_400)

# Attribution of a session's entry event, for $channel_type and the $entry_* session fields.
ATTRIBUTION_VALUES: dict[str, tuple[Any, ...]] = {
    "utm_source": ("google", "Google", "facebook", "newsletter", "", "direct"),
    "utm_medium": ("cpc", "email", "social", "paid_social", "web-push", "referral", "cpm", ""),
    "utm_campaign": ("cross-network-spring", "shopping_week", "video_ads", "spring", "null"),
    "$referring_domain": ("$direct", "www.google.com", "facebook.com", "example.org", ""),
    "gclid": ("abc", ""),
    "fbclid": ("xyz",),
    "gad_source": ("1", "2"),
}

# Values that stress rendering: JSON spellings of numbers, booleans, empty strings, URLs, nesting.
PROPERTY_VALUES: dict[str, tuple[Any, ...]] = {
    "$browser": ("Chrome", "Safari", "Firefox", "", "chrome", "Edge", "a\"b", "é"),
    "plan": (10, 10.0, 10.5, "10", "10.50", 1e3, "abc", True, 0, -1, "007"),
    "flag": (True, False, "true", "false", "1", 0, 1, "yes"),
    "$current_url": ("https://x.io", "https://x.io/", "https://x.io/?", "https://x.io/a/#", "/", "?", ""),
    "tags": (["a", "b"], {"k": 1}, [], "[]"),
    "$session_id": ("s1", "s2", "", "1", 1) + SESSION_IDS,
    "$time": (1710000000, 1710000000.9, -1.5, "1710000000", "2024-03-10T10:00:00Z", "2024-03-10T10:00:00+02:00",
              "2024-03-10 10:00:00", "abc", True, "1e400"),
}
URL_PROPERTIES = ("$current_url", "$entry_current_url", "$end_current_url", "$exit_current_url")
MATH_PROPERTIES = ("plan", "flag", "$browser", "missing", "$session_duration", "$time")
HISTOGRAM_PROPERTIES = ("plan", "size", "$session_id", "distinct_id", "$session_duration", "$pageview_count",
                        "$num_uniq_urls")
PERSON_VALUES: dict[str, tuple[Any, ...]] = {
    "email": ("a@x.io", "b@x.io", "", "c@y.org"),
    "plan": (10, "10", 20.5, "pro", False),
    "flag": (True, "false", 1),
}
GROUP_VALUES: dict[str, tuple[Any, ...]] = {
    "industry": ("tech", "retail", "", "Tech"),
    "size": (10, "10", 3.5, "big"),
}
PROPERTY_DEFINITIONS = (
    {"name": "plan", "type": "Numeric", "kind": "event"},
    {"name": "flag", "type": "Boolean", "kind": "event"},
    {"name": "plan", "type": "Numeric", "kind": "person"},
    {"name": "flag", "type": "Boolean", "kind": "person"},
    {"name": "size", "type": "Numeric", "kind": "group", "group_type_index": 0},
    {"name": "$browser", "type": "String", "kind": "event"},
    {"name": "signup_at", "type": "DateTime", "kind": "event"},
    {"name": "signup_at", "type": "Numeric", "kind": "event"},
    {"name": "created", "type": "DateTime", "kind": "person"},
)

# --- property-filter data: feature flags, versions, paths, attribution, sessions, elements ---------

SESSION_IDS = ("018e2a4c-1d2b-7c3d-8e4f-5a6b7c8d9e0f", "018E2A4C-1D2B-7C3D-8E4F-5A6B7C8D9E0F",
               "018e2a4c-1d2b-7aaa-9bbb-000000000002", "018e2a4c-1d2b-7aaa-9bbb-000000000003",
               "018e2a4c-1d2b-4c3d-8e4f-5a6b7c8d9e0f")  # fmt: skip
"""UUIDv7 session ids (the first two are one session, in two cases) and a v4 id (no session)."""
FILTER_PROPERTY_VALUES: dict[str, tuple[Any, ...]] = {
    "$feature/beta": (True, False, "variant-a", "control"),
    "$app_version": ("1.2.3", "1.10.0", "v2.0.0", "1.2.3-beta.1", "0.0.5", "1.2", "1.2.3.4", " 1.2.3 ", "01.2.3",
                     "2.0.0+build.7", "1.2.3\u00a0", "1.\u0662.3", 1.2, "abc", "0.2.9"),
    "$pathname": ("/user/5", "/user/12/settings", "/user/abc", "/items/7/", "/", "", "/USER/5"),
    "$current_url": PROPERTY_VALUES["$current_url"] + ("https://Shop.X.io/Cart?id=1", "http://localhost:8000/app",
                                                       "https://x.io/user/5/settings", "null", 5, 'https://x.io/q?a="b"'),
    "$session_id": PROPERTY_VALUES["$session_id"] + SESSION_IDS,
    "$window_id": ("w1", "w2", ""),
    "utm_source": ("google", "Facebook", "newsletter", "", "null", "$direct"),
    "utm_medium": ("cpc", "email", "Social", "web-push", "paidsearch", "newsletter", ""),
    "utm_campaign": ("spring-cross-network", "summer_shop", "Video_launch", "brand"),
    "$referring_domain": ("www.google.com", "$direct", "news.example.org", "l.facebook.com", "", "m.youtube.com"),
    "gclid": ("abc", ""),
    "fbclid": ("x1",),
    "gad_source": ("1", "5", ""),
    "$external_click_url": ("https://out.example.com/a", ""),
}  # fmt: skip
FILTER_PERSON_VALUES: dict[str, tuple[Any, ...]] = {
    "$initial_utm_source": ("google", "newsletter", "", "Facebook"),
    "$initial_utm_medium": ("cpc", "email", "", "web-push", "Social"),
    "$initial_utm_campaign": ("summer_shop", "x-cross-network-y", "video_q1"),
    "$initial_referring_domain": ("$direct", "www.google.com", "news.example.org", "", "m.youtube.com"),
    "$initial_gclid": ("g1", "", "null"),
    "$initial_fbclid": ("f1",),
    "$initial_gad_source": ("1", ""),
    "app_version": ("1.2.3", "2.0.0", "0.1.0", "x"),
}  # fmt: skip
PERSON_IDS = ("p-1", "p-2", 3, "p-4")
ELEMENT_TAGS = ("button", "a", "div", "span", "form", "input", "label")
ELEMENT_CLASSES = ("btn", "buy", "nav", "primary")
ELEMENT_TEXTS = ("Buy", "Buy now", "Pricing", "buy", 'say "hi"', "Ünï")
ELEMENT_HREFS = ("/pricing", "https://x.io/buy", "/Pricing?x=1")
SELECTORS = ("button", "a", ".buy", "button.buy", "#pay", "form > button", "div a", "[href='/pricing']",
             "a:nth-child(2)", "*", "form button.btn", "button:nth-of-type(1)", "[data-x='1']", "div > span",
             "a.nav.primary", "label#nav-1", "[text='Buy']", "span > a.nav")  # fmt: skip
TAG_NAMES = ("button", "a", "div", "bu", "a|button", "BUTTON", "span")
PATH_CLEANING_RULES = (
    {"regex": "/user/\\d+", "alias": "/user/<id>"},
    {"regex": "/items/(\\d+)/?", "alias": "/items/:id"},
    {"regex": "^/$", "alias": "home"},
    {"regex": "(?i)/USER/", "alias": "/u/"},
    {"regex": "/user/(\\w+)", "alias": "/\\1/user"},
    {"regex": "[0-9]+", "alias": "<\\0>"},
)
SESSION_KEYS = (
    "$session_duration", "duration", "$start_timestamp", "$end_timestamp", "$entry_current_url",
    "$end_current_url", "$exit_current_url", "$entry_pathname", "$end_pathname", "$exit_pathname",
    "$entry_hostname", "$end_hostname", "$pageview_count", "$autocapture_count", "$screen_count",
    "$num_uniq_urls", "$is_bounce", "$channel_type", "$last_external_click_url", "$entry_referring_domain",
    "$entry_utm_source", "$entry_utm_medium", "$entry_utm_campaign", "$entry_utm_term", "$entry_gclid",
    "$entry_gad_source", "$entry_fbclid",
)  # fmt: skip

__all__ = [
    "DST_TIMEZONES",
    "NO_DST_TIMEZONES",
    "TIMEZONES",
    "Scenario",
    "World",
    "breakdown_filters",
    "cohort_leaves",
    "cohorts",
    "cohorts_of",
    "date_strings",
    "date_values",
    "element_leaves",
    "element_properties",
    "events",
    "groups",
    "instants",
    "persons",
    "projects",
    "property_filters",
    "property_leaves",
    "scenarios",
    "series",
    "session_bursts",
    "step_conditions",
    "stores",
    "timezones",
    "to_trends_query",
    "trends_filters",
    "trends_queries",
    "worlds",
]


# --- argument validation (hypothesis style) ------------------------------------------------------


def _check_int(name: str, value: Any, lo: int = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"Expected int but got {name}={value!r} (type={type(value).__name__})")
    if value < lo:
        raise InvalidArgument(f"{name}={value!r} must be at least {lo}.")


def _check_bounds(min_name: str, min_value: int, max_name: str, max_value: int, lo: int = 0) -> None:
    _check_int(min_name, min_value, lo)
    _check_int(max_name, max_value, lo)
    if min_value > max_value:
        raise InvalidArgument(f"Cannot have {max_name}={max_value!r} < {min_name}={min_value!r}")


def _check_choices(name: str, values: Any, allowed: Sequence[Any]) -> tuple[Any, ...]:
    if isinstance(values, str) or not isinstance(values, Sequence) or not values:
        raise InvalidArgument(f"{name}={values!r} must be a non-empty sequence")
    bad = [v for v in values if v not in allowed]
    if bad:
        raise InvalidArgument(f"{name} contains unsupported values {bad!r}; expected members of {list(allowed)}")
    return tuple(values)


def _check_names(name: str, values: Any) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Sequence) or not values:
        raise InvalidArgument(f"{name}={values!r} must be a non-empty sequence of strings")
    if not all(isinstance(v, str) and v for v in values):
        raise InvalidArgument(f"{name}={values!r} must contain non-empty strings only")
    return tuple(values)


# --- time ----------------------------------------------------------------------------------------


def timezones(*, dst_only: bool = False, allowed: Sequence[str] = TIMEZONES) -> st.SearchStrategy[str]:
    """IANA zone names; ``dst_only`` keeps zones that change their offset."""
    allowed = _check_names("allowed", allowed)
    for name in allowed:
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidArgument(f"allowed contains an unknown timezone {name!r}") from exc
    pool = [z for z in allowed if not dst_only or z not in NO_DST_TIMEZONES]
    if not pool:
        raise InvalidArgument("no timezone left with dst_only=True")
    return st.sampled_from(pool)


@functools.cache
def offset_changes(tz_name: str, start_year: int = 2016, end_year: int = 2025) -> tuple[dt.datetime, ...]:
    """UTC instants (to the minute) where ``tz_name`` changes its UTC offset in [start, end)."""
    tz = zoneinfo.ZoneInfo(tz_name)
    out = []
    t = dt.datetime(start_year, 1, 1, tzinfo=UTC)
    end = dt.datetime(end_year, 1, 1, tzinfo=UTC)
    day = dt.timedelta(days=1)
    while t < end:
        if t.astimezone(tz).utcoffset() != (t + day).astimezone(tz).utcoffset():
            lo, hi = t, t + day
            while hi - lo > dt.timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(tz).utcoffset() == lo.astimezone(tz).utcoffset():
                    lo = mid
                else:
                    hi = mid
            out.append(hi.replace(second=0, microsecond=0))
        t += day
    return tuple(out)


JITTERS = (
    dt.timedelta(0), dt.timedelta(microseconds=-1), dt.timedelta(microseconds=1), dt.timedelta(seconds=-1),
    dt.timedelta(seconds=1), dt.timedelta(milliseconds=500), dt.timedelta(milliseconds=-500),
    dt.timedelta(minutes=-30), dt.timedelta(minutes=30), dt.timedelta(hours=-1), dt.timedelta(hours=1),
)  # fmt: skip


@st.composite
def instants(draw: st.DrawFn, *, timezone: str = "UTC", near: dt.datetime | None = None,
             min_days: int = -100, max_days: int = 2) -> dt.datetime:
    """An aware UTC instant within [near + min_days, near + max_days], biased to boundaries:
    local midnights, hour and month starts and the zone's offset changes, each ± a small jitter."""
    _check_bounds("min_days", min_days, "max_days", max_days, lo=-10_000)
    tz = zoneinfo.ZoneInfo(timezone)
    near = near or dt.datetime(2024, 3, 15, 10, 37, 12, tzinfo=UTC)
    lo, hi = near + dt.timedelta(days=min_days), near + dt.timedelta(days=max_days)
    kind = draw(st.sampled_from(("uniform", "uniform", "midnight", "midnight", "hour", "month", "change")))
    # two thirds of the instants fall in the last ten days before ``near`` (where most ranges are)
    recent = max(lo, near - dt.timedelta(days=10)) if draw(st.integers(0, 2)) else lo
    if kind == "uniform":
        span = int((hi - recent).total_seconds())
        t = recent + dt.timedelta(seconds=draw(st.integers(0, max(span, 0))))
        if draw(st.booleans()):
            t += dt.timedelta(microseconds=draw(st.integers(0, 999_999)))
        return min(t, hi)
    day = (recent + dt.timedelta(days=draw(st.integers(0, max((hi - recent).days, 0))))).astimezone(tz)
    if kind == "midnight":
        base = day.replace(hour=0, minute=0, second=0, microsecond=0)
    elif kind == "hour":
        base = day.replace(minute=0, second=0, microsecond=0)
    elif kind == "month":
        base = day.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    else:
        changes = [c for c in offset_changes(timezone) if lo <= c <= hi]
        base = draw(st.sampled_from(changes)) if changes else day
    t = base.astimezone(UTC) + draw(st.sampled_from(JITTERS))
    return min(max(t, lo), hi)


@st.composite
def nows(draw: st.DrawFn, *, timezone: str = "UTC") -> dt.datetime:
    """A frozen clock, often a few days after one of the zone's offset changes."""
    changes = offset_changes(timezone)
    if changes and draw(st.booleans()):
        base = draw(st.sampled_from(changes))
        return base + dt.timedelta(seconds=draw(st.integers(-2 * 86_400, 40 * 86_400)))
    base = dt.datetime(2019, 10, 20, tzinfo=UTC) if timezone == "America/Sao_Paulo" else dt.datetime(2024, 3, 30, tzinfo=UTC)
    return base + dt.timedelta(seconds=draw(st.integers(-400 * 86_400, 400 * 86_400)))


# --- records -------------------------------------------------------------------------------------


def _properties(values: dict[str, tuple[Any, ...]]) -> st.SearchStrategy[dict[str, Any]]:
    """Some of the keys of ``values``, each with one of its values (or JSON null). The strategies
    are built once per call of this function: build it once per key set, not per record."""
    chosen = st.lists(st.sampled_from(sorted(values)), unique=True, max_size=len(values))
    per_key = {k: st.sampled_from(values[k] + (None,)) for k in values}

    @st.composite
    def draw_properties(draw: st.DrawFn) -> dict[str, Any]:
        return {k: draw(per_key[k]) for k in draw(chosen)}

    return draw_properties()


@functools.lru_cache(maxsize=16)
def _event_properties(group_keys: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return _properties({**PROPERTY_VALUES, **FILTER_PROPERTY_VALUES, "$group_0": group_keys + ("",), "$group_1": group_keys})


@functools.lru_cache(maxsize=1)
def _person_properties() -> st.SearchStrategy[dict[str, Any]]:
    return _properties({**PERSON_VALUES, **FILTER_PERSON_VALUES})


@functools.lru_cache(maxsize=1)
def _group_properties() -> st.SearchStrategy[dict[str, Any]]:
    return _properties(GROUP_VALUES)


@st.composite
def events(draw: st.DrawFn, *, names: Sequence[str] = EVENT_NAMES, distinct_ids: Sequence[str] = DISTINCT_IDS,
           timezone: str = "UTC", near: dt.datetime | None = None, min_days: int = -100, max_days: int = 2,
           group_keys: Sequence[str] = GROUP_KEYS) -> dict[str, Any]:
    """One event record (``EventStore.from_records`` shape), with properties that stress typed
    rendering and ``$group_0``/``$group_1`` keys; timestamps as ISO text, datetime or epoch;
    attribution, versions, paths, a date (``signup_at``), session ids and autocapture elements."""
    names = _check_names("names", names)
    distinct_ids = _check_names("distinct_ids", distinct_ids)
    group_keys = _check_names("group_keys", group_keys)
    ts = draw(instants(timezone=timezone, near=near, min_days=min_days, max_days=max_days))
    props = draw(_event_properties(group_keys))
    if draw(st.integers(0, 2)) == 0:
        props["signup_at"] = draw(date_values(ts - dt.timedelta(days=draw(st.integers(-3, 30))), timezone=timezone))
    if draw(st.integers(0, 3)) == 2:  # a quarter of the events carry attribution
        props.update(draw(_properties(ATTRIBUTION_VALUES)))
    form = draw(st.sampled_from(("iso", "iso", "datetime", "epoch", "offset")))
    stamp: Any = ts.isoformat().replace("+00:00", "Z")
    if form == "datetime":
        stamp = ts
    elif form == "epoch" and ts.microsecond == 0:
        stamp = int(ts.timestamp())
    elif form == "offset":
        stamp = ts.astimezone(zoneinfo.ZoneInfo(timezone)).isoformat()
    record: dict[str, Any] = {"event": draw(st.sampled_from(names)), "distinct_id": draw(st.sampled_from(distinct_ids)),
                              "timestamp": stamp}
    if draw(st.integers(0, 1 if record["event"] == "$autocapture" else 5)) == 0:
        props.update(draw(element_properties()))
    if props or draw(st.booleans()):
        record["properties"] = props
    return record


@st.composite
def date_values(draw: st.DrawFn, near: dt.datetime, *, timezone: str = "UTC") -> Any:
    """A date-ish property value around ``near``: local dates and wall clocks, ISO text with
    ``Z`` or an offset, epoch seconds (number or text), compact and RFC 2822 forms, and junk."""
    tz = zoneinfo.ZoneInfo(timezone)
    local, utc = near.astimezone(tz), near.astimezone(UTC)
    return _pick(draw, (
        local.strftime("%Y-%m-%d"), local.strftime("%Y-%m-%d %H:%M:%S"), local.strftime("%Y-%m-%dT%H:%M:%S"),
        utc.strftime("%Y-%m-%dT%H:%M:%SZ"), utc.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        near.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30))).isoformat(), int(near.timestamp()),
        str(int(near.timestamp())), near.timestamp(), local.strftime("%Y%m%d"), local.strftime("%Y/%m/%d %H:%M"),
        email.utils.format_datetime(utc), "abc", "", "2024-13-45", "1850-01-01", "2024-03-10T25:00:00Z",
        local.strftime("%Y-%m-%d").replace("2", "\uff12"), "\uff11\uff10",
    ))  # fmt: skip


def _pick(draw: st.DrawFn, choices: Sequence[Any]) -> Any:
    """One of ``choices`` (built per draw, so not worth a sampled_from strategy each time)."""
    return choices[draw(st.integers(0, len(choices) - 1))]


@st.composite
def element_properties(draw: st.DrawFn) -> dict[str, Any]:
    """Autocapture elements: an ``$elements_chain`` (PostHog's serialised chain, or odd text) or a
    posthog-js ``$elements`` list, innermost element first."""
    elements = []
    for _ in range(draw(st.integers(1, 3))):
        el: dict[str, Any] = {"tag_name": draw(st.sampled_from(ELEMENT_TAGS)),
                              "nth_child": draw(st.integers(0, 3)), "nth_of_type": draw(st.integers(0, 2))}
        classes = draw(st.lists(st.sampled_from(ELEMENT_CLASSES), unique=True, max_size=2))
        if classes:
            el["attr__class"] = " ".join(classes)
        for key, pool in (("$el_text", ELEMENT_TEXTS), ("attr__href", ELEMENT_HREFS), ("attr__id", ("pay", "nav-1")),
                          ("attr__data-x", ("1", "2"))):
            if draw(st.integers(0, 2)) == 0:
                el[key] = draw(st.sampled_from(pool))
        elements.append(el)
    kind = draw(st.sampled_from(("chain", "chain", "elements", "odd")))
    if kind == "elements":
        return {"$elements": elements}
    if kind == "odd":
        return {"$elements_chain": draw(st.sampled_from(("", 'a:href="/pricing"', "button.buy", 5)))}
    return {"$elements_chain": reference.serialise_elements(elements)}


@st.composite
def persons(draw: st.DrawFn, *, distinct_ids: Sequence[str] = DISTINCT_IDS, max_persons: int = 4,
            near: dt.datetime | None = None, timezone: str = "UTC") -> list[dict[str, Any]]:
    """Person records partitioning some of ``distinct_ids`` (the rest get a person of their own),
    some with an ``id``, initial attribution and a ``created`` date around ``near``."""
    distinct_ids = _check_names("distinct_ids", distinct_ids)
    _check_int("max_persons", max_persons)
    near = near or dt.datetime(2024, 3, 15, 10, 37, 12, tzinfo=UTC)
    owner = {d: draw(st.integers(-1, max_persons - 1)) for d in distinct_ids} if max_persons else {}
    out = []
    for i in range(max_persons):
        ids = [d for d in distinct_ids if owner.get(d) == i]
        if ids:
            person: dict[str, Any] = {"distinct_ids": ids,
                                      "properties": draw(_person_properties())}
            if draw(st.integers(0, 2)) == 0:
                person["properties"]["created"] = draw(date_values(near - dt.timedelta(days=draw(st.integers(0, 60))),
                                                                   timezone=timezone))
            if i < len(PERSON_IDS) and draw(st.booleans()):
                person["id"] = PERSON_IDS[i]
            out.append(person)
    return out


@st.composite
def groups(draw: st.DrawFn, *, group_keys: Sequence[str] = GROUP_KEYS) -> list[dict[str, Any]]:
    """Group records of types 0 and 1 for some of ``group_keys``."""
    group_keys = _check_names("group_keys", group_keys)
    out = []
    for gti in (0, 1):
        for key in draw(st.lists(st.sampled_from(group_keys), unique=True)):
            out.append({"group_type_index": gti, "group_key": key, "properties": draw(_group_properties())})
    return out


COHORT_IDS = (1, 2, 3, 10, 11)  # 10 and 11 sort before 2 as text
COHORT_LEAF_VALUES = ("a@x.io", "10", "pro", "x.io", "^[ab]", "true", "false")


def _cohort_leaf() -> st.SearchStrategy[dict[str, Any]]:
    """A person-property leaf of a cohort definition (untyped values, so no mistyped constants)."""
    return st.fixed_dictionaries({
        "key": st.sampled_from(sorted(PERSON_VALUES)),
        "operator": st.sampled_from(("exact", "is_not", "icontains", "regex", "is_set", "is_not_set")),
        "value": st.sampled_from(COHORT_LEAF_VALUES),
    })  # fmt: skip


@st.composite
def cohorts(draw: st.DrawFn, *, distinct_ids: Sequence[str] = DISTINCT_IDS, min_cohorts: int = 0,
            max_cohorts: int = 3) -> list[dict[str, Any]]:
    """Project cohorts (at most five): static (listed distinct_ids, some unknown), dynamic with a
    nested ``filters.properties`` group of person leaves and leaves on earlier cohorts, or the
    legacy ``groups`` form; now and then without a name, or deleted."""
    distinct_ids = _check_names("distinct_ids", distinct_ids)
    _check_bounds("min_cohorts", min_cohorts, "max_cohorts", max_cohorts)
    if min_cohorts > len(COHORT_IDS):
        raise InvalidArgument(f"min_cohorts={min_cohorts!r} must be at most {len(COHORT_IDS)}")
    ids = draw(st.lists(st.sampled_from(COHORT_IDS), unique=True, min_size=min_cohorts,
                        max_size=min(max_cohorts, len(COHORT_IDS))))
    out = []
    for i, cid in enumerate(ids):
        c: dict[str, Any] = {"id": cid}
        if draw(st.integers(0, 4)):
            c["name"] = f"cohort {cid}"
        kind = draw(st.sampled_from(("static", "filters", "filters", "groups")))
        if kind == "static":
            c.update(is_static=True, distinct_ids=draw(st.lists(st.sampled_from(tuple(distinct_ids) + ("ghost",)),
                                                                unique=True, max_size=4)))
        elif kind == "groups":
            typed = st.tuples(_cohort_leaf(), st.sampled_from(({}, {"type": "person"}, {"type": "event"})))
            groups = draw(st.lists(st.lists(typed.map(lambda t: {**t[0], **t[1]}), max_size=2), min_size=1, max_size=2))
            c["groups"] = [{"properties": g} for g in groups]
        else:
            earlier = ids[:i]
            leaf = _cohort_leaf().map(lambda d: {**d, "type": "person"})
            if earlier:
                leaf = st.one_of(leaf, st.sampled_from(earlier).flatmap(lambda e: st.sampled_from((
                    {"key": "id", "value": e, "type": "cohort"}, {"key": "id", "value": e, "type": "cohort", "negation": True},
                    {"key": "id", "value": e, "type": "cohort", "operator": "not_in"}))))
            inner = st.fixed_dictionaries({"type": st.sampled_from(("AND", "OR")), "values": st.lists(leaf, max_size=2)})
            c["filters"] = {"properties": {"type": draw(st.sampled_from(("AND", "OR"))),
                                           "values": draw(st.lists(inner, max_size=2))}}
        if draw(st.integers(0, 39)) == 17:  # not 0: hypothesis favours the smallest value
            c["deleted"] = True
        out.append(c)
    return out


@st.composite
def projects(draw: st.DrawFn, *, timezone: str | None = None, event_names: Sequence[str] = EVENT_NAMES,
             max_actions: int = 2, max_cohorts: int = 3) -> Project:
    """Project settings: timezone, week start, distinct_id aggregation, human-friendly comparison
    periods, property types, path cleaning rules, cohorts, actions (event, url, element and
    property conditions) and test-account filters."""
    _check_int("max_actions", max_actions)
    _check_int("max_cohorts", max_cohorts)
    event_names = _check_names("event_names", event_names)
    tz = timezone or draw(timezones())
    cohort_list = [draw(cohorts_of(i + 1)) for i in range(draw(st.integers(0, max_cohorts)))]
    cohort_ids = [c["id"] for c in cohort_list]
    actions = []
    for i in range(draw(st.integers(0, max_actions))):
        steps = []
        for e in draw(st.lists(st.sampled_from(tuple(event_names) + (None,)), min_size=1, max_size=3)):
            step: dict[str, Any] = {"event": e}
            step.update(draw(step_conditions(autocapture=e == "$autocapture")))
            if draw(st.integers(0, 2)) == 0:
                step["properties"] = draw(property_filters(groups=False, max_leaves=2, cohort_ids=cohort_ids))
            steps.append(step)
        actions.append({"id": i + 1, "name": f"action {i + 1}", "steps": steps})
    return Project(
        timezone=tz, infer_property_types=False,  # (the reference types what the world declares)
        week_start_day=draw(st.sampled_from((0, 1))),
        aggregate_users_by_distinct_id=draw(st.booleans()),
        human_friendly_comparison_periods=draw(st.booleans()),
        property_definitions=draw(st.lists(st.sampled_from(PROPERTY_DEFINITIONS), unique_by=lambda d: (d["name"], d["kind"]))),
        actions=actions,
        cohorts=cohort_list,
        path_cleaning_filters=draw(st.lists(st.sampled_from(PATH_CLEANING_RULES), unique_by=lambda r: r["regex"], max_size=3)),
        test_account_filters=draw(st.lists(property_leaves(cohort_ids=cohort_ids), max_size=2)),
    )


URL_CONDITIONS = {
    None: ("x.io", "/a/", "%io", "x_io", "user", "X.IO"), "contains": ("x.io", "Cart", "%/", "_"),
    "exact": ("https://x.io/", "/", "https://x.io"), "regex": ("^https://x\\.io/?$", "user/[0-9]+", "(?i)shop\\.x"),
}  # fmt: skip
ELEMENT_CONDITIONS = {
    None: ("Buy", "Pricing", "/pricing", ""), "exact": ("Buy now", "https://x.io/buy"),
    "contains": ("buy", "%ric", "b_y", "X.IO"), "regex": ("^B", "now$", "(?i)pricing", "^/"),
}  # fmt: skip


@st.composite
def step_conditions(draw: st.DrawFn, *, autocapture: bool = True) -> dict[str, Any]:
    """An action step's conditions besides its event: a url (contains, exact, regex) and, usually
    on ``$autocapture`` steps (elsewhere they are ignored), selector, tag_name, text and href."""
    out: dict[str, Any] = {}
    if draw(st.integers(0, 2)) == 0:
        matching = draw(st.sampled_from(tuple(URL_CONDITIONS)))
        out["url"] = draw(st.sampled_from(URL_CONDITIONS[matching]))
        if matching is not None:
            out["url_matching"] = matching
    if draw(st.integers(0, 1 if autocapture else 6)) == 0:
        if draw(st.booleans()):
            out["selector"] = draw(st.sampled_from(SELECTORS))
        if draw(st.integers(0, 2)) == 0:
            out["tag_name"] = draw(st.sampled_from(TAG_NAMES))
        for key in ("text", "href"):
            if draw(st.integers(0, 2)) == 0:
                matching = draw(st.sampled_from(tuple(ELEMENT_CONDITIONS)))
                out[key] = draw(st.sampled_from(ELEMENT_CONDITIONS[matching]))
                if matching is not None:
                    out[f"{key}_matching"] = matching
    return out


@st.composite
def cohorts_of(draw: st.DrawFn, cohort_id: int) -> dict[str, Any]:
    """One cohort: static (distinct_ids and/or person ids), dynamic (``filters.properties``, a
    nested group of person filters and earlier cohorts) or legacy ``groups``."""
    _check_int("cohort_id", cohort_id, lo=1)
    out: dict[str, Any] = {"id": cohort_id, "name": f"cohort {cohort_id}"}
    earlier = list(range(1, cohort_id))
    kind = draw(st.sampled_from(("static", "dynamic", "dynamic", "legacy")))
    if kind == "static":
        out["is_static"] = True
        out["distinct_ids"] = draw(st.lists(st.sampled_from(DISTINCT_IDS + ("nobody",)), unique=True, max_size=3))
        if draw(st.booleans()):
            out["person_ids"] = draw(st.lists(st.sampled_from(PERSON_IDS + ("p-9",)), unique=True, max_size=2))
        return out
    person_leaf = property_leaves(sources=("person",), operators=COHORT_OPERATORS).filter(
        lambda leaf: leaf["key"] != "distinct_id")  # which of a person's distinct_ids: UNCONFIRMED upstream
    if kind == "legacy":
        def untyped(leaf: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in leaf.items() if k != "type"} if draw(st.booleans()) else leaf

        out["groups"] = [{"properties": [untyped(x) for x in draw(st.lists(person_leaf, min_size=1, max_size=2))]}
                         for _ in range(draw(st.integers(1, 2)))]
        return out
    children: st.SearchStrategy[Any] = person_leaf
    if earlier:
        nested = st.builds(lambda c, n: {"key": "id", "type": "cohort", "value": c, **({"negation": True} if n else {})},
                           st.sampled_from(earlier), st.booleans())
        children = st.one_of(person_leaf, nested)
    inner = st.fixed_dictionaries({"type": st.sampled_from(("AND", "OR")), "values": st.lists(children, min_size=1, max_size=2)})
    out["filters"] = {"properties": {"type": draw(st.sampled_from(("AND", "OR"))),
                                     "values": draw(st.lists(st.one_of(inner, children), min_size=1, max_size=2))}}
    return out


@dataclass(frozen=True)
class World:
    """Records for ``EventStore.from_records``, the project and the frozen clock."""

    events: list[dict[str, Any]]
    persons: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    project: Project
    now: dt.datetime

    def store(self):
        """The EventStore of these records."""
        from ..store import EventStore

        return EventStore.from_records(self.events, persons=self.persons, groups=self.groups)


@st.composite
def worlds(draw: st.DrawFn, *, min_events: int = 0, max_events: int = 30, timezone: str | None = None,
           event_names: Sequence[str] = EVENT_NAMES, min_days: int = -100, max_days: int = 2) -> World:
    """A project, a frozen ``now`` and records around it (events within [now+min_days, now+max_days])."""
    _check_bounds("min_events", min_events, "max_events", max_events)
    _check_bounds("min_days", min_days, "max_days", max_days, lo=-10_000)
    event_names = _check_names("event_names", event_names)
    project = draw(projects(timezone=timezone, event_names=event_names))
    now = draw(nows(timezone=project.timezone))
    n = draw(st.integers(min_events, max_events))
    evs = draw(st.lists(events(names=event_names, timezone=project.timezone, near=now, min_days=min_days,
                               max_days=max_days), min_size=n, max_size=n))
    for i in range(1, n):  # a fifth of the events continue an earlier event's session
        if draw(st.integers(0, 4)) == 3:
            j = draw(st.integers(0, i - 1))
            evs[j], evs[i] = _follow_up(draw, evs[j], evs[i])
    evs += draw(session_bursts(evs, max_events=max_events - n))
    return World(evs, draw(persons(near=now, timezone=project.timezone)), draw(groups()), project, now)


@st.composite
def session_bursts(draw: st.DrawFn, evs: list[dict[str, Any]], *, max_events: int = 6) -> list[dict[str, Any]]:
    """A few more events of one user within seconds of one of ``evs``, in one session (so
    sessions have short and long durations, bounces, entry and exit pages)."""
    if not evs or max_events <= 0 or draw(st.booleans()):
        return []
    base = draw(st.sampled_from(evs))
    start = tc_timestamp(base["timestamp"])
    session = draw(st.sampled_from(SESSION_IDS))
    out = []
    for _ in range(draw(st.integers(1, min(max_events, 4)))):
        at = start + dt.timedelta(milliseconds=draw(st.integers(-15_000, 15_000)))
        props = {"$session_id": session}
        for key in ("$current_url", "utm_source", "utm_medium", "$referring_domain", "$external_click_url"):
            if draw(st.integers(0, 2)) == 0:
                props[key] = draw(st.sampled_from(FILTER_PROPERTY_VALUES[key]))
        out.append({"event": draw(st.sampled_from(("$pageview", "$pageview", "$autocapture", "$screen", "$pageleave"))),
                    "distinct_id": base["distinct_id"], "timestamp": at.isoformat(), "properties": props})
    return out


def tc_timestamp(stamp: Any) -> dt.datetime:
    """A record's timestamp as an aware UTC datetime."""
    return reference.to_utc(stamp)


def _follow_up(draw: st.DrawFn, first: dict[str, Any], other: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``other`` moved into ``first``'s session (given one if it has none): same distinct_id and
    ``$session_id``, a little later, so sessions have durations, entry and exit URLs."""
    sid = (first.get("properties") or {}).get("$session_id")
    if sid not in SESSION_IDS or draw(st.integers(0, 4)) == 2:
        sid = draw(st.sampled_from(SESSION_IDS))
    first = {**first, "properties": {**(first.get("properties") or {}), "$session_id": sid}}
    ts = reference.to_utc(first["timestamp"]) + dt.timedelta(seconds=draw(st.sampled_from(FOLLOW_UP_GAPS)))
    later = {**other, "distinct_id": first["distinct_id"], "timestamp": ts.isoformat().replace("+00:00", "Z"),
             "properties": {**(other.get("properties") or {}), "$session_id": sid}}
    return first, later


def stores(**kwargs: Any) -> st.SearchStrategy[Any]:
    """EventStores built from ``worlds(**kwargs)``."""
    return worlds(**kwargs).map(lambda w: w.store())


# --- queries ---------------------------------------------------------------------------------------


BREAKDOWN_PROPERTIES: dict[str, tuple[str, ...]] = {
    "event": tuple(sorted(PROPERTY_VALUES)) + ("$group_0", "missing"),
    "person": tuple(sorted(PERSON_VALUES)),
    "group": tuple(sorted(GROUP_VALUES)),
    "event_metadata": ("distinct_id", "event", "$group_0", "$group_1", "$session_id"),
    "session": ("$session_duration", "$entry_current_url", "$end_current_url", "$entry_pathname", "$entry_hostname",
                "$pageview_count", "$is_bounce", "duration", "$exit_current_url", "$channel_type",
                "$entry_utm_source", "$entry_referring_domain", "$end_pathname", "$exit_hostname",
                "$num_uniq_urls"),
}
OPERATOR_VALUES: dict[str, tuple[Any, ...]] = {
    "exact": ("Chrome", "chrome", "10", "true", True, "", "https://x.io", 10, ("Chrome", "Safari"), ("10", "abc"), ()),
    "is_not": ("Chrome", "10", "false", False, "", ("Chrome", "Firefox"), ()),
    "in": (("Chrome", "Safari"), ("10", "pro"), ("a@x.io", "b@x.io")),
    "not_in": (("Chrome", "Safari"), ("10", "tech")),
    "icontains": ("hr", "x.io", "a_b", "50%", "CHROME", "é", "1", ("hr", "saf"), ()),
    "not_icontains": ("hr", "x.io", "E", ("hr", "zz"), ()),
    "icontains_multi": ("hr", ("x.io", "SAF")),
    "not_icontains_multi": ("hr", ("x.io", "SAF")),
    "regex": ("^C", "x\\.io", "[0-9]+$", "(?i)chrome", ".", ("^S", "^F")),
    "not_regex": ("^C", "[0-9]", ("^S", "^F")),
    "gt": ("10", "9", "a", 5, "5"), "gte": ("10", "Chrome", 10), "lt": ("10", "b", 20.5), "lte": ("10", "5"),
    "min": ("10",), "max": ("10",),
    "between": (("5", "20"), (0, 100), ("10", "10")), "not_between": (("5", "20"), (0, 100)),
    "is_set": (None,), "is_not_set": (None,),
    "is_date_exact": ("-7d", "2024-03-01", "2024-03-01T00:00:00Z", ("-1d", "2024-03-10")),
    "is_date_before": ("-7d", "-12h", "-1m", "2024-03-01 10:00:00", "-1dStart"),
    "is_date_after": ("-1d", "-30M", "-2w", "-1y", "-3600s", "-3H", "2024-03-10T12:00:00+05:30"),
    "is_cleaned_path_exact": ("/user/5", "/user/<id>", "/items/9", "/", "home", "/USER/7/settings", "<5>"),
    "semver_eq": ("1.2.3", "v1.2.3", "2.0.0", "1.2", "0.0.5", ("1.2.3", "2.0.0")),
    "semver_neq": ("1.2.3", "0.0.5", ("1.2.3", "1.10.0")),
    "semver_gt": ("1.2.3", "1.9.0", "0.0.4"), "semver_gte": ("1.2.3", "1.10.0"),
    "semver_lt": ("1.10.0", "2.0.0", "1.2"), "semver_lte": ("1.2.3", "0.2.9"),
    "semver_tilde": ("1.2.3", "1", "1.2", "01.2.3", "0.0.5", "1.2.3-beta", "1.2.3.4"),
    "semver_caret": ("1.2.3", "0.2.3", "0.0.5", "1", "0.1", "01.2.3", "0.2"),
    "semver_wildcard": ("1.*", "1.2.*", "1.2.3.*", "1.*.*", "0.*", "1.10.*", "01.*", "2"),
    "flag_evaluates_to": (None, True, "variant-a"),
}  # fmt: skip
PROPERTY_KEYS: dict[str, tuple[str, ...]] = {
    "event": tuple(sorted(PROPERTY_VALUES)) + ("missing",),
    "person": tuple(sorted(PERSON_VALUES)),
    "group": tuple(sorted(GROUP_VALUES)),
}
# Keys of the other sources, and of the properties the filter kit adds (drawn half of the time).
FILTER_KEYS: dict[str, tuple[str, ...]] = {
    "event": tuple(sorted(FILTER_PROPERTY_VALUES)) + ("signup_at", "$elements_chain"),
    "feature": ("$feature/beta", "$feature/missing", "$browser"),
    "person": tuple(sorted(FILTER_PERSON_VALUES)) + ("distinct_id", "created") + reference.VIRTUAL_PERSON_PROPERTIES,
    "group": tuple(sorted(GROUP_VALUES)),
    "event_metadata": reference.METADATA_KEYS,
    "session": SESSION_KEYS,
}
# Operators whose values only mean something on some keys: the keys drawn for them (most of the time).
OPERATOR_KEYS: dict[str, dict[str, tuple[str, ...]]] = {
    "date": {"event": ("signup_at",), "person": ("created",), "session": ("$start_timestamp", "$end_timestamp")},
    "semver": {"event": ("$app_version",), "person": ("app_version",), "feature": ("$feature/beta",)},
    "path": {"event": ("$pathname", "$current_url"), "session": ("$entry_pathname", "$end_pathname"),
             "event_metadata": ("event",)},
}  # fmt: skip
OPERATOR_FAMILY = {**{op: "date" for op in reference.DATE_OPERATORS},
                   **{op: "semver" for op in reference.SEMVER_OPERATORS + reference.SEMVER_RANGE_OPERATORS},
                   "is_cleaned_path_exact": "path"}  # fmt: skip
SOURCE_WEIGHTS = {"event": 4, "person": 3, "group": 2, "feature": 1, "event_metadata": 1, "session": 2, "element": 2,
                  "cohort": 2}  # fmt: skip
KEY_VALUES: dict[str, tuple[Any, ...]] = {  # values for exact/is_not/icontains/regex/... on some keys
    "$channel_type": ("Direct", "Referral", "Organic Search", "Paid Unknown", "Unknown", "Paid Search", "Email",
                      "Push", "Cross Network", "Organic Social", "Paid Social", "Organic Video"),
    "$virt_initial_channel_type": ("Direct", "Referral", "Paid Search", "Unknown", "Organic Shopping", "Push"),
    "$virt_initial_referring_domain_type": ("$direct", "Search", "Video", "Social"),
    "$is_bounce": ("true", "false", True, False, "1"),
    "$entry_current_url": ("https://x.io/", "https://x.io", "/", "null", "https://Shop.X.io/Cart?id=1"),
    "$entry_pathname": ("/", "", "/a/", "/user/5", "/app"), "$end_pathname": ("/", "", "/Cart"),
    "$entry_hostname": ("x.io", "Shop.X.io", "", "shop.x.io", "localhost"), "$end_hostname": ("x.io", ""),
    "$feature/beta": ("true", True, "variant-a", "control"),
    "distinct_id": ("u1", "anon-1", "7", ("u2", "u3")), "person_id": ("p-1", "3", "", ("p-2", "p-4")),
    "event": ("$pageview", "$autocapture", ("sign up", "purchase")),
    "$session_id": SESSION_IDS[:2] + ("s1", ""), "$group_0": ("g1", "7", 7, ""), "$window_id": ("w1", ""),
    "elements_chain": ("", "button"),
}  # fmt: skip
ELEMENT_VALUES = {"href": ("/pricing", "https://x.io/buy", "", "pricing", "PRICING", ("/pricing", "https://x.io/buy")),
                  "text": ("Buy", "buy now", "Pricing", 'say "hi"', "^B", ("Buy", "Pricing"))}  # fmt: skip
COHORT_OPERATORS = ("exact", "is_not", "icontains", "not_icontains", "regex", "is_set", "is_not_set", "in", "gt",
                    "semver_gte", "is_date_after")  # fmt: skip
DATE_CONSTANT_DAYS = (0, 1, 3, 7, 30)
DATE_KEYS = ("signup_at", "created", "$start_timestamp", "$end_timestamp")


def date_constants(now: dt.datetime, tz: zoneinfo.ZoneInfo) -> tuple[Any, ...]:
    """Absolute values near ``now`` for date operators: local dates (midnights, where events
    cluster), wall clocks, UTC ISO text and epoch seconds."""
    out: list[Any] = []
    for days in DATE_CONSTANT_DAYS:
        local = now.astimezone(tz) - dt.timedelta(days=days)
        out += [local.strftime("%Y-%m-%d"), local.strftime("%Y-%m-%d %H:%M:%S"),
                local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                int(local.timestamp())]
    return tuple(out)


@st.composite
def property_leaves(draw: st.DrawFn, *, sources: Sequence[str] = reference.PROPERTY_SOURCES,
                    operators: Sequence[str] = tuple(OPERATOR_VALUES), cohort_ids: Sequence[Any] = (),
                    now: dt.datetime | None = None, timezone: str = "UTC") -> dict[str, Any]:
    """One property filter leaf: a source (event, feature, person, group, event_metadata, session,
    element, cohort), a key, an operator and a value that exercises it (typed and untyped
    properties, dates near ``now``, versions, cleaned paths, lists, LIKE wildcards, NULL results).
    Cohort leaves name one of ``cohort_ids`` (without any, another source is drawn)."""
    sources = _check_choices("sources", sources, reference.PROPERTY_SOURCES)
    operators = _check_choices("operators", operators, tuple(OPERATOR_VALUES))
    now = now or dt.datetime(2024, 3, 15, 10, 37, 12, tzinfo=UTC)
    usable = [s for s in sources if s != "cohort" or cohort_ids] or list(sources)
    source = draw(st.sampled_from([s for s in usable for _ in range(SOURCE_WEIGHTS[s])]))
    if source == "cohort":
        return draw(cohort_leaves(cohort_ids or (99,)))
    if source == "element":
        return draw(element_leaves(operators))
    op = draw(st.sampled_from(operators))
    family = OPERATOR_KEYS.get(OPERATOR_FAMILY.get(op, ""), {})
    if source in family and draw(st.integers(0, 3)):
        key = draw(st.sampled_from(family[source]))
    elif source in FILTER_KEYS and (source not in PROPERTY_KEYS or draw(st.booleans())):
        key = draw(st.sampled_from(FILTER_KEYS[source]))
    else:
        key = draw(st.sampled_from(PROPERTY_KEYS[source]))
    leaf: dict[str, Any] = {"key": key, "type": source}
    if source == "group":
        leaf["group_type_index"] = 0
    pool = OPERATOR_VALUES[op]
    if OPERATOR_FAMILY.get(op) == "date":
        pool = pool + tuple(c for c in date_constants(now, zoneinfo.ZoneInfo(timezone)) if isinstance(c, str))
    elif key in DATE_KEYS and op not in ("is_set", "is_not_set", "in", "not_in") and draw(st.integers(0, 3)):
        pool = date_constants(now, zoneinfo.ZoneInfo(timezone))
        if op in ("between", "not_between"):
            pool = ((int(now.timestamp()) - 86_400 * 7, int(now.timestamp())), ("0", "1700000000"))
    elif key in KEY_VALUES and op in ("exact", "is_not", "icontains", "not_icontains", "regex", "not_regex") and draw(st.booleans()):
        pool = tuple(v for v in KEY_VALUES[key] if op in ("exact", "is_not") or isinstance(v, str)) or pool
    value = _pick(draw, pool)
    if op != "exact" or draw(st.booleans()):
        leaf["operator"] = op
    if value is not None:
        leaf["value"] = list(value) if isinstance(value, tuple) else value
    return leaf


@st.composite
def cohort_leaves(draw: st.DrawFn, cohort_ids: Sequence[Any]) -> dict[str, Any]:
    """A cohort filter: in / not in (by operator or legacy ``negation``), the id as a number,
    text or a one-member list."""
    if isinstance(cohort_ids, str) or not isinstance(cohort_ids, Sequence) or not cohort_ids:
        raise InvalidArgument(f"cohort_ids={cohort_ids!r} must be a non-empty sequence of cohort ids")
    cid = draw(st.sampled_from(tuple(cohort_ids)))
    leaf: dict[str, Any] = {"key": "id", "type": draw(st.sampled_from(("cohort", "cohort", "static-cohort"))),
                            "value": draw(st.sampled_from((cid, str(cid), [cid])))}
    how = draw(st.sampled_from(("in", "not_in", "negation", "none", "exact", "is_not")))
    if how == "negation":
        leaf["negation"] = True
    elif how != "none":
        leaf["operator"] = how
    return leaf


@st.composite
def element_leaves(draw: st.DrawFn, operators: Sequence[str] = tuple(OPERATOR_VALUES)) -> dict[str, Any]:
    """An element filter: selector / tag_name (exact or is_not, a member or a list), or href /
    text with any operator."""
    operators = _check_choices("operators", operators, tuple(OPERATOR_VALUES))
    matchers = [op for op in ("exact", "is_not") if op in operators]
    key = draw(st.sampled_from((("selector", "tag_name") if matchers else ()) + ("href", "text")))
    if key in ("selector", "tag_name"):
        pool = SELECTORS if key == "selector" else TAG_NAMES
        value: Any = draw(st.one_of(st.sampled_from(pool), st.lists(st.sampled_from(pool), min_size=1, max_size=2)))
        leaf = {"key": key, "type": "element", "value": value}
        op = draw(st.sampled_from(matchers))
        if op != "exact" or draw(st.booleans()):
            leaf["operator"] = op
        return leaf
    op = draw(st.sampled_from([o for o in operators if o not in ("in", "not_in")] or list(operators)))
    pool = ELEMENT_VALUES[key] if op in ("exact", "is_not", "icontains", "not_icontains", "regex", "not_regex") \
        and draw(st.booleans()) else OPERATOR_VALUES[op]
    value = _pick(draw, pool)
    leaf = {"key": key, "type": "element", "operator": op}
    if value is not None:
        leaf["value"] = list(value) if isinstance(value, tuple) else value
    return leaf


@st.composite
def property_filters(draw: st.DrawFn, *, max_leaves: int = 3, max_depth: int = 2, groups: bool = True,
                     sources: Sequence[str] = reference.PROPERTY_SOURCES, cohort_ids: Sequence[Any] = (),
                     now: dt.datetime | None = None, timezone: str = "UTC",
                     operators: Sequence[str] = tuple(OPERATOR_VALUES)) -> Any:
    """Property filters in every shape PostHog accepts: ``[]``, ``{}``, a flat list of leaves
    (AND), or (``groups``) an AND/OR group nested up to ``max_depth``."""
    _check_int("max_leaves", max_leaves)
    _check_int("max_depth", max_depth, lo=1)
    if max_leaves == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(([], {})))
    leaf = property_leaves(sources=sources, operators=operators, cohort_ids=cohort_ids, now=now, timezone=timezone)
    leaves = st.lists(leaf, min_size=1, max_size=max_leaves)
    if not groups or draw(st.booleans()):
        return draw(leaves)

    def group(depth: int) -> st.SearchStrategy[dict[str, Any]]:
        children: st.SearchStrategy[Any] = leaf
        if depth > 1:
            children = st.one_of(children, st.deferred(lambda: group(depth - 1)))
        return st.fixed_dictionaries({"type": st.sampled_from(("AND", "OR")),
                                      "values": st.lists(children, max_size=max_leaves)})

    return draw(group(max_depth))


@st.composite
def date_strings(draw: st.DrawFn, *, now: dt.datetime | None = None, timezone: str = "UTC",
                 to: bool = False, choices: Sequence[str | None] | None = None) -> str | None:
    """date_from (``to=False``) or date_to values: relative tokens (including PostHog's odd
    spellings), "all", and absolute dates near ``now`` in several ISO forms; or one of ``choices``."""
    if choices is not None:
        if isinstance(choices, str) or not isinstance(choices, Sequence) or not choices:
            raise InvalidArgument(f"choices={choices!r} must be a non-empty sequence of date strings")
        return draw(st.sampled_from(tuple(choices)))
    now = now or dt.datetime(2024, 3, 15, 10, 37, 12, tzinfo=UTC)
    kind = draw(st.sampled_from(("relative", "relative", "absolute", "none" if to else "all")))
    if kind == "none":
        return None
    if kind == "all":
        return "all"
    if kind == "relative":
        return draw(st.sampled_from(RELATIVE_DATES_TO if to else RELATIVE_DATES))
    back = draw(st.integers(-3, 20 if not to else 3))
    local = now.astimezone(zoneinfo.ZoneInfo(timezone)) - dt.timedelta(days=back, hours=draw(st.integers(0, 23)))
    form = draw(st.sampled_from(("date", "date", "minute", "utc", "offset", "compact")))
    if form == "date":
        return local.strftime("%Y-%m-%d")
    if form == "minute":
        return local.strftime("%Y-%m-%dT%H:%M")
    if form == "utc":
        return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if form == "offset":
        return local.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30))).isoformat(timespec="seconds")
    return local.strftime("%Y%m%d")


@st.composite
def series(draw: st.DrawFn, *, event_names: Sequence[str] = EVENT_NAMES, action_ids: Sequence[int] = (),
           maths: Sequence[str] = MATHS) -> dict[str, Any]:
    """One legacy series entity: an event (None = all events) or an action (maybe a missing one)."""
    event_names = _check_names("event_names", event_names)
    maths = _check_choices("maths", maths, MATHS)
    m = draw(st.sampled_from(maths))
    if action_ids and draw(st.integers(0, 3)) == 0:
        entity: dict[str, Any] = {"id": draw(st.sampled_from(tuple(action_ids) + (99,))), "type": "actions"}
    else:
        entity = {"id": draw(st.sampled_from(tuple(event_names) + (None,))), "type": "events"}
    if m != "total" or draw(st.booleans()):
        entity["math"] = m
    if m == "unique_group" or (m in ("dau", "weekly_active", "monthly_active") and draw(st.integers(0, 3)) == 0):
        entity["math_group_type_index"] = draw(st.sampled_from((0, 1)))
    if m in reference.PROPERTY_MATHS:
        entity["math_property"] = draw(st.sampled_from(MATH_PROPERTIES))
    if draw(st.integers(0, 4)) == 0:
        entity["custom_name"] = "custom"
    return entity


@st.composite
def breakdown_filters(draw: st.DrawFn, *, types: Sequence[str] = BREAKDOWN_TYPES, max_items: int = 3,
                      min_limit: int = -1, max_limit: int = 6, cohort_ids: Sequence[int] = ()) -> dict[str, Any]:
    """The breakdown fields of a legacy filter: ``breakdown``/``breakdown_type`` or
    ``breakdowns`` (1..max_items), with limit, URL normalisation, histogram and hide-Other flags;
    or a cohort breakdown over ``cohort_ids`` (the project's), ``"all"`` and now and then an
    unknown id."""
    types = _check_choices("types", types, BREAKDOWN_TYPES)
    _check_int("max_items", max_items, lo=1)
    if max_items > 3:
        raise InvalidArgument(f"max_items={max_items!r} must be at most 3 (PostHog's limit)")
    _check_bounds("min_limit", min_limit, "max_limit", max_limit, lo=-100)
    if isinstance(cohort_ids, str) or not isinstance(cohort_ids, Sequence):
        raise InvalidArgument(f"cohort_ids={cohort_ids!r} must be a sequence of cohort ids")
    item_types = tuple(t for t in types if t != "cohort")

    def item() -> st.SearchStrategy[dict[str, Any]]:
        return st.sampled_from(item_types).flatmap(lambda t: st.fixed_dictionaries({
            "type": st.just(t),
            "property": st.sampled_from(BREAKDOWN_PROPERTIES[t]),
        }).map(lambda d: {**d, "group_type_index": 0} if t == "group" else d))

    out: dict[str, Any] = {}
    if "cohort" in types and (not item_types or draw(st.integers(0, 3)) == 0):
        pool = tuple(cohort_ids) + ("all",) + ((99,) if draw(st.integers(0, 19)) == 7 else ())
        chosen = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
        out["breakdown"] = chosen[0] if len(chosen) == 1 and draw(st.booleans()) else chosen
        out["breakdown_type"] = "cohort"
    elif draw(st.booleans()):
        items = draw(st.lists(item(), min_size=1, max_size=max_items))
        for it in items:
            if it["property"] in URL_PROPERTIES and draw(st.booleans()):
                it["normalize_url"] = True
            if it["property"] in HISTOGRAM_PROPERTIES and draw(st.integers(0, 2)) == 0:
                it["histogram_bin_count"] = draw(st.integers(1, 5))
        out["breakdowns"] = items
    else:
        it = draw(item())
        out["breakdown"] = it["property"]
        out["breakdown_type"] = it["type"]
        if it["type"] == "group":
            out["breakdown_group_type_index"] = it["group_type_index"]
        if it["property"] in URL_PROPERTIES and draw(st.booleans()):
            out["breakdown_normalize_url"] = True
        if it["property"] in HISTOGRAM_PROPERTIES and draw(st.booleans()):
            out["breakdown_histogram_bin_count"] = draw(st.integers(1, 5))
    limit = draw(st.one_of(st.none(), st.integers(min_limit, max_limit)))
    if limit is not None:
        out["breakdown_limit"] = limit
    if draw(st.integers(0, 4)) == 0:
        out["breakdown_hide_other_aggregation"] = True
    return out


@st.composite
def trends_filters(draw: st.DrawFn, *, now: dt.datetime | None = None, timezone: str = "UTC",
                   event_names: Sequence[str] = EVENT_NAMES, action_ids: Sequence[int] = (),
                   min_series: int = 1, max_series: int = 3, intervals: Sequence[str] = INTERVALS,
                   displays: Sequence[str] = DISPLAYS, maths: Sequence[str] = MATHS,
                   breakdown: bool | None = None, max_smoothing: int = 4,
                   date_froms: Sequence[str] | None = None,
                   date_tos: Sequence[str | None] | None = None, formula: bool | None = None,
                   compare: bool | None = None, breakdown_types: Sequence[str] = BREAKDOWN_TYPES,
                   sources: Sequence[str] = reference.PROPERTY_SOURCES, cohort_ids: Sequence[Any] = (),
                   max_leaves: int = 3, filters: bool | None = None) -> dict[str, Any]:
    """A legacy Trends filter dict. ``breakdown`` None = sometimes, True = always, False = never;
    ``date_froms``/``date_tos`` restrict the dates to those values; ``formula`` (None = sometimes)
    adds a legacy ``formula`` (with or without breakdown and compare); ``compare`` (None =
    sometimes) compares with the previous period or a ``compare_to`` offset; ``breakdown_types``
    goes to ``breakdown_filters``; ``sources``, ``cohort_ids`` (also for cohort breakdowns) and
    ``max_leaves`` shape the property filters; ``filters=False`` leaves out property filters and
    test accounts (None = sometimes)."""
    _check_bounds("min_series", min_series, "max_series", max_series, lo=1)
    _check_int("max_smoothing", max_smoothing, lo=1)
    intervals = _check_choices("intervals", intervals, INTERVALS + ("minute",))
    displays = _check_choices("displays", displays, DISPLAYS)
    q: dict[str, Any] = {
        "events": [],
        "actions": [],
        "interval": draw(st.sampled_from(intervals)),
        "date_from": draw(date_strings(now=now, timezone=timezone, choices=date_froms)),
    }
    for s in draw(st.lists(series(event_names=event_names, action_ids=action_ids, maths=maths),
                           min_size=min_series, max_size=max_series)):
        (q["actions"] if s["type"] == "actions" else q["events"]).append({**s, "order": len(q["events"]) + len(q["actions"])})
    date_to = draw(date_strings(now=now, timezone=timezone, to=True, choices=date_tos))
    if date_to is not None:
        q["date_to"] = date_to
    display = draw(st.sampled_from(displays))
    if display != "ActionsLineGraph" or draw(st.booleans()):
        q["display"] = display
    if draw(st.integers(0, 5)) == 0:
        q["explicit_date"] = True
    if max_smoothing > 1 and draw(st.integers(0, 3)) == 0:
        q["smoothing_intervals"] = draw(st.integers(2, max_smoothing))
    if draw(st.integers(0, 5)) == 0:
        q["aggregation_group_type_index"] = draw(st.sampled_from((0, 1)))
    if draw(st.integers(0, 6)) == 0:
        q["sampling_factor"] = draw(st.sampled_from((0.1, 0.3, 0.5, 1)))
    if breakdown or (breakdown is None and draw(st.booleans())):
        q.update(draw(breakdown_filters(types=breakdown_types, cohort_ids=cohort_ids)))
    if compare or (compare is None and draw(st.integers(0, 3)) == 0):
        q["compare"] = True
        if draw(st.integers(0, 2)) == 0:
            q["compare_to"] = draw(st.sampled_from(COMPARE_TO))
    if formula or (formula is None and draw(st.integers(0, 3)) == 0):
        q["formula"] = draw(_formula_texts(len(q["events"]) + len(q["actions"])))
    if filters is False:
        return q
    leaves = {"sources": sources, "cohort_ids": cohort_ids, "now": now, "timezone": timezone}
    props = draw(property_filters(max_leaves=max_leaves, **leaves))
    if props or draw(st.booleans()):
        q["properties"] = props
    for s in q["events"] + q["actions"]:
        if draw(st.integers(0, 3)) == 0:
            s["properties"] = draw(property_filters(groups=False, max_leaves=2, **leaves))
    if draw(st.integers(0, 3)) == 0:
        q["filter_test_accounts"] = True
    return q


def _formula_texts(n_series: int) -> st.SearchStrategy[str]:
    """A formula; four times in five one whose letters all name one of the ``n_series`` series."""
    fitting = tuple(f for f in FORMULAS if all(ord(c) - ord("a") < n_series for c in f.lower() if c.isalpha()))
    if not fitting:
        return st.sampled_from(FORMULAS)
    return st.integers(0, 4).flatmap(lambda k: st.sampled_from(FORMULAS if k == 3 else fitting))


SERIES_KEYS = ("math", "math_property", "math_group_type_index", "custom_name", "properties")
BREAKDOWN_FILTER_KEYS = ("breakdown", "breakdown_type", "breakdowns", "breakdown_limit", "breakdown_group_type_index",
                         "breakdown_normalize_url", "breakdown_hide_other_aggregation")


def to_trends_query(legacy: dict[str, Any]) -> dict[str, Any]:
    """The ``{"kind": "TrendsQuery"}`` form of a legacy filter dict from ``trends_filters``."""
    nodes = []
    for e in sorted(legacy.get("events", []) + legacy.get("actions", []), key=lambda e: e.get("order", 0)):
        node = {k: e[k] for k in SERIES_KEYS if k in e}
        if e.get("type") == "actions":
            nodes.append({"kind": "ActionsNode", "id": e["id"], **node})
        else:
            nodes.append({"kind": "EventsNode", "event": e["id"], **node})
    q: dict[str, Any] = {"kind": "TrendsQuery", "series": nodes, "interval": legacy.get("interval", "day")}
    q["dateRange"] = {k: legacy[k] for k in ("date_from", "date_to") if legacy.get(k) is not None}
    if legacy.get("explicit_date"):
        q["dateRange"]["explicitDate"] = True
    for src, dst in (("properties", "properties"), ("filter_test_accounts", "filterTestAccounts"),
                     ("sampling_factor", "samplingFactor"),
                     ("aggregation_group_type_index", "aggregation_group_type_index")):
        if src in legacy:
            q[dst] = legacy[src]
    breakdown = {k: legacy[k] for k in BREAKDOWN_FILTER_KEYS if k in legacy}
    if breakdown:
        q["breakdownFilter"] = breakdown
    trends = {dst: legacy[src] for src, dst in (("display", "display"), ("smoothing_intervals", "smoothingIntervals"),
                                                ("formula", "formula")) if src in legacy}
    if trends:
        q["trendsFilter"] = trends
    compare = {k: legacy[k] for k in ("compare", "compare_to") if k in legacy}
    if compare:
        q["compareFilter"] = compare
    return q


@st.composite
def trends_queries(draw: st.DrawFn, **kwargs: Any) -> dict[str, Any]:
    """``{"kind": "TrendsQuery", ...}`` dicts: ``trends_filters(**kwargs)`` in the newer form,
    where the ``minute`` interval is allowed (pass ``intervals=("minute", ...)``) and a formula
    may come as several ``formulas`` or ``formulaNodes`` (with custom names)."""
    return _more_formulas(draw, to_trends_query(draw(trends_filters(**kwargs))))


def _more_formulas(draw: st.DrawFn, q: dict[str, Any]) -> dict[str, Any]:
    """Sometimes turn a TrendsQuery's ``formula`` into ``formulas`` or ``formulaNodes``."""
    tf = q.get("trendsFilter") or {}
    if "formula" not in tf or draw(st.booleans()):
        return q
    texts = [tf["formula"]] + draw(st.lists(st.sampled_from(FORMULAS), min_size=0, max_size=2))
    rest = {k: v for k, v in tf.items() if k != "formula"}
    if draw(st.booleans()):
        rest["formulas"] = texts
    else:
        rest["formulaNodes"] = [{"formula": t, **({"custom_name": f"F{i}"} if draw(st.booleans()) else {})}
                                for i, t in enumerate(texts)]
    return {**q, "trendsFilter": rest}


@dataclass(frozen=True)
class Scenario:
    """A world and a query over it."""

    world: World
    query: dict[str, Any]

    def expected(self, limits: Limits | None = None) -> list[dict[str, Any]]:
        """The reference answer (series dicts without ``filter``/``action``)."""
        w = self.world
        return reference.reference_trends(w.events, w.persons, w.groups, query=self.query, project=w.project,
                                          now=w.now, limits=limits or Limits())


@st.composite
def scenarios(draw: st.DrawFn, *, min_events: int = 0, max_events: int = 30, timezone: str | None = None,
              timezone_pool: Sequence[str] = TIMEZONES, query_form: bool = False, **filter_kwargs: Any) -> Scenario:
    """A world and a Trends filter over it (absolute dates near its ``now``, its actions);
    ``filter_kwargs`` go to ``trends_filters``; ``query_form`` gives the TrendsQuery form."""
    tz = timezone or draw(timezones(allowed=timezone_pool))
    w = draw(worlds(min_events=min_events, max_events=max_events, timezone=tz))
    action_ids = [a["id"] for a in w.project.actions]
    filter_kwargs.setdefault("cohort_ids", [c["id"] for c in w.project.cohorts])
    q = draw(trends_filters(now=w.now, timezone=w.project.timezone, action_ids=action_ids, **filter_kwargs))
    if query_form:
        q = _more_formulas(draw, to_trends_query(q))
    return Scenario(w, q)
