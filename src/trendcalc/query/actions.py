"""Project actions parsed into typed steps (filters.md §5.4): done once, when the Project is built.

A step matches an event when its ``event`` matches (None: any event) and every condition holds:
the step's property filters, its ``url`` (``url_matching`` exact/regex/contains), and for
``$autocapture`` its element conditions (selector, tag_name, href, text). The conditions become
one AND group of ordinary leaves, so the engine evaluates them like any other filter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ..errors import ValidationError, brief
from ..limits import Limits
from .model import PropertyFilter, PropertyGroup
from .operators import check_operand
from .properties import check_element, parse_entity_properties

AUTOCAPTURE = "$autocapture"
STEP_KEYS = ("event", "properties", "url", "url_matching", "selector", "tag_name", "text", "text_matching",
             "href", "href_matching", "name", "id")  # fmt: skip
URL_OPERATORS = {"exact": "exact", "regex": "regex", "contains": "_like_contains"}
ELEMENT_OPERATORS = {"regex": "regex", "contains": "icontains"}  # anything else: exact


@attrs.frozen
class ActionStep:
    """One step: its event (None = any event) and the AND group of its conditions."""

    event: str | None
    conditions: PropertyGroup


@attrs.frozen
class Action:
    """A project action: the union of its steps' matches (no steps: every event)."""

    id: Any
    name: str | None
    steps: tuple[ActionStep, ...] = ()
    # A definition that does not parse: raised when a query uses the action (as PostHog fails
    # only then), before any row is read.
    error: ValidationError | None = attrs.field(default=None, eq=False)


def parse_action(action: Mapping[str, Any], limits: Limits) -> Action:
    """An action dict (``{"id", "name", "steps": [...]}``) into an Action; an error names the
    step and is kept on the entry."""
    name = action.get("name")
    base = Action(id=action.get("id"), name=name if isinstance(name, str) else None)
    steps = action.get("steps") or []
    path: tuple = ("project", "actions", action.get("id"), "steps")  # the id is the caller's, any type
    try:
        if not isinstance(steps, list):
            raise ValidationError(path, "expected a list of steps")
        return attrs.evolve(base, steps=tuple(parse_step(step, path + (i,), limits) for i, step in enumerate(steps)))
    except ValidationError as exc:
        return attrs.evolve(base, error=exc)


def parse_step(step: Any, path: tuple, limits: Limits) -> ActionStep:
    """One step's event and conditions as an AND group of leaves."""
    if not isinstance(step, Mapping):
        raise ValidationError(path, "expected a step object")
    for k in step:
        if k not in STEP_KEYS:
            raise ValidationError(path + (k,), f"unknown action step field; expected one of {list(STEP_KEYS)}")
    event = step.get("event")
    if event is not None and not isinstance(event, str):
        raise ValidationError(path + ("event",), f"expected an event name, got {event!r}")
    leaves: list[PropertyFilter | PropertyGroup] = []
    if event == AUTOCAPTURE:
        if step.get("selector"):
            leaves.append(_element("selector", "exact", step["selector"], path + ("selector",), limits))
        if step.get("tag_name") is not None:
            leaves.append(_element("tag_name", "exact", step["tag_name"], path + ("tag_name",), limits))
        for key in ("href", "text"):
            if step.get(key) is not None:
                matching = step.get(f"{key}_matching")
                if matching is not None and not isinstance(matching, str):  # (a list is unhashable)
                    raise ValidationError(path + (f"{key}_matching",), f"expected a string, got {brief(matching)}")
                op = ELEMENT_OPERATORS.get(matching, "exact") if matching is not None else "exact"
                leaves.append(_element(key, op, step[key], path + (key,), limits))
    url = step.get("url")
    if url:
        url_matching = step.get("url_matching") or "contains"
        url_op = URL_OPERATORS.get(url_matching) if isinstance(url_matching, str) else None  # (a list is unhashable)
        if url_op is None:
            raise ValidationError(path + ("url_matching",), f"expected one of {list(URL_OPERATORS)}, got {url_matching!r}")
        if not isinstance(url, str):
            raise ValidationError(path + ("url",), f"expected a string, got {url!r}")
        if url_op == "regex":
            check_operand("regex", url, path + ("url",), limits, "$current_url")
        leaves.append(PropertyFilter(key="$current_url", operator=url_op, value=url, type="event", path=path + ("url",)))
    props = parse_entity_properties(step.get("properties"), path + ("properties",), limits, raw=True)
    leaves.extend(props.values)
    return ActionStep(event=event or None, conditions=PropertyGroup("AND", tuple(leaves)))


def _element(key: str, op: str, value: Any, path: tuple, limits: Limits) -> PropertyFilter:
    if not isinstance(value, str):
        raise ValidationError(path, f"expected a string, got {value!r}")
    try:
        check_element(key, op, value, path, limits)
    except ValidationError as exc:
        raise ValidationError(path, exc.message) from None
    return PropertyFilter(key=key, operator=op, value=value, type="element", path=path)


__all__ = ["Action", "ActionStep", "parse_action", "parse_step", "AUTOCAPTURE"]
