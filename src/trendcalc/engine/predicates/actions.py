"""Actions: named unions of steps; a step matches an event name plus conditions (filters.md §5).

Steps are OR-ed and the conditions inside a step AND-ed. An action series is the union of its
steps' rows; each step reads only the slices of its event (or every event when the step names
none) and masks them with the step's conditions, each condition one property-filter leaf:

- ``url`` (any event): ``$current_url`` exact / LIKE ``%url%`` (case-sensitive, ``%``/``_`` are
  wildcards; the default) / RE2 regex; a missing URL never matches;
- on ``$autocapture`` steps only: ``selector``, ``tag_name``, ``href`` (exact / ILIKE contains /
  regex on the chain's first href) and ``text`` (the same on any element text);
- ``properties``: a list of property filters, AND-ed.

An action with no steps, or a step with no conditions, matches every event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ...errors import ValidationError, brief
from ...query.model import PropertyFilter, PropertyGroup
from ...query.operators import check_operand
from ...query.properties import check_element, parse_entity_properties
from ..select import event_rows
from .properties import leaf_mask, mask_rows

AUTOCAPTURE = "$autocapture"
STEP_KEYS = ("event", "properties", "url", "url_matching", "selector", "tag_name", "text", "text_matching",
             "href", "href_matching", "name", "id")  # fmt: skip
URL_OPERATORS = {"exact": "exact", "regex": "regex", "contains": "_like_contains"}
ELEMENT_OPERATORS = {"regex": "regex", "contains": "icontains"}  # anything else: exact


def action_rows(ctx: Any, action_id: Any, lo_us: int, hi_us: int) -> np.ndarray | None:
    """Sorted, de-duplicated rows matching any step of the action; None when it does not exist."""
    action = ctx.project.action(action_id)
    if action is None:
        return None
    steps = action.get("steps") or []
    base = ("project", "actions", action_id, "steps")
    if not isinstance(steps, list):
        raise ValidationError(base, "expected a list of steps")
    if not steps:
        return event_rows(ctx.store, [None], lo_us, hi_us)
    matched = []
    for i, step in enumerate(steps):
        conditions = ctx.memo(("action_step", str(action_id), i), lambda s=step, p=base + (i,): step_conditions(ctx, s, p))
        rows = event_rows(ctx.store, [step.get("event") or None], lo_us, hi_us)
        matched.append(rows[mask_rows(ctx, conditions, rows)])
    return np.unique(np.concatenate(matched))


def step_conditions(ctx: Any, step: Any, path: tuple) -> PropertyGroup:
    """One step's conditions as an AND group of leaves (validated once per query)."""
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
            leaves.append(_element(ctx, "selector", "exact", step["selector"], path + ("selector",)))
        if step.get("tag_name") is not None:
            leaves.append(_element(ctx, "tag_name", "exact", step["tag_name"], path + ("tag_name",)))
        for key in ("href", "text"):
            if step.get(key) is not None:
                matching = step.get(f"{key}_matching")
                if matching is not None and not isinstance(matching, str):  # (a list is unhashable)
                    raise ValidationError(path + (f"{key}_matching",), f"expected a string, got {brief(matching)}")
                op = ELEMENT_OPERATORS.get(matching, "exact")
                leaves.append(_element(ctx, key, op, step[key], path + (key,)))
    url = step.get("url")
    if url:
        matching = step.get("url_matching") or "contains"
        op = URL_OPERATORS.get(matching) if isinstance(matching, str) else None  # (a list is unhashable)
        if op is None:
            raise ValidationError(path + ("url_matching",), f"expected one of {list(URL_OPERATORS)}, got {matching!r}")
        if not isinstance(url, str):
            raise ValidationError(path + ("url",), f"expected a string, got {url!r}")
        if op == "regex":
            check_operand("regex", url, path + ("url",), ctx.limits, "$current_url")
        leaves.append(PropertyFilter(key="$current_url", operator=op, value=url, type="event", path=path + ("url",)))
    props = parse_entity_properties(step.get("properties"), path + ("properties",), ctx.limits, raw=True)
    leaves.extend(props.values)
    return PropertyGroup("AND", tuple(leaves))


def _element(ctx: Any, key: str, op: str, value: Any, path: tuple) -> PropertyFilter:
    if not isinstance(value, str):
        raise ValidationError(path, f"expected a string, got {value!r}")
    try:
        check_element(key, op, value, path, ctx.limits)
    except ValidationError as exc:
        raise ValidationError(path, exc.message) from None
    return PropertyFilter(key=key, operator=op, value=value, type="element", path=path)


def step_mask(ctx: Any, step: Mapping, rows: np.ndarray, path: tuple) -> np.ndarray:
    """AND of one step's conditions over ``rows``."""
    return mask_rows(ctx, step_conditions(ctx, step, path), rows)


__all__ = ["action_rows", "step_conditions", "step_mask", "leaf_mask"]
