"""Fuzz filters built from a grammar of plausible queries over the fuzz world (tests/fuzz/world.py),
as legacy dicts and as TrendsQuery dicts, valid and mutated; and mutated project settings.

Maths and operators are drawn mostly from what trendcalc implements (its registries), so these
examples run through the whole engine: selection, masks, breakdowns, maths, formulas, compare.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import trendcalc as tc

from . import world
from .strategies import legacy_filter, mutated, trends_query
from .support import check_result, fuzz_settings, safely

SMALL = tc.Limits(max_buckets=3_000)


def run(query: Any, project: Any = world.PROJECT, store: tc.EventStore = world.STORE) -> None:
    result = safely(
        lambda: tc.trends(store, query, project=project, now=world.NOW, limits=SMALL),
        allow_root=not isinstance(query, dict),
    )
    if result is not None:
        check_result(result)


@fuzz_settings(1_200)
@given(legacy_filter())
def test_grammar_legacy_filters(query: dict[str, Any]) -> None:
    run(query)


@fuzz_settings(800)
@given(trends_query)
def test_grammar_trends_queries(query: dict[str, Any]) -> None:
    run(query)


@fuzz_settings(1_000)
@given(st.data())
def test_grammar_filters_mutated(data: st.DataObject) -> None:
    seed = data.draw(st.one_of(legacy_filter(), trends_query))
    run(data.draw(mutated(seed, gentle=data.draw(st.booleans()))))


@fuzz_settings(300)
@given(legacy_filter(), st.sampled_from(["UTC", "Asia/Kathmandu", "Pacific/Kiritimati", "America/St_Johns"]))
def test_grammar_filters_in_odd_timezones(query: dict[str, Any], tz: str) -> None:
    run(query, project=tc.Project.from_dict({**world.PROJECT_DICT, "timezone": tz}))


PROJECT_QUERIES = [
    {"actions": [{"id": 1}, {"id": 2}, {"id": 3, "math": "dau"}], "date_from": "-30d", "filter_test_accounts": True},
    {"events": [{"id": "$pageview", "properties": [{"key": "id", "type": "cohort", "value": 2}]}], "breakdown": [1, 2, 3, "all"],
     "breakdown_type": "cohort", "date_from": "-30d"},
    {"events": [{"id": "purchase", "math": "sum", "math_property": "amount"}], "breakdown": "is_beta", "date_from": "-30d",
     "properties": [{"key": "signup_date", "operator": "is_date_after", "value": "2020-01-02"}]},
    {"events": [{"id": "sign up", "math": "unique_group", "math_group_type_index": 0}], "breakdown": "size",
     "breakdown_type": "group", "breakdown_group_type_index": 0, "date_from": "-30d", "interval": "week"},
]  # fmt: skip


@fuzz_settings(700)
@given(st.data())
def test_mutated_projects(data: st.DataObject) -> None:
    """Project settings come from callers too: actions, cohorts, test-account filters, definitions."""
    project = data.draw(mutated(world.PROJECT_DICT))
    query = data.draw(st.sampled_from(PROJECT_QUERIES))
    built = safely(lambda: tc.Project.from_dict(project), allow_root=not isinstance(project, dict))
    if built is not None:
        run(query, project=built)
    run(query, project=project)  # the dict form goes through the same checks inside trends()
