"""Project (team) settings that change trend numbers: timezone, week start, actions, cohorts, ..."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .errors import ValidationError, brief
from .jsonvalue import clean_json
from .limits import DEFAULT_LIMITS
from .query.actions import Action, parse_action
from .query.cohorts import Cohort, parse_cohort
from .query.model import TRUE_GROUP, PropertyGroup
from .query.properties import parse_test_account_filters
from .query.regex import compile_regex

PROPERTY_TYPES = ("String", "Numeric", "Boolean", "DateTime", "Duration")
PROPERTY_KINDS = ("event", "person", "group", "session")


def load_timezone(name: object, path: tuple = ("timezone",)) -> zoneinfo.ZoneInfo:
    """An IANA zone, or ValidationError naming the path."""
    if not isinstance(name, str) or not name or len(name) > 64:
        raise ValidationError(path, f"expected an IANA timezone name, got {brief(name)}")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValidationError(path, f"unknown timezone {name!r}") from exc


@attrs.frozen
class PropertyDefinition:
    """The declared type of one property key (upstream PropertyDefinition)."""

    name: str
    type: str
    kind: str = "event"
    group_type_index: int | None = None


@attrs.frozen
class Project:
    """Immutable project settings, parsed completely when built.

    ``actions``, ``cohorts``, ``test_account_filters`` and ``path_cleaning_filters`` keep the
    input as given (bounded JSON copies, for echoing and for independent checkers); the engine
    reads only the parsed forms: ``action(id)``, ``cohort(id)``, ``test_accounts`` and
    ``path_cleaning``. Malformed structure (not a list of objects, a bad timezone or property
    definition) fails here. A part whose *definition* does not parse keeps its error
    (``Action.error``, ``Cohort.error``, ``test_accounts_error``, ``path_cleaning_error``): PostHog
    fails only when a query uses it, so trendcalc raises it then — right after parsing the query,
    before any row is read (``engine.supported.check_project``)."""

    timezone: str = "UTC"
    week_start_day: int = 0
    actions: tuple[Mapping[str, Any], ...] = ()
    cohorts: tuple[Mapping[str, Any], ...] = ()
    test_account_filters: tuple[Mapping[str, Any], ...] = ()
    property_definitions: tuple[PropertyDefinition, ...] = ()
    group_types: tuple[Mapping[str, Any], ...] = ()
    aggregate_users_by_distinct_id: bool = False
    human_friendly_comparison_periods: bool = False
    path_cleaning_filters: tuple[Mapping[str, Any], ...] = ()  # [{"regex", "alias"}], for is_cleaned_path_exact
    # a property without a definition is typed from the data as PostHog's ingestion would
    # (store.property_definitions); False: it is a String (conformance worlds: upstream tests
    # had exactly the definitions they list)
    infer_property_types: bool = True
    tz: zoneinfo.ZoneInfo = attrs.field(init=False, eq=False, repr=False)
    test_accounts: PropertyGroup = attrs.field(init=False, eq=False, repr=False)
    path_cleaning: tuple[PathCleaningRule, ...] = attrs.field(init=False, eq=False, repr=False)
    test_accounts_error: ValidationError | None = attrs.field(init=False, eq=False, repr=False)
    path_cleaning_error: ValidationError | None = attrs.field(init=False, eq=False, repr=False)
    _types: dict = attrs.field(init=False, eq=False, repr=False)
    _actions: dict = attrs.field(init=False, eq=False, repr=False)
    _cohorts: dict = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "tz", load_timezone(self.timezone))
        if not isinstance(self.infer_property_types, bool):
            raise ValidationError(("infer_property_types",), f"expected true or false, got {brief(self.infer_property_types)}")
        if not isinstance(self.week_start_day, int) or isinstance(self.week_start_day, bool) or self.week_start_day not in (0, 1):
            raise ValidationError(("week_start_day",), "expected 0 (Sunday) or 1 (Monday)")
        object.__setattr__(self, "actions", _tuple_of_dicts(self.actions, "actions"))
        object.__setattr__(self, "cohorts", _tuple_of_dicts(self.cohorts, "cohorts"))
        object.__setattr__(
            self, "test_account_filters", _tuple_of_dicts(self.test_account_filters, "test_account_filters")
        )
        object.__setattr__(self, "group_types", _tuple_of_dicts(self.group_types, "group_types"))
        object.__setattr__(
            self, "path_cleaning_filters", _tuple_of_dicts(self.path_cleaning_filters, "path_cleaning_filters")
        )
        defs = []
        raw_defs = () if self.property_definitions is None else self.property_definitions  # (not `or`: an array has no truth value)
        if isinstance(raw_defs, (str, bytes, Mapping)) or not isinstance(raw_defs, Sequence):
            raise ValidationError(("property_definitions",), "expected a list of objects")
        for i, d in enumerate(raw_defs):
            defs.append(_parse_definition(d, ("property_definitions", i)))
        object.__setattr__(self, "property_definitions", tuple(defs))
        types: dict = {}
        for d in defs:  # first definition of a (kind, group type, name) wins, as upstream
            types.setdefault((d.kind, d.group_type_index, d.name), d.type)
        object.__setattr__(self, "_types", types)
        self._parse_parts()

    def _parse_parts(self) -> None:
        """Actions, cohorts, test-account filters and path-cleaning rules into their typed forms."""
        actions: dict[str, Action] = {}
        for a in self.actions:
            actions.setdefault(str(a.get("id")), parse_action(a, DEFAULT_LIMITS))
        cohorts: dict[str, Cohort] = {}
        for i, c in enumerate(self.cohorts):
            cohorts.setdefault(str(c.get("id")), parse_cohort(c, i, DEFAULT_LIMITS))
        object.__setattr__(self, "_actions", actions)
        object.__setattr__(self, "_cohorts", cohorts)
        test_accounts, error = TRUE_GROUP, None
        try:
            if self.test_account_filters:
                test_accounts = parse_test_account_filters(self.test_account_filters, DEFAULT_LIMITS)
        except ValidationError as exc:
            error = exc
        object.__setattr__(self, "test_accounts", test_accounts)
        object.__setattr__(self, "test_accounts_error", error)
        rules, error = [], None
        try:
            for i, rule in enumerate(self.path_cleaning_filters):
                path = ("project", "path_cleaning_filters", i)
                alias = rule.get("alias", "")
                if not isinstance(alias, str):
                    raise ValidationError(path + ("alias",), "expected a string")
                rules.append(PathCleaningRule(compile_regex(rule.get("regex"), path + ("regex",), DEFAULT_LIMITS), alias))
        except ValidationError as exc:
            rules, error = [], exc
        object.__setattr__(self, "path_cleaning", tuple(rules))
        object.__setattr__(self, "path_cleaning_error", error)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Project:
        """Build from the conformance/SCHEMA.md "project" dict (plus actions and cohorts)."""
        if not isinstance(d, Mapping):
            raise ValidationError((), "expected a project object")
        known = {f.name for f in attrs.fields(cls) if f.init}
        for k in d:
            if k not in known:
                raise ValidationError((k,), f"unknown project field; expected one of {sorted(known)}")
        return cls(**{k: v for k, v in d.items() if v is not None})

    def property_type(self, name: str, kind: str = "event", group_type_index: int | None = None) -> str | None:
        """The declared type of a property, or None when the project does not define it."""
        return self._types.get((kind, group_type_index if kind == "group" else None, name))

    def action(self, action_id: Any) -> Action | None:
        """The parsed action with this id (ids compare as text: 7 and "7" are one), or None."""
        return self._actions.get(str(action_id))

    def cohort(self, cohort_id: Any) -> Cohort | None:
        """The parsed cohort with this id (ids compare as text), or None."""
        return self._cohorts.get(str(cohort_id))

    def action_source(self, action_id: Any) -> Mapping[str, Any] | None:
        """The action as given (a JSON copy), for checkers that parse it themselves."""
        for a in self.actions:
            if str(a.get("id")) == str(action_id):
                return a
        return None


@attrs.frozen
class PathCleaningRule:
    """One path-cleaning rule (``is_cleaned_path_exact``): a compiled regex and its alias."""

    pattern: Any
    alias: str


def _tuple_of_dicts(items: Any, name: str) -> tuple:
    """Checked, bounded JSON copies (the Project must not change when the caller's dicts do)."""
    if items is None:
        return ()
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Sequence):
        raise ValidationError((name,), "expected a list of objects")
    out = []
    for i, it in enumerate(items):
        if not isinstance(it, Mapping):
            raise ValidationError((name, i), "expected an object")
        out.append(clean_json(it, (name, i), DEFAULT_LIMITS))
    return tuple(out)


def _parse_definition(d: Any, path: tuple) -> PropertyDefinition:
    if isinstance(d, PropertyDefinition):
        return d
    if not isinstance(d, Mapping):
        raise ValidationError(path, "expected an object with name, type and kind")
    name = d.get("name")
    if not isinstance(name, str):
        raise ValidationError(path + ("name",), "expected a string")
    typ = d.get("type", d.get("property_type"))
    if typ not in PROPERTY_TYPES:
        raise ValidationError(path + ("type",), f"expected one of {list(PROPERTY_TYPES)}, got {brief(typ)}")
    kind = d.get("kind", "event")
    if kind not in PROPERTY_KINDS:
        raise ValidationError(path + ("kind",), f"expected one of {list(PROPERTY_KINDS)}, got {brief(kind)}")
    gti = d.get("group_type_index")
    if kind == "group" and (not isinstance(gti, int) or not 0 <= gti <= 4):
        raise ValidationError(path + ("group_type_index",), "expected an int 0..4 for a group property")
    return PropertyDefinition(name=name, type=typ, kind=kind, group_type_index=gti if kind == "group" else None)
