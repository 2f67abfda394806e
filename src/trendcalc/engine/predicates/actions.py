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

from typing import Any

import numpy as np

from ..context import QueryContext
from ..select import event_rows
from .properties import mask_rows


def action_rows(ctx: QueryContext, action_id: Any, lo_us: int, hi_us: int) -> np.ndarray | None:
    """Sorted, de-duplicated rows matching any step of the action; None when it does not exist.
    The action was parsed with the Project: steps here are typed, their conditions leaves."""
    action = ctx.project.action(action_id)
    if action is None:
        return None
    if action.error is not None:
        raise action.error
    if not action.steps:
        return event_rows(ctx.store, [None], lo_us, hi_us)
    matched = []
    for step in action.steps:
        rows = event_rows(ctx.store, [step.event], lo_us, hi_us)
        matched.append(rows[mask_rows(ctx, step.conditions, rows)])
    return np.unique(np.concatenate(matched))


__all__ = ["action_rows"]
