"""The values hypothesis strategies draw from: names, ids, timezones, property values and the
query vocabulary the reference implements (the data half of ``trendcalc.testing.strategies``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ..project import PropertyDefinition
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

# UUIDv7 session ids (sessions; the upper-case one is the first session again) and a UUIDv4 (none),
# as values of the ``$session_id`` event property.
SESSION_PROPERTY_IDS = ("0190a0b4-5e2c-7c3d-8a1b-1234567890ab", "0190a0b4-5e2c-7c3d-8a1b-000000000002",
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
    "$session_id": ("s1", "s2", "", "1", 1) + SESSION_PROPERTY_IDS,
    "$time": (1710000000, 1710000000.9, -1.5, "1710000000", "2024-03-10T10:00:00Z", "2024-03-10T10:00:00+02:00",
              "2024-03-10 10:00:00", "abc", True, "1e400"),
}
URL_PROPERTIES = ("$current_url", "$entry_current_url", "$end_current_url", "$exit_current_url")
MATH_PROPERTIES = ("plan", "flag", "$browser", "missing", "$session_duration", "$time")
# math_property_type → the math properties drawn with it: a person's keys (no session/$time
# property: the reference leaves those unspecified), and for group_properties also a key only
# groups have (PostHog reads the event property of that name, so it answers 0).
MATH_PROPERTY_TYPES: dict[str, tuple[str, ...]] = {
    "event_properties": MATH_PROPERTIES,
    "numerical_event_properties": MATH_PROPERTIES,
    "person_properties": ("plan", "flag", "email", "missing"),
    "group_properties": MATH_PROPERTIES + ("size",),
}
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
    PropertyDefinition("plan", "Numeric", "event"),
    PropertyDefinition("flag", "Boolean", "event"),
    PropertyDefinition("plan", "Numeric", "person"),
    PropertyDefinition("flag", "Boolean", "person"),
    PropertyDefinition("size", "Numeric", "group", group_type_index=0),
    PropertyDefinition("$browser", "String", "event"),
    PropertyDefinition("signup_at", "DateTime", "event"),
    PropertyDefinition("signup_at", "Numeric", "event"),
    PropertyDefinition("created", "DateTime", "person"),
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


def _pick(draw: st.DrawFn, choices: Sequence[Any]) -> Any:
    """One of ``choices`` (built per draw, so not worth a sampled_from strategy each time)."""
    return choices[draw(st.integers(0, len(choices) - 1))]
