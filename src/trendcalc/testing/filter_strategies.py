"""Hypothesis strategies for property filters: leaves of every source and operator, cohort and
element leaves, nested AND/OR groups (the filter half of ``trendcalc.testing.strategies``)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from . import reference
from .strategy_data import (
    FILTER_PERSON_VALUES,
    FILTER_PROPERTY_VALUES,
    GROUP_VALUES,
    PERSON_VALUES,
    PROPERTY_VALUES,
    SELECTORS,
    SESSION_IDS,
    SESSION_KEYS,
    TAG_NAMES,
    UTC,
    _check_choices,
    _check_int,
    _pick,
)

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
