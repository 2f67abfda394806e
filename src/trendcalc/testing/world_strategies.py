"""Hypothesis strategies for Trends worlds: instants, events, persons, groups, cohorts, projects
(the world half of ``trendcalc.testing.strategies``)."""

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

from ..project import Project
from . import reference
from .filter_strategies import COHORT_OPERATORS, property_filters, property_leaves
from .strategy_data import (
    ATTRIBUTION_VALUES,
    DISTINCT_IDS,
    ELEMENT_CLASSES,
    ELEMENT_HREFS,
    ELEMENT_TAGS,
    ELEMENT_TEXTS,
    EVENT_NAMES,
    FILTER_PERSON_VALUES,
    FILTER_PROPERTY_VALUES,
    FOLLOW_UP_GAPS,
    GROUP_KEYS,
    GROUP_VALUES,
    NO_DST_TIMEZONES,
    PATH_CLEANING_RULES,
    PERSON_IDS,
    PERSON_VALUES,
    PROPERTY_DEFINITIONS,
    PROPERTY_VALUES,
    SELECTORS,
    SESSION_IDS,
    TAG_NAMES,
    TIMEZONES,
    UTC,
    _check_bounds,
    _check_int,
    _check_names,
    _pick,
)

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
    if bool(changes) and draw(st.booleans()):
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
    if bool(props) or draw(st.booleans()):
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
    actions: list[dict[str, Any]] = []
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
        property_definitions=tuple(draw(st.lists(st.sampled_from(PROPERTY_DEFINITIONS), unique_by=lambda d: (d.name, d.kind)))),
        actions=tuple(actions),
        cohorts=tuple(cohort_list),
        path_cleaning_filters=tuple(draw(st.lists(st.sampled_from(PATH_CLEANING_RULES), unique_by=lambda r: r["regex"], max_size=3))),
        test_account_filters=tuple(draw(st.lists(property_leaves(cohort_ids=cohort_ids), max_size=2))),
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
