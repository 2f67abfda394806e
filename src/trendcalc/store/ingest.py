"""Validation and columnarisation of record inputs (dicts) into store arrays.

Each input record is checked once here; any problem raises ValidationError naming the record
index and field, before anything is built, so no partial store ever exists.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ValidationError
from .tables import NO_TIME, PersonTable

MAX_STRING = 1 << 20  # 1 MiB per string value/key; larger is almost surely a mistake
MAX_DEPTH = 32


def check_json_value(v: Any, path: tuple, depth: int = 0) -> None:
    """Raise ValidationError unless ``v`` is a JSON value of sane size."""
    if v is None or isinstance(v, bool) or isinstance(v, int):
        return
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValidationError(path, f"expected a finite number, got {v!r}")
        return
    if isinstance(v, str):
        if len(v) > MAX_STRING:
            raise ValidationError(path, f"string of {len(v)} characters exceeds {MAX_STRING}")
        return
    if depth >= MAX_DEPTH:
        raise ValidationError(path, f"value nested deeper than {MAX_DEPTH} levels")
    if isinstance(v, Mapping):
        for k, x in v.items():
            if not isinstance(k, str):
                raise ValidationError(path, f"object keys must be strings, got {type(k).__name__}")
            check_json_value(x, path + (k,), depth + 1)
        return
    if isinstance(v, (list, tuple)):
        for i, x in enumerate(v):
            check_json_value(x, path + (i,), depth + 1)
        return
    raise ValidationError(path, f"expected a JSON value, got {type(v).__name__}")


def _frozen_copy(v: Any) -> Any:
    """Containers are stored as fresh copies so later caller mutation cannot reach the store."""
    if isinstance(v, (Mapping, list, tuple)):
        return json.loads(json.dumps(v))
    return v


def properties_of(rec: Mapping, path: tuple, field: str = "properties") -> Mapping:
    props = rec.get(field)
    if props is None:
        return {}
    if isinstance(props, str):  # PostHog exports may carry properties as JSON text
        try:
            props = json.loads(props)
        except ValueError as exc:
            raise ValidationError(path + (field,), "expected an object (or JSON text of one)") from exc
    if not isinstance(props, Mapping):
        raise ValidationError(path + (field,), f"expected an object, got {type(props).__name__}")
    for k, v in props.items():
        if not isinstance(k, str):
            raise ValidationError(path + (field,), f"property keys must be strings, got {k!r}")
        if len(k) > 4096:
            raise ValidationError(path + (field,), "property key longer than 4096 characters")
        check_json_value(v, path + (field, k))
    return props


def _string_id(v: Any, path: tuple, what: str) -> str:
    if isinstance(v, bool) or v is None:
        raise ValidationError(path, f"expected a non-empty string {what}")
    if isinstance(v, int):
        v = str(v)
    if not isinstance(v, str) or not v:
        raise ValidationError(path, f"expected a non-empty string {what}, got {v!r}")
    if len(v) > 4096:
        raise ValidationError(path, f"{what} longer than 4096 characters")
    return v


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

