"""The derived sessions table (filters.md §9)."""

from __future__ import annotations

import numpy as np

import trendcalc as tc
from trendcalc.store.channel import channel_type, first_significant_subdomain
from trendcalc.store.sessions import session_table, url_host, url_path

S1, S2 = "016f5e66-e800-7001-8000-000000000000", "016f5e66-e800-7002-8000-000000000000"


def world() -> tc.EventStore:
    return tc.EventStore.from_records([
        {"event": "$pageview", "distinct_id": "a", "timestamp": "2020-01-10T00:00:00.900Z",
         "properties": {"$session_id": S1, "$current_url": "https://a.com/x?q=1", "utm_source": "news"}},
        {"event": "$autocapture", "distinct_id": "a", "timestamp": "2020-01-10T00:00:02.100Z",
         "properties": {"$session_id": S1, "$current_url": "https://a.com/y"}},
        {"event": "$pageview", "distinct_id": "b", "timestamp": "2020-01-11T00:00:00Z",
         "properties": {"$session_id": S2, "$current_url": ""}},
        {"event": "$pageview", "distinct_id": "c", "timestamp": "2020-01-11T00:00:00Z",
         "properties": {"$session_id": "not-a-uuid7"}},
    ])


def test_sessions_are_uuid7_ids_with_fields_from_all_their_events():
    store = world()
    t = session_table(store)
    assert t.ids == (S1, S2)
    assert t.duration.tolist() == [2.0, 0.0]  # second boundaries crossed: 00:00 → 00:02
    def values(name):
        col = t.column(name)
        return [col.dictionary.values[c] if c >= 0 else None for c in col.codes.tolist()]
    assert values("$entry_current_url") == ["https://a.com/x?q=1", None]
    assert values("$end_current_url") == ["https://a.com/y", None]
    assert values("$entry_pathname") == ["/x", None]
    assert values("$entry_hostname") == ["a.com", None]
    assert values("$entry_utm_source") == ["news", None]
    assert values("$pageview_count") == [1, 1]
    assert values("$autocapture_count") == [1, 0]
    assert values("$is_bounce") == [False, True]
    assert values("$session_duration") == [2, 0]
    assert session_table(store) is t  # cached per store


def test_url_fields_read_like_clickhouse():
    """JSONExtractString (a number is "", "null" text is a URL for $urls), path() and domain()
    giving "" rather than NULL, and the host as written."""
    store = tc.EventStore.from_records([
        {"event": "$pageview", "distinct_id": "a", "timestamp": f"2020-01-10T00:00:0{i}Z",
         "properties": {"$session_id": S1, "$current_url": url}}
        for i, url in enumerate([5, "null", "https://Shop.X.io", "http://localhost:8000/app"])
    ])
    t = session_table(store)

    def value(name):
        col = t.column(name)
        return col.dictionary.values[col.codes[0]] if col.codes[0] >= 0 else None

    assert value("$entry_current_url") is None  # 5 → "" → NULL
    assert value("$num_uniq_urls") == 3  # "null", https://Shop.X.io, http://localhost:8000/app
    assert value("$end_pathname") == "/app"
    assert value("$end_hostname") == ""  # no dot: no domain
    assert (url_path("https://Shop.X.io"), url_host("https://Shop.X.io")) == ("", "Shop.X.io")
    assert (url_path("/user/5?x#y"), url_host("/user/5")) == ("/user/5", "")


def test_sessionless_rows_read_defaults():
    store = world()
    t = session_table(store)
    block = store.event_slice(store.event_code("$pageview"), 0, 2**62)
    rows = np.arange(block.start, block.stop)
    codes, dictionary = t.row_codes("$session_duration", rows)
    got = [dictionary.values[c] if c >= 0 else None for c in codes.tolist()]
    assert sorted(got) == [0, 0, 2]
    codes, _ = t.row_codes("$entry_current_url", rows)
    assert codes[t.session_of_row[rows] < 0].tolist() == [-1]  # NULL for string fields


def test_channel_type_rules():
    assert channel_type(None, None, None, "$direct") == "Direct"
    assert channel_type(None, None, None, "https://www.google.com") == "Organic Search"
    assert channel_type("google", "cpc", None, None) == "Paid Search"
    assert channel_type(None, None, "summer-cross-network", None) == "Cross Network"
    assert channel_type("newsletter", "email", None, None) == "Email"
    assert channel_type(None, None, None, "https://www.someothersite.com") == "Referral"
    assert channel_type(None, None, None, None) == "Unknown"
    assert channel_type(None, None, None, None, has_gclid=True) == "Paid Unknown"
    assert first_significant_subdomain("https://www.google.co.uk/search") == "google.co.uk"
