"""Differential tests: the vectorised engine equals the plain reference on random worlds.

Each test draws scenarios focused on one area so every area gets its share of examples. Every
disagreement found so far is pinned below with ``@example`` and a note.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import trendcalc as tc
from trendcalc.limits import Limits
from trendcalc.testing import reference
from trendcalc.testing import strategies as tst
from trendcalc.testing.reference import TOTAL_VALUE_DISPLAYS, comparable

from .conftest import share

LIMITS = Limits(max_buckets=800)
UTC = dt.timezone.utc


def run_both(scenario: tst.Scenario, expected=None):
    """(engine, reference) answers in comparable form; a ValidationError on either side is a value.
    ``expected``: the reference's answer (default: the scenario's, from ``testing.reference``)."""
    w = scenario.world
    try:
        got = comparable(tc.trends(w.store(), scenario.query, project=w.project, now=w.now, limits=LIMITS).to_dicts())
    except tc.ValidationError as exc:
        got = ("error", type(exc).__name__)
    try:
        want = comparable(expected() if expected is not None else scenario.expected(LIMITS))
    except tc.ValidationError as exc:
        want = ("error", type(exc).__name__)
    return got, want


def first_difference(got, want) -> str:
    """A short description of the first place two comparable answers differ."""
    if not isinstance(got, list) or not isinstance(want, list):
        return f"engine {got!r:.300} / reference {want!r:.300}"
    if len(got) != len(want):
        return f"{len(got)} series from the engine, {len(want)} from the reference: {[g.get('label') for g in got]} / {[w.get('label') for w in want]}"
    for i, (g, w) in enumerate(zip(got, want)):
        for k in sorted(set(g) | set(w)):
            a, b = g.get(k, "<missing>"), w.get(k, "<missing>")
            if a != b:
                if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
                    j = next(j for j, (x, y) in enumerate(zip(a, b)) if x != y)
                    return f"series {i} ({w.get('label')!r}) key {k!r} [{j}] of {len(a)}: engine {a[j]!r} / reference {b[j]!r}"
                return f"series {i} ({w.get('label')!r}) key {k!r}: engine {a!r:.400} / reference {b!r:.400}"
    return "equal"


def assert_same(scenario: tst.Scenario) -> None:
    got, want = run_both(scenario)
    assert got == want, first_difference(got, want)


def world(events, tz="UTC", now="2024-03-15T10:00:00Z", persons=(), project_kw=None):
    project = tc.Project(timezone=tz, **{"infer_property_types": False, **(project_kw or {})})  # (the reference does not infer)
    return tst.World(events, list(persons), [], project, dt.datetime.fromisoformat(now.replace("Z", "+00:00")))


def ev(ts, name="$pageview", did="u1", **props):
    return {"event": name, "distinct_id": did, "timestamp": ts, "properties": props}


# Bug 1: the engine matched a relative token at any letter ([a-zA-Z]); PostHog's pattern only
# knows [hdwmqysHDWMQY], so "x-3d" is 3 days ago, not now. Fixed in engine/timeaxis.py.
X3D = tst.Scenario(world([ev("2024-03-13T10:00:00Z")]), {"events": [{"id": "$pageview"}], "date_from": "x-3d"})


# Bug 2: a constant the property's type cannot take (is_not "Chrome" on a Numeric property) failed
# the engine's query only when the property had a non-NULL value somewhere, so the answer depended
# on the data; upstream fails while compiling. Fixed in engine/predicates/operators.py (_apply).
MISTYPED = tst.Scenario(
    world([], project_kw={"property_definitions": [{"name": "plan", "type": "Numeric", "kind": "person"}]}),
    {"events": [{"id": "$pageview", "properties": [{"key": "plan", "type": "person", "operator": "is_not",
                                                    "value": "Chrome"}]}], "date_from": "-7d"},
)


# Bug 3: smoothing took window sums as differences of a prefix sum; after a 4/3 the window [1, 1]
# summed to 1.999…, so floor((1 + 1) / 2) was 0. Fixed in engine/post.py (exact window sums).
SMOOTH_FLOAT = tst.Scenario(
    world([ev("2024-03-12T10:00:00Z", did="u1"), ev("2024-03-12T11:00:00Z", did="u1"), ev("2024-03-12T12:00:00Z", did="u2"),
           ev("2024-03-12T13:00:00Z", did="u3"), ev("2024-03-14T10:00:00Z"), ev("2024-03-15T09:00:00Z")]),
    {"events": [{"id": "$pageview", "math": "avg_count_per_actor"}], "date_from": "-4d", "smoothing_intervals": 2},
)


# Bug 4: date_to was normalised out of a DST gap (02:59:59 → 03:59:59 CEST) before compare measured
# the period; PostHog subtracts wall clocks, so the previous period was an hour too long. Fixed in
# engine/timeaxis.py (resolve_range keeps the wall-clock date_to).
DST_COMPARE = tst.Scenario(
    world([ev("2016-03-19T01:30:00Z")], tz="Europe/Berlin", now="2016-03-27T01:00:00Z"),
    {"events": [{"id": "$pageview"}], "interval": "hour", "date_from": "-7d", "date_to": "-1h", "compare": True},
)


# Bug 5: the reference counted a distinct-count math once per histogram bin; PostHog's events
# query groups by the raw number (with the other breakdown items) and the query above it puts the
# numbers into bins and sums (trends_query_builder.py), so u1 with plan 10, 11 and 12 in one bin
# counts 3 times for dau — as the engine does. Fixed in the reference (fine values, fold_fine).
HISTOGRAM_DAU = tst.Scenario(
    world([ev("2024-03-13T10:00:00Z", plan=10, **{"$browser": "Chrome"}),
           ev("2024-03-13T11:00:00Z", plan=11, **{"$browser": "Chrome"}),
           ev("2024-03-14T10:00:00Z", plan=12, **{"$browser": "Chrome"}),
           ev("2024-03-14T10:00:00Z", did="u2", plan=30, **{"$browser": "Chrome"}),
           ev("2024-03-06T10:00:00Z", plan=10, **{"$browser": "Chrome"}),
           ev("2024-03-06T12:00:00Z", plan=11, **{"$browser": "Chrome"})]),
    {"events": [{"id": "$pageview", "math": "dau"}], "date_from": "-7d", "display": "ActionsTable", "compare": True,
     "breakdowns": [{"property": "plan", "histogram_bin_count": 2}, {"property": "$browser"}]},
)


# Bug 10: ``count`` is upstream's float(sum(data)), a left-to-right sum; the engine summed with
# NumPy (pairwise), so ten days of 0.1 counted 1.0 instead of 0.9999999999999999 (found on a
# cohort breakdown). Fixed in engine/trends.py and engine/formulas.py.
FLOAT_COUNT = tst.Scenario(
    world([ev(f"2024-03-{d:02d}T10:00:00Z", plan=0.1) for d in range(5, 15)]),
    {"events": [{"id": "$pageview", "math": "sum", "math_property": "plan"}], "date_from": "2024-03-05",
     "date_to": "2024-03-14"},
)


@given(tst.scenarios())
@example(X3D)
@example(FLOAT_COUNT)
@example(DST_COMPARE)
@example(SMOOTH_FLOAT)
@example(MISTYPED)
def test_engine_equals_reference(scenario):
    assert_same(scenario)


@given(tst.scenarios(timezone_pool=tst.DST_TIMEZONES, breakdown=False))
def test_dates_and_dst(scenario):
    assert_same(scenario)


@given(tst.scenarios(breakdown=True, min_events=5, max_events=40))
@example(HISTOGRAM_DAU)
def test_breakdowns(scenario):
    assert_same(scenario)


@given(tst.scenarios(displays=TOTAL_VALUE_DISPLAYS))
def test_total_value_displays(scenario):
    assert_same(scenario)


# A cumulative breakdown shows its rows by the sum of their running totals (the engine since the
# extra conformance case test_trends_breakdown_cumulative): "a" (1 early event) before "b" (2 late
# ones). The reference ranked by raw totals; fixed in reference.cumulative_order.
CUMULATIVE_ORDER = tst.Scenario(
    world([ev("2024-03-12T10:00:00Z", **{"$browser": "a"}), ev("2024-03-15T09:00:00Z", **{"$browser": "b"}),
           ev("2024-03-15T09:30:00Z", **{"$browser": "b"})]),
    {"events": [{"id": "$pageview"}], "date_from": "-3d", "display": "ActionsLineGraphCumulative", "breakdown": "$browser"},
)


@given(tst.scenarios(displays=("ActionsLineGraphCumulative",), max_smoothing=3))
@example(CUMULATIVE_ORDER)
def test_cumulative(scenario):
    assert_same(scenario)


# Bug 11 (reference): Lord Howe's 30-minute DST change leaves rows in the range whose local hour
# is no bucket; the engine drops them before grouping (no breakdown value), the reference kept a
# zero row for their value. The reference now drops them first, as the engine does (§2.2; §2.4 is
# UNCONFIRMED there — upstream's SQL would keep the zero row, see the reference's note).
LORD_HOWE_HOUR = tst.Scenario(
    world([ev("2016-04-02T15:05:00Z", **{"$browser": "Chrome"})], tz="Australia/Lord_Howe", now="2016-04-02T15:13:04Z"),
    {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}], "interval": "hour",
     "dateRange": {"date_from": "-30M", "explicitDate": True}, "breakdownFilter": {"breakdown": "$browser"}},
)


@given(tst.scenarios(query_form=True, intervals=("minute", "hour", "day", "week", "month"),
                     date_froms=("-30M", "-3h", "dStart", "-7d", "-24h", "-1dStart", "all", "mStart")))
@example(LORD_HOWE_HOUR)
def test_trends_query_form(scenario):
    assert_same(scenario)


# --- property filters, event by event ------------------------------------------------------------


@st.composite
def filter_scenarios(draw, sources=reference.PROPERTY_SOURCES, operators=tuple(tst.OPERATOR_VALUES),
                     actions: bool = True):
    """A world whose events carry their index (``eid``) and a query over all of them (or one
    action) broken down by it: the answer says, event by event, which ones pass the filters
    (one or two leaves, or any property filter shape)."""
    w = draw(tst.worlds(min_events=5, max_events=40))
    events = [{**e, "properties": {**(e.get("properties") or {}), "eid": i}} for i, e in enumerate(w.events)]
    series = {"id": None, "type": "events"}
    if actions and w.project.actions and draw(st.booleans()):
        series = {"id": draw(st.sampled_from([a["id"] for a in w.project.actions])), "type": "actions"}
    kw = {"sources": sources, "operators": operators, "cohort_ids": [c["id"] for c in w.project.cohorts],
          "now": w.now, "timezone": w.project.timezone}
    leaf = tst.property_leaves(**kw)
    props = draw(st.one_of(st.lists(leaf, min_size=1, max_size=2),
                           st.fixed_dictionaries({"type": st.just("OR"), "values": st.lists(leaf, min_size=2, max_size=2)}),
                           tst.property_filters(**kw)))
    q = {"events" if series["type"] == "events" else "actions": [series], "date_from": "2000-01-01",
         "date_to": "2100-01-01", "display": "ActionsTable", "breakdown": "eid", "breakdown_limit": 1000,
         "properties": props}
    if draw(st.integers(0, 3)) == 0:
        q["filter_test_accounts"] = True
    now = w.now + dt.timedelta(microseconds=draw(st.sampled_from((0, 0, 1, 500_000, 999_999))))
    return tst.Scenario(tst.World(events, w.persons, w.groups, w.project, now), q)


def by_event(events, properties, *, now="2024-03-15T10:00:00Z", persons=(), **project):
    """A pinned filter scenario: which of ``events`` pass ``properties`` (see filter_scenarios)."""
    events = [{**e, "properties": {**e["properties"], "eid": i}} for i, e in enumerate(events)]
    w = tst.World(events, list(persons), [], tc.Project(**{"infer_property_types": False, **project}), dt.datetime.fromisoformat(now.replace("Z", "+00:00")))
    return tst.Scenario(w, {"events": [{"id": None}], "date_from": "2000-01-01", "date_to": "2100-01-01",
                            "display": "ActionsTable", "breakdown": "eid", "breakdown_limit": 1000,
                            "properties": properties})


SESSION = "018e2a4c-1d2b-7c3d-8e4f-5a6b7c8d9e0f"

# Bug 5: semver read versions with Python's \s and \d, so "1.2.3<no-break space>" and "1.٢.3"
# were versions; upstream's sortableSemver is an RE2 extract (ASCII classes). Fixed in
# engine/predicates/operators.py (semver_key on RE2).
SEMVER_NBSP = by_event([ev("2024-03-10T10:00:00Z", **{"$app_version": "1.2.3\u00a0"}),
                        ev("2024-03-10T10:00:00Z", **{"$app_version": "1.\u0662.3"})],
                       [{"key": "$app_version", "operator": "semver_gte", "value": "1.0.0"}])

# Bug 6: tilde/caret/wildcard bounds were parsed leniently as integers; upstream pastes the
# parts as written into the bound strings, so "01.2.3" gives a bound that is not semver and the
# filter matches nothing. Fixed in engine/predicates/operators.py (SEMVER_RANGES build strings).
SEMVER_BOUNDS = by_event([ev("2024-03-10T10:00:00Z", **{"$app_version": "1.2.5"})],
                         [{"key": "$app_version", "operator": "semver_tilde", "value": "01.2.3"}])

# Bug 7: session pathname/hostname: ClickHouse path()/domain() give "" (not NULL) for
# "https://x.io" and "localhost", and keep the host's case. Fixed in store/sessions.py.
SESSION_PATH = by_event([ev("2024-02-29T13:00:01Z", "$screen", **{"$session_id": SESSION, "$current_url": "https://x.io"})],
                        [{"key": "$entry_pathname", "type": "session", "operator": "not_icontains_multi", "value": "hr"}])
SESSION_HOST = by_event([ev("2024-03-10T12:00:00Z", **{"$session_id": SESSION, "$current_url": "https://Shop.X.io/a"})],
                        [{"key": "$entry_hostname", "type": "session", "value": "Shop.X.io"}])

# Bug 8: $start_timestamp/$end_timestamp were whole seconds; upstream keeps DateTime64(6).
# Fixed in filters/properties.py (_session_times).
SESSION_START = by_event([ev("2024-03-10T12:00:00.500000Z", **{"$session_id": SESSION})],
                         [{"key": "$start_timestamp", "type": "session", "operator": "gt", "value": "2024-03-10 12:00:00"}])

# Bug 9: session URLs are JSONExtractString: a non-string $current_url is "" (NULL), "null" text
# is a URL for $num_uniq_urls, and strings compare without JSON escapes. Fixed in
# store/sessions.py and filters/properties.py (session strings on their raw text).
SESSION_URLS = by_event([ev("2024-03-10T12:00:00Z", **{"$session_id": SESSION, "$current_url": 5}),
                         ev("2024-03-10T12:00:01Z", **{"$session_id": SESSION, "$current_url": 6}),
                         ev("2024-03-10T12:00:02Z", **{"$session_id": SESSION, "$current_url": "null"}),
                         ev("2024-03-10T12:00:03Z", **{"$session_id": SESSION, "$current_url": 'https://x.io/?a="b"'})],
                        [{"key": "$entry_current_url", "type": "session", "operator": "is_not_set"},
                         {"key": "$num_uniq_urls", "type": "session", "operator": "exact", "value": 2},
                         {"key": "$end_current_url", "type": "session", "operator": "icontains", "value": 'a="b'}])

# Bug 10: numbers and dates were parsed with Python's \d, so "１０" was 10 and "２０２４-03-10" a
# date; ClickHouse reads ASCII digits only. Fixed in store/columns.py and store/datetimes.py.
UNICODE_DIGITS = by_event([ev("2024-03-10T12:00:00Z", n="\uff11\uff10", d="\uff12024-03-10")],
                          {"type": "OR", "values": [{"key": "n", "operator": "is_set"}, {"key": "d", "operator": "is_set"}]},
                          property_definitions=[{"name": "n", "type": "Numeric"}, {"name": "d", "type": "DateTime"}])

# Bug 11: relative is_date values kept the clock's microseconds; upstream renders them as
# whole-second wall clocks. Fixed in engine/predicates/operators.py (resolve_date).
RELATIVE_SECOND = by_event([ev("2024-03-10T12:00:00Z", d="2024-03-08 10:00:00")],
                           [{"key": "d", "operator": "is_date_exact", "value": "-7d"}], now="2024-03-15T10:00:00.5Z")

# Bug 12: an element filter with an empty list matched every event; upstream builds an OR (AND)
# of one condition per member, and an empty or() fails in ClickHouse. Fixed in
# filters/properties_parse.py (check_element raises).
ELEMENT_EMPTY = by_event([ev("2024-03-10T10:00:00Z", "sign up")],
                         [{"key": "href", "type": "element", "operator": "exact", "value": []}])


@given(filter_scenarios())
@example(SEMVER_NBSP)
@example(SEMVER_BOUNDS)
@example(SESSION_PATH)
@example(SESSION_HOST)
@example(SESSION_START)
@example(SESSION_URLS)
@example(UNICODE_DIGITS)
@example(RELATIVE_SECOND)
@example(ELEMENT_EMPTY)
def test_property_filters_event_by_event(scenario):
    assert_same(scenario)


@given(filter_scenarios(sources=("session", "event_metadata", "person")))
def test_session_metadata_and_person_filters(scenario):
    assert_same(scenario)


@given(filter_scenarios(sources=("element", "cohort", "event")))
def test_element_cohort_filters_and_actions(scenario):
    assert_same(scenario)


@given(filter_scenarios(operators=tuple(reference.DATE_OPERATORS + reference.SEMVER_OPERATORS
                                        + reference.SEMVER_RANGE_OPERATORS) + ("is_cleaned_path_exact", "exact", "gt")))
def test_date_semver_and_path_operators(scenario):
    assert_same(scenario)


# Bug 6: with compare and a breakdown, formula results keep natsort order among equal counts;
# natsort ties "Chrome" and "chrome" (case-insensitive) and the engine took them in set order,
# so the answer changed with PYTHONHASHSEED. Fixed in engine/formulas.py (ties by repr).
NATSORT_TIES = tst.Scenario(
    world([ev("2024-03-14T10:00:00Z", **{"$browser": b}) for b in ("Chrome", "chrome", "Safari", "safari", "é", "e")]),
    {"events": [{"id": "$pageview"}], "date_from": "-3d", "breakdown": "$browser", "formula": "A", "compare": True},
)


@share(50)
@given(tst.scenarios(formula=True, min_events=3, max_events=30))
@example(NATSORT_TIES)
def test_formulas(scenario):
    """Formulas alone, with breakdowns (rows aligned by value, fillers) and with compare."""
    assert_same(scenario)


@share(50)
@given(tst.scenarios(formula=True, query_form=True, intervals=("minute", "hour", "day", "week", "month")))
def test_formulas_trends_query(scenario):
    """Several formulas (``formulas``/``formulaNodes``) in the TrendsQuery form."""
    assert_same(scenario)


@share(50)
@given(tst.scenarios(query_form=True, group_series=True, intervals=("hour", "day", "week", "month")))
def test_group_node_series(scenario):
    """GroupNode series: the events of any (OR) or every (AND) node, each node an event, all
    events or an action (maybe missing) with its own property filters; math, breakdowns,
    formulas and compare over them as over any series."""
    assert_same(scenario)


@share(50)
@given(tst.scenarios(compare=True, query_form=True, intervals=("minute", "hour", "day", "week", "month")))
def test_compare(scenario):
    """compareFilter: the previous period, or ``compare_to`` (human-friendly months and years as
    4 and 52 weeks when the project says so)."""
    assert_same(scenario)


# Bug 7: several cohorts in one query gave every cohort a row, zeros for a cohort without events;
# upstream groups the joined rows, so such a cohort has no result row. Fixed in
# engine/cohort_breakdown.py (cohort_grouping keeps the cohorts that have rows).
EMPTY_COHORT = tst.Scenario(
    world([ev("2024-03-14T10:00:00Z", did="u1"), ev("2024-03-14T11:00:00Z", did="u2")],
          persons=[{"distinct_ids": ["u1"], "properties": {"plan": "pro"}}, {"distinct_ids": ["u2"]}],
          project_kw={"cohorts": [{"id": 1, "name": "pro", "filters": {"properties": {"type": "AND", "values": [
              {"key": "plan", "value": "pro", "type": "person"}]}}},
              {"id": 2, "name": "nobody", "is_static": True, "distinct_ids": ["u9"]}]}),
    {"events": [{"id": "$pageview"}], "date_from": "-3d", "breakdown": [1, 2], "breakdown_type": "cohort"},
)


# Focused tests draw half their scenarios without property filters over wide day/week/month
# ranges, so that most of them have rows to break down.
WIDE = dict(filters=False, min_events=8, max_events=40, intervals=("day", "week", "month"),
            date_froms=("-30d", "-90d", "-14d", "all", "-7d", "mStart", "-1m"), date_tos=(None, None, "-1d"))


def focused(**kwargs):
    return st.one_of(tst.scenarios(**kwargs, **WIDE), tst.scenarios(min_events=3, max_events=30, **kwargs))


# Bug 8: a query per cohort forward-filled its cumulative sum like a series without breakdown
# ([0, 2, 2] for sums 2 then -3); upstream runs it as a breakdown query, whose running sum is
# exact ([0, 2, -1], spec §5.2). Fixed in engine/trends.py (shape_query).
COHORT_CUMULATIVE = tst.Scenario(
    world([ev("2024-03-12T10:00:00Z", plan=2), ev("2024-03-13T10:00:00Z", plan=-3)]),
    {"events": [{"id": "$pageview", "math": "sum", "math_property": "plan"}], "date_from": "-4d",
     "display": "ActionsLineGraphCumulative", "breakdown": "all", "breakdown_type": "cohort"},
)


@share(50)
@given(focused(breakdown=True, breakdown_types=("cohort",)))
@example(EMPTY_COHORT)
@example(COHORT_CUMULATIVE)
def test_cohort_breakdowns(scenario):
    """Cohort breakdowns: one cohort, several (an event in every cohort of its person), lists
    with "all" (a query per cohort × series), static and dynamic (nested) cohorts."""
    assert_same(scenario)


@share(50)
@given(focused(breakdown=True, breakdown_types=("event_metadata", "event", "person")))
def test_event_metadata_breakdowns(scenario):
    """Breakdowns on event columns (distinct_id, event, $group_N, $session_id), alone, with
    histograms and inside multiple breakdowns."""
    assert_same(scenario)


# Reference bug: its session breakdown fields rendered a non-string $current_url as text (5 → "5")
# and dropped "null" from $num_uniq_urls, where the filters' cascade (and the engine) read
# JSONExtractString; found by the long profile. Fixed in testing/reference/sessions.py (url_text).
SESSION_URL_BREAKDOWN = tst.Scenario(
    world([ev("2024-03-14T10:00:00Z", "purchase", **{"$session_id": SESSION, "$current_url": 5}),
           ev("2024-03-14T10:00:01Z", **{"$session_id": SESSION, "$current_url": "null"})]),
    {"events": [{"id": "purchase"}], "date_from": "-3d", "display": "ActionsTable",
     "breakdowns": [{"type": "session", "property": "$num_uniq_urls"}, {"type": "session", "property": "$entry_current_url"}]},
)


@share(50)
@given(focused(breakdown=True, breakdown_types=("session", "event")))
@example(SESSION_URL_BREAKDOWN)
def test_session_breakdowns(scenario):
    """Session fields (duration, entry/exit URL, path, host, pageview count, bounce), alone,
    normalised, as histograms and inside multiple breakdowns."""
    assert_same(scenario)


# Bug 9: ``$time`` of an infinite number ("1e400") raised OverflowError in the engine (int(inf));
# toUnixTimestamp has no value for it: NULL. Fixed in engine/math.py (_to_unix_timestamp).
TIME_INFINITE = tst.Scenario(
    world([ev("2024-03-14T10:00:00Z", **{"$time": "1e400"}), ev("2024-03-14T11:00:00Z", **{"$time": 1710000000.9})]),
    {"events": [{"id": "$pageview", "math": "max", "math_property": "$time"}], "date_from": "-3d"},
)


@share(50)
@given(focused(maths=("sum", "avg", "min", "max", "median", "p90")))
@example(TIME_INFINITE)
def test_property_maths(scenario):
    """Property maths, including ``$session_duration`` (once per session and cell) and ``$time``."""
    assert_same(scenario)


def test_channel_type_rules_agree_on_every_generated_attribution():
    """$channel_type: the engine's rule cascade and the reference's agree on every combination
    of the attribution values the strategies generate (each key also absent): ~40,000 entry
    events, too many to reach through sessions one scenario at a time."""
    import itertools

    from trendcalc.store.channel import channel_type
    from trendcalc.testing.reference import entry_channel_type as reference_channel_type

    def text(v):
        return None if v in (None, "", "null") else v

    keys = list(tst.ATTRIBUTION_VALUES)
    seen = set()
    for combo in itertools.product(*[tst.ATTRIBUTION_VALUES[k] + (None,) for k in keys]):
        props = {k: v for k, v in zip(keys, combo) if v is not None}
        want = reference_channel_type(props)
        got = channel_type(text(props.get("utm_source")), text(props.get("utm_medium")), text(props.get("utm_campaign")),
                           text(props.get("$referring_domain")), text(props.get("gclid")) is not None,
                           text(props.get("fbclid")) is not None, text(props.get("gad_source")))
        assert got == want, props
        seen.add(want)
    assert len(seen) >= 15  # nearly every channel type is reached


# Found by the long profile (thirteenth session): at Pacific/Chatham's fall-back instant (a
# 45-minute offset; 14:00 UTC is both 03:45 +13:45 and 02:45 +12:45), an event at `now` counts in
# the last hour bucket's weekly actors for the reference and not for the engine (total and dau
# agree: the event is in no hour bucket). How ClickHouse truncates and compares such an hour is
# UNCONFIRMED (time-math-breakdown.md §2.4), so neither side is known right yet.
CHATHAM_FALL_BACK = tst.Scenario(
    world([ev("2016-04-02T14:00:00Z", name="purchase")], tz="Pacific/Chatham", now="2016-04-02T14:00:00Z"),
    {"events": [{"id": "purchase", "math": "weekly_active"}], "interval": "hour", "date_from": "-7d",
     "explicit_date": True},
)


@pytest.mark.xfail(strict=True, reason="engine and reference disagree on hourly weekly actors at a 45-minute-offset "
                                       "fall-back instant; upstream behaviour UNCONFIRMED (spec §2.4)")
def test_hourly_weekly_actors_at_a_chatham_fall_back_instant():
    assert_same(CHATHAM_FALL_BACK)
