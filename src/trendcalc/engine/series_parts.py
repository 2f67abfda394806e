"""What a series selects its events by, for the checks and estimates that read it before any row:
its event name, its action's steps, or a GroupNode's members (each an event or an action, with
the member's own property filters).

One place answers "which actions, which event names, which condition groups does this series
read", so the support check, the cost estimate, the session-need test and the plan agree on
every kind of series.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..project import Project
from ..query.actions import Action
from ..query.model import PropertyGroup, Series


def series_actions(project: Project, s: Series) -> Iterator[Action]:
    """The project actions the series reads (its own, or its GroupNode members'), those that
    exist (a missing one selects nothing; the advice names it)."""
    ids: list = []
    if s.kind == "actions":
        ids = [s.id]
    elif s.kind == "group":
        ids = [m.id for m in s.id.members if m.kind == "actions"]
    for ident in ids:
        action = project.action(ident)
        if action is not None:
            yield action


def selection_groups(project: Project, s: Series) -> Iterator[PropertyGroup]:
    """The condition groups that choose the series' events besides ``s.properties``: its
    actions' steps (those that parse) and its GroupNode members' own property filters."""
    for action in series_actions(project, s):
        if action.error is None:
            yield from (step.conditions for step in action.steps)
    if s.kind == "group":
        yield from (m.properties for m in s.id.members if m.properties)


def event_names(project: Project, s: Series) -> list[str | None]:
    """The event names the series reads (None: every event)."""
    if s.kind == "events":
        return [s.id]
    if s.kind == "group":
        names: list[str | None] = [m.id for m in s.id.members if m.kind == "events"]
        for action in series_actions(project, s):
            names += _action_event_names(action)
        return names
    own = project.action(s.id)
    return [] if own is None else _action_event_names(own)


def _action_event_names(action: Action) -> list[str | None]:
    # (an action without steps matches every event but names none here: the plan's earliest
    # event and the estimate have always read it so)
    return [step.event for step in action.steps]


__all__ = ["event_names", "selection_groups", "series_actions"]
