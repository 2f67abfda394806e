"""The testing kit itself: the reference passes the conformance corpus, covers every feature the
engine registers, and the strategies validate their arguments like hypothesis does."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis.errors import InvalidArgument

import trendcalc as tc
from tests.conformance.expected_failures import EXPECTED_FAILURES
from tests.conformance.harness import check, load_cases
from trendcalc.engine.breakdown import SOURCES as BREAKDOWN_SOURCES
from trendcalc.engine.math import MATHS
from trendcalc.engine.predicates.properties import EXPRESSION_SOURCES
from trendcalc.engine.predicates.properties import SOURCES as PROPERTY_SOURCES
from trendcalc.engine.supported import UNSUPPORTED_DISPLAYS
from trendcalc.query.displays import DISPLAYS
from trendcalc.query.operators import OPERATORS
from trendcalc.testing import reference
from trendcalc.testing import strategies as tst
from trendcalc.testing.reference_stickiness import reference_stickiness

# query_kind → the reference that answers it (the legacy kinds carry their query in "filter")
REFERENCES = {"trends": reference.reference_trends, "trends_query": reference.reference_trends,
              "stickiness": reference_stickiness, "stickiness_query": reference_stickiness}


def _run_reference(case: dict) -> list[dict]:
    project = tc.Project.from_dict({**case["project"], "actions": case.get("actions", []),
                                    "cohorts": case.get("cohorts", [])})
    kind = case["query_kind"]
    if kind not in REFERENCES:
        raise reference.ReferenceUnsupported(f"query_kind {kind!r}")
    query = case["query"] if kind.endswith("_query") else case["filter"]
    return REFERENCES[kind](case["events"], case.get("persons"), case.get("groups"), query=query,
                            project=project, now=case["now"])


def _supported(case: dict) -> bool:
    if case["id"] in EXPECTED_FAILURES or case["query_kind"] not in ("trends", "trends_query") or case.get("expect_error"):
        return False
    try:
        _run_reference(case)
    except reference.ReferenceUnsupported:
        return False
    return True


SUPPORTED_CASES = [c for c in load_cases() if _supported(c)]


def test_the_reference_supports_most_conformance_cases():
    assert len(SUPPORTED_CASES) >= 100


@pytest.mark.parametrize("case", SUPPORTED_CASES, ids=[c["id"] for c in SUPPORTED_CASES])
def test_reference_passes_conformance_case(case):
    """The reference is checked against PostHog's own expectations, not only against the engine."""
    result = _run_reference(case)
    for assertion in case["assertions"]:
        check(result, assertion)


# Engine features the reference does not implement yet (and the strategies do not generate).
NOT_YET_IN_REFERENCE = {
    "breakdown sources": set(),
    # HogQL expressions (a language of their own) are checked by tests/hogql, not by the reference
    "property sources": {"hogql"},
    # internal: the action step url "contains" (a case-sensitive LIKE), covered through actions
    "operators": {"_like_contains"},
}


def test_reference_covers_every_engine_feature():
    """A math, display, breakdown source, property source or operator that lands in the engine
    must land in the reference (and the strategies) too — or be listed above as a known gap —
    or the differential tests silently skip it."""
    assert set(MATHS) <= set(reference.MATHS)
    assert set(DISPLAYS) - set(UNSUPPORTED_DISPLAYS) <= set(reference.DISPLAYS)  # the vocabulary lists more
    assert set(BREAKDOWN_SOURCES) <= set(reference.BREAKDOWN_TYPES) | NOT_YET_IN_REFERENCE["breakdown sources"]
    property_sources = set(PROPERTY_SOURCES) | set(EXPRESSION_SOURCES)
    assert property_sources <= set(reference.PROPERTY_SOURCES) | NOT_YET_IN_REFERENCE["property sources"]
    assert set(OPERATORS) <= set(reference.OPERATORS) | NOT_YET_IN_REFERENCE.get("operators", set())


def test_strategies_generate_every_reference_source_and_operator():
    assert set(tst.OPERATOR_VALUES) == set(reference.OPERATORS)
    assert set(tst.SOURCE_WEIGHTS) == set(reference.PROPERTY_SOURCES)
    assert set(tst.SESSION_KEYS) | {"$exit_current_url", "$exit_pathname"} >= set(reference.SESSION_KINDS)


@pytest.mark.parametrize(
    "make",
    [
        lambda: tst.worlds(min_events=5, max_events=2),
        lambda: tst.worlds(min_events=-1),
        lambda: tst.worlds(max_events="3"),
        lambda: tst.trends_filters(min_series=0),
        lambda: tst.trends_filters(intervals=("fortnight",)),
        lambda: tst.trends_filters(displays=()),
        lambda: tst.trends_filters(maths=("hogql",)),
        lambda: tst.breakdown_filters(max_items=4),
        lambda: tst.breakdown_filters(types=("hogql",)),
        lambda: tst.breakdown_filters(cohort_ids="12"),
        lambda: tst.cohorts(min_cohorts=6, max_cohorts=6),
        lambda: tst.cohorts(min_cohorts=3, max_cohorts=1),
        lambda: tst.breakdown_filters(min_limit=3, max_limit=1),
        lambda: tst.timezones(allowed=("Mars/Olympus",)),
        lambda: tst.timezones(allowed=("UTC",), dst_only=True),
        lambda: tst.events(names=[]),
        lambda: tst.events(distinct_ids=["", "u1"]),
        lambda: tst.persons(max_persons=True),
        lambda: tst.date_strings(choices="-7d"),
        lambda: tst.projects(max_cohorts=-1),
        lambda: tst.property_leaves(sources=("hogql",)),
        lambda: tst.property_leaves(operators=("_like_contains",)),
        lambda: tst.cohort_leaves(()),
        lambda: tst.cohorts_of(0),
        lambda: tst.element_leaves(operators=("nope",)),
    ],
)
@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_strategies_reject_bad_arguments(make):
    """Like hypothesis' own strategies, arguments are checked when the strategy is first drawn."""
    with pytest.raises(InvalidArgument):
        make().example()


@given(tst.worlds(min_events=3, max_events=3, timezone="Europe/Berlin"))
def test_worlds_respect_their_bounds(w):
    assert len(w.events) == 3
    assert w.project.timezone == "Europe/Berlin"
    assert len(w.store()) == 3


def test_offset_changes_find_the_dst_switches():
    berlin = [c.isoformat() for c in tst.offset_changes("Europe/Berlin", 2024, 2025)]
    assert berlin == ["2024-03-31T01:00:00+00:00", "2024-10-27T01:00:00+00:00"]
    lord_howe = tst.offset_changes("Australia/Lord_Howe", 2024, 2025)
    assert [c.isoformat() for c in lord_howe] == ["2024-04-06T15:00:00+00:00", "2024-10-05T15:30:00+00:00"]
