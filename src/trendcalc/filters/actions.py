"""Actions: named unions of steps; a step matches an event name plus conditions (filters.md §5).

An action series is the union of its steps' rows; each step reads only the slices of its event
(or every event when the step names none) and masks them with the step's conditions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..engine.select import event_rows
from ..errors import UnsupportedError, ValidationError
from .properties import mask_rows
from .properties_parse import parse_entity_properties

STEP_CONDITIONS = ("url", "url_matching", "selector", "tag_name", "text", "text_matching", "href", "href_matching")
STEP_KEYS = ("event", "properties", "name", "id") + STEP_CONDITIONS


def action_rows(ctx: Any, action_id: Any, lo_us: int, hi_us: int) -> np.ndarray | None:
    """Sorted, de-duplicated rows matching any step of the action; None when it does not exist."""
    action = ctx.project.action(action_id)
    if action is None:
        return None
    steps = action.get("steps") or []
    if not isinstance(steps, list):
        raise ValidationError(("project", "actions", action_id, "steps"), "expected a list of steps")
    matched = []
    for i, step in enumerate(steps):
        path = ("project", "actions", action_id, "steps", i)
        if not isinstance(step, Mapping):
            raise ValidationError(path, "expected a step object")
        rows = event_rows(ctx.store, [step.get("event")], lo_us, hi_us)
        matched.append(rows[step_mask(ctx, step, rows, path)])
    if not matched:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate(matched))


def step_mask(ctx: Any, step: Mapping, rows: np.ndarray, path: tuple) -> np.ndarray:
    """AND of one step's conditions over its event's rows."""
    mask = np.ones(len(rows), dtype=bool)
    for key in STEP_CONDITIONS:
        if step.get(key) not in (None, "") and not key.endswith("_matching"):
            raise UnsupportedError(path + (key,), f"action step condition {key!r} is not implemented yet")
    props = ctx.memo(("step_props", id(step)), lambda: parse_entity_properties(step.get("properties"), path + ("properties",), ctx.limits))
    if props:
        mask &= mask_rows(ctx, props, rows)
    return mask
