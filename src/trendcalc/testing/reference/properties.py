"""Property filters on one event (filters.md §1.3): a leaf by its source (cohort, element, or
an operator on the leaf's operand), groups as AND/OR, and the checks that fail a whole query."""

from __future__ import annotations

from typing import Any

from ...project import Project
from ...query.model import PropertyFilter, PropertyGroup
from .cohorts import cohort_leaf_holds, cohort_members
from .elements import element_leaf_holds
from .operands import check_constants, leaf_operand, leaf_value
from .operators import NULL_RESULT, value_holds
from .world import ReferenceUnsupported, World

PROPERTY_SOURCES = ("event", "feature", "person", "group", "cohort", "element", "event_metadata", "session")


def leaf_holds(world: World, project: Project, leaf: PropertyFilter, event: dict[str, Any]) -> bool:
    """One leaf on one event: cohort membership, element conditions, or an operator on a value."""
    if leaf.operator not in NULL_RESULT:
        raise ReferenceUnsupported(f"operator {leaf.operator!r}")
    if leaf.type == "cohort":
        return cohort_leaf_holds(world, project, leaf, event["person"])
    if leaf.type == "element":
        return element_leaf_holds(world, project, leaf, event)
    kind, x = leaf_operand(world, project, leaf, event)
    return value_holds(world, project, leaf.operator, leaf_value(leaf), kind, x)


def check_leaf(world: World, project: Project, leaf: PropertyFilter) -> None:
    """§0.4: what fails the whole query whatever the data: a constant the property's type cannot
    take (``operands.check_constants``), an unknown cohort, and a cohort whose definition fails."""
    if leaf.type == "cohort":
        cohort_members(world, project, leaf.value)
        return
    check_constants(world, project, leaf)


def check_group(world: World, project: Project, group: PropertyGroup) -> None:
    """Every leaf of a group checked (``check_leaf``), before any row is read."""
    for node in group.values:
        if isinstance(node, PropertyGroup):
            check_group(world, project, node)
        else:
            check_leaf(world, project, node)


def group_holds(world: World, project: Project, group: PropertyGroup, event: dict[str, Any]) -> bool:
    """§1.3: AND/OR over leaves and groups; an empty group is TRUE."""
    results = (group_holds(world, project, n, event) if isinstance(n, PropertyGroup)
               else leaf_holds(world, project, n, event) for n in group.values)
    if not group.values:
        return True
    return all(results) if group.type == "AND" else any(results)
