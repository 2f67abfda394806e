"""Actions (filters.md §5.1–§5.2): whether an event matches a series' event name or one of its
action's steps."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ...limits import DEFAULT_LIMITS
from ...project import Project
from ...query.model import GroupMember, Series
from ...query.properties import parse_entity_properties
from .elements import chain_href, chain_texts, element_chain, selector_matches, tag_name_matches
from .operators import as_text, like_pattern, typed_value
from .properties import group_holds
from .world import World


def step_matches(world: World, project: Project, step: Mapping[str, Any], event: dict[str, Any]) -> bool:
    """filters.md §5.1–5.2: one action step, its conditions AND-ed: the event name (none = any
    event); on ``$autocapture`` steps the selector, tag_name, href and text; the url against
    ``$current_url`` (contains by default: a case-sensitive LIKE); the step's property filters."""
    if step.get("event") and step["event"] != event["event"]:
        return False
    if step.get("event") == "$autocapture":
        chain = element_chain(event)
        if step.get("selector") and not selector_matches(step["selector"], chain):
            return False
        if step.get("tag_name") is not None and not tag_name_matches(step["tag_name"], chain):
            return False
        if step.get("href") is not None and not text_matches(chain_href(chain), step["href"], step.get("href_matching")):
            return False
        if step.get("text") is not None and not any(text_matches(t, step["text"], step.get("text_matching"))
                                                    for t in chain_texts(chain)):
            return False
    if step.get("url"):
        kind, x = typed_value(event["properties"].get("$current_url"), project.property_type("$current_url"), project.tz)
        if x is None or not url_matches(as_text(kind, x, project.tz), step["url"], step.get("url_matching")):
            return False
    props = parse_entity_properties(step.get("properties"), ("steps",), DEFAULT_LIMITS, raw=True)
    return group_holds(world, project, props, event)


def text_matches(text: str, value: str, matching: str | None) -> bool:
    """§5.2 href/text: ``regex`` (RE2 search), ``contains`` (ILIKE '%value%'), else exact."""
    if matching == "regex":
        return re.search(value, text, re.DOTALL) is not None
    if matching == "contains":
        return like_pattern(value).search(text) is not None
    return text == value


def url_matches(url: str, value: str, matching: str | None) -> bool:
    """§5.2 url: ``exact``, ``regex``, else (the default) contains — LIKE, case-sensitive."""
    if matching == "exact":
        return url == value
    if matching == "regex":
        return re.search(value, url, re.DOTALL) is not None
    return like_pattern(value, case_sensitive=True).search(url) is not None


def series_matches(world: World, series: Series, project: Project, event: dict[str, Any]) -> bool:
    """Event name (None = all events), or any step of the action (an action without steps
    matches every event), or any (OR) / every (AND) member of a GroupNode."""
    if series.kind == "events":
        return series.id is None or series.id == event["event"]
    if series.kind == "group":
        hits = [member_matches(world, project, m, event) for m in series.id.members]
        return any(hits) if series.id.operator == "OR" else all(hits)
    action = project.action_source(series.id)
    assert action is not None, series.id  # run_query drops the series of a missing action first
    return action_matches(world, project, action, event)


def action_matches(world: World, project: Project, action: Mapping[str, Any], event: dict[str, Any]) -> bool:
    steps = action.get("steps") or []
    return not steps or any(step_matches(world, project, step, event) for step in steps)


def member_matches(world: World, project: Project, member: GroupMember, event: dict[str, Any]) -> bool:
    """One GroupNode member: its event (None = any) or its action (a missing one: no event),
    and the member's own property filters."""
    if member.kind == "events":
        hit = member.id is None or member.id == event["event"]
    else:
        action = project.action_source(member.id)
        hit = action is not None and action_matches(world, project, action, event)
    return hit and group_holds(world, project, member.properties, event)
