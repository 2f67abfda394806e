"""Where a query's property types come from: the project's definitions, else (with
``Project.infer_property_types``, the default) the types the store infers from its data the way
PostHog's ingestion records them (``EventStore.inferred_type``), else none (String).

``with_inferred_types`` wraps the project for one query; everything that asks
``ctx.project.property_type(...)`` (filters, breakdowns, maths, HogQL) sees the result.
"""

from __future__ import annotations

from typing import Any


class TypedProject:
    """A Project whose ``property_type`` falls back to the store's inferred types; every other
    attribute is the project's own."""

    __slots__ = ("_project", "_store")

    def __init__(self, project: Any, store: Any):
        self._project = project
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._project, name)

    def __repr__(self) -> str:
        return f"TypedProject({self._project!r})"

    def property_type(self, name: str, kind: str = "event", group_type_index: int | None = None) -> str | None:
        """Declared type, else inferred (event, person and group properties), else None."""
        declared = self._project.property_type(name, kind, group_type_index)
        if declared is not None or kind not in ("event", "person", "group"):
            return declared
        return self._store.inferred_type(name, kind, group_type_index if kind == "group" else None)


def with_inferred_types(project: Any, store: Any) -> Any:
    """``project`` as queries over ``store`` should see it (see the module docstring)."""
    if isinstance(project, TypedProject) or not getattr(project, "infer_property_types", False):
        return project
    if not hasattr(store, "inferred_type"):
        return project
    return TypedProject(project, store)


__all__ = ["TypedProject", "with_inferred_types"]
