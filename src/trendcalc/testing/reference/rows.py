"""The rows a series reads (time-math-breakdown.md §4.1, filters.md §1.4): its events in the
period that pass the test-account, global and series filters, the groups-math key filter and
sampling, in the query's cohort; and the first-time rows of §4.4."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ...limits import DEFAULT_LIMITS
from ...project import Project
from ...query.model import PropertyGroup, Series, TrendsFilter
from ...query.properties import parse_entity_properties, parse_test_account_filters
from .actions import series_matches
from .cohorts import in_query_cohort
from .maths import ACTOR_MATHS
from .properties import group_holds
from .sampling import sampled
from .timeaxis import Query, lower_bound, whole_second
from .world import World


def group_key_present(event: dict[str, Any], gti: int) -> bool:
    """``$group_N != ''``: the event carries a non-empty group key."""
    v = event["properties"].get(f"$group_{gti}")
    return v is not None and v != ""


def row_filters_pass(world: World, filt: TrendsFilter, series: Series, project: Project,
                     event: dict[str, Any]) -> bool:
    """§1.4: test-account filters (each an AND term), global and series properties, and the
    groups-math key filter (``$group_N != ''``)."""
    if filt.filter_test_accounts and project.test_account_filters:
        if not group_holds(world, project, parse_test_account_filters(project.test_account_filters, DEFAULT_LIMITS), event):
            return False
    if not group_holds(world, project, filt.properties, event):
        return False
    if not group_holds(world, project, series.properties, event):
        return False
    gti = series.math_group_type_index if series.math in ACTOR_MATHS else None
    for idx in {gti, filt.aggregation_group_type_index}:
        if idx is not None and not group_key_present(event, idx):
            return False
    return True


def series_rows(world: World, filt: TrendsFilter, project: Project, series: Series, lo: dt.datetime,
                hi: dt.datetime, cohort: Any = None) -> list[dict[str, Any]]:
    """The series' events with lo <= ts <= hi that pass every filter (§4.1), and the query's cohort."""
    return [
        e for e in world.events
        if series_matches(world, series, project, e) and lo <= e["ts"] <= hi and sampled(e, filt.sampling_factor)
        and row_filters_pass(world, filt, series, project, e) and in_query_cohort(world, project, cohort, e)
    ]


def first_time_rows(world: World, filt: TrendsFilter, project: Project, series: Series, q: Query,
                    matching: bool) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """§4.4: per person, (counted event, breakdown event). ``first`` is the person's earliest
    series event up to date_to (``matching``: earliest that passes the filters); the person
    counts when the earliest in-range filter-passing event has the same time. Ties are broken
    by (event name, input order); the breakdown value comes from the first event overall
    (``matching``: from the counted first matching event)."""
    lo, hi = whole_second(lower_bound(q.range, project.week_start_day)), whole_second(q.range.date_to)
    by_person: dict[Any, list[dict[str, Any]]] = {}
    for e in sorted(world.events, key=lambda e: (e["ts"], e["event"], e["index"])):
        if series_matches(world, series, project, e) and e["ts"] <= hi and sampled(e, filt.sampling_factor):
            by_person.setdefault(e["person"], []).append(e)
    out = []
    for events in by_person.values():
        passing = [e for e in events if row_filters_pass(world, filt, series, project, e)
                   and in_query_cohort(world, project, q.cohort, e)]
        basis = passing[0] if matching and passing else (None if matching else events[0])
        in_range = [e for e in passing if e["ts"] >= lo]
        if basis is not None and in_range and in_range[0]["ts"] == basis["ts"]:
            out.append((basis, basis if matching else events[0]))
    return out


def query_filter_groups(filt: TrendsFilter, project: Project, series: Series) -> list[PropertyGroup]:
    """Every property group one series query compiles: test accounts, global, series, steps."""
    groups = [filt.properties, series.properties]
    if filt.filter_test_accounts and project.test_account_filters:
        groups.append(parse_test_account_filters(project.test_account_filters, DEFAULT_LIMITS))
    actions = []
    if series.kind == "actions":
        actions.append(project.action_source(series.id))
        assert actions[0] is not None, series.id  # run_query drops the series of a missing action first
    if series.kind == "group":
        groups.extend(m.properties for m in series.id.members)
        actions.extend(project.action_source(m.id) for m in series.id.members if m.kind == "actions")
    for action in actions:
        for step in (action or {}).get("steps") or []:
            groups.append(parse_entity_properties(step.get("properties"), ("steps",), DEFAULT_LIMITS, raw=True))
    return groups
