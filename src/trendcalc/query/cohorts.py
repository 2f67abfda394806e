"""Project cohorts parsed into typed definitions, once, when the Project is built.

A cohort is static (listed distinct_ids / person ids) or dynamic (a person-property group, from
``filters.properties`` or the legacy ``groups``). PostHog fails only when a broken cohort is
*used*, so a definition that does not parse keeps its error on the entry (``Cohort.error``) and
the engine raises it when a query reads the cohort; an unused broken cohort changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ..errors import UnsupportedError, ValidationError
from ..limits import Limits
from .model import PropertyGroup, iter_leaves
from .properties import parse_group, parse_leaf

BEHAVIOURAL_GROUP_KEYS = ("action_id", "event_id")


@attrs.frozen
class Cohort:
    """One project cohort, parsed. ``index`` is its position in the project's list."""

    id: Any
    index: int
    name: str | None = None
    deleted: bool = False
    static: bool = False
    distinct_ids: tuple[str, ...] = ()
    person_ids: tuple[str, ...] = ()
    definition: PropertyGroup | None = None  # dynamic cohorts
    error: ValidationError | None = attrs.field(default=None, eq=False)

    @property
    def path(self) -> tuple:
        return ("project", "cohorts", self.index)

    def referenced_cohorts(self) -> tuple[Any, ...]:
        """Ids of the cohorts its definition reads (``type: cohort`` leaves)."""
        return tuple(leaf.value for leaf in iter_leaves(self.definition) if leaf.type == "cohort") if self.definition else ()




def parse_cohort(cohort: Mapping[str, Any], index: int, limits: Limits) -> Cohort:
    """A cohort dict into a Cohort; a definition that does not parse is kept as the error."""
    path = ("project", "cohorts", index)
    name = cohort.get("name")
    base = Cohort(id=cohort.get("id"), index=index, name=name if isinstance(name, str) else None,
                  deleted=bool(cohort.get("deleted")), static=bool(cohort.get("is_static")))
    try:
        if base.static:
            distinct_ids, person_ids = _static_members(cohort, path)
            return attrs.evolve(base, distinct_ids=distinct_ids, person_ids=person_ids)
        return attrs.evolve(base, definition=cohort_definition(cohort, path, limits))
    except ValidationError as exc:
        return attrs.evolve(base, error=exc)


def _static_members(cohort: Mapping[str, Any], path: tuple) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A static cohort's (distinct_ids, person_ids), each as strings."""
    dids = cohort.get("distinct_ids") or ()
    pids = cohort.get("person_ids") or cohort.get("persons") or ()
    for name, items in (("distinct_ids", dids), ("person_ids", pids)):
        if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
            raise ValidationError(path + (name,), "expected a list")
    return tuple(str(d) for d in dids), tuple(str(p) for p in pids)


def cohort_definition(cohort: Mapping[str, Any], path: tuple, limits: Limits) -> PropertyGroup:
    """The person-property group that defines a dynamic cohort (``filters`` or legacy ``groups``)."""
    filters = cohort.get("filters")
    if isinstance(filters, Mapping) and filters.get("properties") is not None:
        props = filters["properties"]
        if not isinstance(props, Mapping):
            raise ValidationError(path + ("filters", "properties"), "expected an AND/OR property group")
        if not props.get("values"):
            return PropertyGroup("AND", ())
        return parse_group(props, path + ("filters", "properties"), limits, raw=True)
    groups = cohort.get("groups")
    if groups is None:
        raise ValidationError(path, "a dynamic cohort needs `groups` or `filters.properties` (or is_static with distinct_ids)")
    if isinstance(groups, (str, bytes)) or not isinstance(groups, Sequence):
        raise ValidationError(path + ("groups",), "expected a list of groups")
    return PropertyGroup("OR", tuple(_legacy_group(g, path + ("groups", i), limits) for i, g in enumerate(groups)))


def _legacy_group(group: Any, path: tuple, limits: Limits) -> PropertyGroup:
    if not isinstance(group, Mapping):
        raise ValidationError(path, "expected a cohort group object")
    if any(group.get(k) is not None for k in BEHAVIOURAL_GROUP_KEYS):
        raise UnsupportedError(path, "behavioural cohort criteria (performed an event / action) are not supported")
    props = group.get("properties")
    if props is None:
        raise ValidationError(path + ("properties",), "a cohort group needs `properties` (behavioural groups are not supported)")
    if isinstance(props, Mapping):  # old style {key: value}: exact person filters
        props = [{"key": k, "value": v, "type": "person"} for k, v in props.items()]
    if isinstance(props, (str, bytes)) or not isinstance(props, Sequence):
        raise ValidationError(path + ("properties",), "expected a list of property filters")
    leaves = []
    for i, p in enumerate(props):
        if not isinstance(p, Mapping):
            raise ValidationError(path + ("properties", i), "expected a property filter object")
        if not p:
            continue
        if p.get("type") in (None, "event", "events"):
            p = {**p, "type": "person"}
        leaf = parse_leaf(p, path + ("properties", i), limits, raw=True)
        if leaf is not None:
            leaves.append(leaf)
    return PropertyGroup("AND", tuple(leaves))


__all__ = ["Cohort", "parse_cohort", "cohort_definition"]
