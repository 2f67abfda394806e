"""Validation and columnarisation of record inputs (dicts) into store arrays.

Each input record is checked once here; any problem raises ValidationError naming the record
index and field, before anything is built, so no partial store ever exists.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import jsontext
from ..errors import ValidationError, brief
from ..jsonvalue import check_number, check_text
from ..limits import DEFAULT_LIMITS, Limits
from .tables import NO_TIME, PersonTable
from .timerange import OUT_OF_RANGE, OutOfRangeTime


def check_json_value(v: Any, path: tuple, depth: int = 0, limits: Limits = DEFAULT_LIMITS) -> None:
    """Raise ValidationError unless ``v`` is a JSON value of sane size: finite numbers within
    float range, valid Unicode, Limits.max_ingest_string_length, max_ingest_depth and
    max_ingest_values (a part that appears in several places counted each time, so a value built
    in Python that shares its parts — a list holding the same list twice, nested — is refused
    after that many steps instead of walked as the tree it stands for)."""
    _check_value(v, path, depth, limits, [limits.max_ingest_values])


def _check_value(v: Any, path: tuple, depth: int, limits: Limits, budget: list[int]) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise ValidationError(path[:len(path) - depth], f"more than max_ingest_values={limits.max_ingest_values:,} values "
                              "in one property value (a part that appears in several places counts each time)")
    if v is None or isinstance(v, bool):
        return
    if isinstance(v, (int, float)):
        check_number(v, path)  # a huge int would break float() and str() later
        return
    if isinstance(v, str):
        check_text(v, path, limits.max_ingest_string_length, limit="max_ingest_string_length")
        return
    if depth >= limits.max_ingest_depth:
        raise ValidationError(path, f"value nested deeper than max_ingest_depth={limits.max_ingest_depth}")
    if isinstance(v, Mapping):
        for k, x in v.items():
            if not isinstance(k, str):
                raise ValidationError(path, f"object keys must be strings, got {type(k).__name__}")
            check_text(k, path, limits.max_name_length, "key", "max_name_length")
            _check_value(x, path + (k,), depth + 1, limits, budget)
        return
    if isinstance(v, (list, tuple)):
        for i, x in enumerate(v):
            _check_value(x, path + (i,), depth + 1, limits, budget)
        return
    if isinstance(v, OutOfRangeTime):
        raise ValidationError(path, OUT_OF_RANGE)
    raise ValidationError(path, f"expected a JSON value, got {type(v).__name__}")


def _frozen_copy(v: Any) -> Any:
    """Containers are stored as fresh copies so later caller mutation cannot reach the store."""
    if isinstance(v, (Mapping, list, tuple)):
        return json.loads(json.dumps(v))
    return v


class JSONTextError(ValueError):
    """JSON text that does not decode (with ``msg`` like json.JSONDecodeError)."""

    def __init__(self, msg: str):
        super().__init__(msg)
        self.msg = msg


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """object_pairs_hook: a key given twice in one object is ambiguous, so it is an error."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise JSONTextError(f"key {brief(k, 60)} appears twice in one object")
            seen.add(k)
    return out


def loads_json(text: str | bytes) -> Any:
    """json.loads for ingested text, raising only JSONTextError: also for nesting deep enough to
    exhaust the stack, integers too long to convert, and a key given twice in one object."""
    try:
        return jsontext.loads(text, object_pairs_hook=_unique_keys)
    except JSONTextError:
        raise
    except jsontext.TooDeep as exc:
        raise JSONTextError(str(exc)) from None
    except ValueError as exc:  # JSONDecodeError, bad UTF-8 in bytes, an over-long integer
        raise JSONTextError(getattr(exc, "msg", None) or str(exc)[:200]) from None


def properties_of(rec: Mapping, path: tuple, field: str = "properties", limits: Limits = DEFAULT_LIMITS) -> Mapping:
    props = rec.get(field)
    if props is None:
        return {}
    if isinstance(props, str):  # PostHog exports may carry properties as JSON text
        try:
            props = loads_json(props)
        except JSONTextError as exc:
            raise ValidationError(path + (field,), f"expected an object (or JSON text of one): {exc.msg}") from None
    if not isinstance(props, Mapping):
        raise ValidationError(path + (field,), f"expected an object, got {type(props).__name__}")
    for k, v in props.items():
        if not isinstance(k, str):
            raise ValidationError(path + (field,), f"property keys must be strings, got {brief(k)}")
        check_text(k, path + (field,), limits.max_name_length, "property key", "max_name_length")
        check_json_value(v, path + (field, k), 0, limits)
    return props


def _string_id(v: Any, path: tuple, what: str, limits: Limits = DEFAULT_LIMITS) -> str:
    if isinstance(v, bool) or v is None:
        raise ValidationError(path, f"expected a non-empty string {what}")
    if isinstance(v, int):
        v = str(check_number(v, path))
    if not isinstance(v, str) or not v:
        raise ValidationError(path, f"expected a non-empty string {what}, got {brief(v)}")
    return check_text(v, path, limits.max_name_length, what, "max_name_length")


class Interner:
    """Strings → dense int codes in first-seen order."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.values: list[str] = []

    def __call__(self, s: str) -> int:
        c = self.index.get(s)
        if c is None:
            c = self.index[s] = len(self.values)
            self.values.append(s)
        return c


def finish_persons(ids: list, created: list, builders: dict, owner: dict, n_dids: int) -> PersonTable:
    """Person rows for every distinct_id: those without a person row get one of their own."""
    n_real = len(ids)
    person_of = np.full(n_dids, -1, dtype=np.int32)
    if owner:
        person_of[np.fromiter(owner.keys(), np.int64, len(owner))] = np.fromiter(owner.values(), np.int32, len(owner))
    orphans = np.flatnonzero(person_of < 0)
    person_of[orphans] = np.arange(n_real, n_real + len(orphans), dtype=np.int32)
    n = n_real + len(orphans)
    all_ids = np.empty(n, dtype=object)
    all_ids[:n_real] = ids
    created_at = np.full(n, NO_TIME, dtype=np.int64)
    created_at[:n_real] = created
    synthetic = np.zeros(n, dtype=bool)
    synthetic[n_real:] = True
    props = {k: b.build(n) for k, b in builders.items()}
    return PersonTable(all_ids, created_at, props, person_of, synthetic)


def remap_sorted(interner: Interner) -> tuple[list[str], np.ndarray]:
    """Sorted values and the old-code → new-code map, so codes follow string order."""
    order = sorted(range(len(interner.values)), key=interner.values.__getitem__)
    new_of_old = np.empty(len(order), dtype=np.int32)
    new_of_old[np.asarray(order, dtype=np.int64)] = np.arange(len(order), dtype=np.int32)
    return [interner.values[i] for i in order], new_of_old

