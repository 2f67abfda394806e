"""Arrow property columns (flat, struct fields, JSON text) to dictionary-encoded PropertyColumns."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ValidationError
from ..limits import DEFAULT_LIMITS, Limits
from .arrow_encode import PREFIX, _dictionary_codes, _first_row, _gather, _pa
from .arrow_time import datetime_text
from .columns import PropertyColumn, ValueDictionary
from .fixedkeys import numpy_of
from .ingest import Interner, properties_of
from .timerange import OUT_OF_RANGE, checked_us

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa



# --- properties -------------------------------------------------------------------------------


def _property_sources(
    table: pa.Table, what: str, reserved: tuple[str, ...], limits: Limits = DEFAULT_LIMITS
) -> list[tuple[str, Callable[[], tuple]]]:
    """(key, build) per property of a table — flat ``properties.<key>``, a struct's fields, or the
    keys of JSON text — where ``build()`` returns (codes, dictionary). Keys given twice are an
    error naming the column."""
    pa, pc = _pa()
    out: list[tuple[str, Callable[[], tuple]]] = []
    seen: set[str] = set()

    def add(key: str, build: Callable[[], tuple], path: tuple) -> None:
        if key in seen:
            raise ValidationError(path, f"property {key!r} is given twice")
        if len(key) > limits.max_name_length:
            raise ValidationError(path, f"property key longer than max_name_length={limits.max_name_length}")
        seen.add(key)
        out.append((key, build))

    if "properties" in table.column_names:
        col = table.column("properties")
        t = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
        if pa.types.is_struct(t):
            for field, child in struct_fields(col):
                add(field.name, partial(_typed_column, child, what, f"properties.{field.name}", limits),
                    (what, "properties", field.name))
        elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
            for key, built in _json_columns(col, what, limits).items():
                add(key, partial(lambda b: b, built), (what, "properties", key))
        else:
            raise ValidationError((what, "properties"), f"expected JSON text or a struct column, got {col.type}")
    for name in table.column_names:
        if name.startswith(PREFIX) and name not in reserved:
            add(name[len(PREFIX):], partial(_typed_column_of, table, what, name, limits), (what, name))
    return out


def struct_fields(col: pa.ChunkedArray) -> list[tuple[pa.Field, pa.ChunkedArray]]:
    """(field, its column) per field of a struct column, null where the struct row is null (a
    null struct row means no properties at all). Chunk by chunk (``flatten``), not over a copy
    of the whole column."""
    pa, pc = _pa()
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    t = col.type
    children = [c.flatten() for c in col.chunks]
    return [(t.field(i), pa.chunked_array([kids[i] for kids in children], t.field(i).type)) for i in range(t.num_fields)]


def _property_columns(
    table: pa.Table, what: str, reserved: tuple[str, ...], limits: Limits = DEFAULT_LIMITS
) -> dict[str, tuple[np.ndarray, ValueDictionary]]:
    """Property columns of a table, in table row order."""
    return {k: build() for k, build in _property_sources(table, what, reserved, limits)}


def _ordered_column(build: Callable[[], tuple], order: Future[np.ndarray]) -> PropertyColumn:
    """The column ``build()`` gives, its rows in the order ``order`` gives when it is known."""
    codes, dictionary = build()
    return PropertyColumn(_gather(codes, order.result()), dictionary)



def _typed_column_of(table: Any, what: str, name: str, limits: Limits) -> tuple[np.ndarray, ValueDictionary]:
    return _typed_column(table.column(name), what, name, limits)


def _typed_column(col: pa.ChunkedArray, what: str, name: str, limits: Limits = DEFAULT_LIMITS) -> tuple[np.ndarray, ValueDictionary]:
    """One scalar-typed Arrow column → (codes, dictionary of Python values in first-seen order)."""
    pa, pc = _pa()
    t = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
    if pa.types.is_null(t):
        return np.full(len(col), -1, dtype=np.int32), ValueDictionary(())
    if pa.types.is_timestamp(t) or pa.types.is_date(t):  # a datetime column: its ISO text (DateTime)
        _check_datetime_range(col, t, what, name)
        col = datetime_text(col)
        t = col.type
    elif pa.types.is_decimal(t):
        col = col.cast(pa.float64())
        t = col.type
    scalar = (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t)
              or pa.types.is_floating(t) or pa.types.is_boolean(t))
    if not scalar:
        raise ValidationError((what, name), f"unsupported property column type {col.type}: use string, "
                              "integer, float, boolean or timestamp (nested values go in a JSON 'properties' column)")
    if not pa.types.is_dictionary(col.type) and col.null_count > len(col) // 2:
        return _sparse_column(col, what, name, limits)
    if pa.types.is_floating(t) and not pa.types.is_dictionary(col.type):
        finite = pc.is_finite(col)
        if pc.any(pc.invert(finite)).as_py():  # (null: absent, not a bad value)
            mask = ~np.asarray(pc.fill_null(finite, True).to_numpy(zero_copy_only=False))
            raise ValidationError((what, _first_row(mask), name), "expected a finite number")
    if pa.types.is_floating(t) and t != pa.float64():
        col = col.cast(pa.float64())
    uniq, codes = _dictionary_codes(col)
    if (pa.types.is_string(t) or pa.types.is_large_string(t)) and len(uniq):
        if pc.max(pc.utf8_length(uniq)).as_py() > limits.max_ingest_string_length:
            raise ValidationError((what, name), f"string longer than max_ingest_string_length={limits.max_ingest_string_length}")
    return codes, ValueDictionary(uniq.to_pylist())


def _sparse_column(col: pa.ChunkedArray, what: str, name: str, limits: Limits) -> tuple[np.ndarray, ValueDictionary]:
    """_typed_column of a column mostly null: built over its values alone (the same dictionary:
    nulls are never in it), then spread over the rows; an error's row is the row in ``col``."""
    rows = np.flatnonzero(np.concatenate([numpy_of(c.is_valid()) for c in col.chunks]))
    try:
        dense, dictionary = _typed_column(col.drop_null(), what, name, limits)
    except ValidationError as exc:
        if len(exc.path) == 3 and isinstance(exc.path[1], int):
            raise ValidationError((what, int(rows[int(exc.path[1])]), name), exc.message) from None
        raise
    codes = np.full(len(col), -1, dtype=np.int32)
    codes[rows] = dense
    return codes, dictionary


def _json_columns(col: pa.ChunkedArray, what: str, limits: Limits = DEFAULT_LIMITS) -> dict[str, tuple[np.ndarray, ValueDictionary]]:
    """JSON object text per row → one column per key; each distinct text is parsed once and each
    key gets a look-up table text-code → value-code, gathered over the rows."""
    uniq, blob = _dictionary_codes(col)
    texts = uniq.to_pylist()
    keys: dict[str, tuple[Interner, np.ndarray]] = {}
    for j, text in enumerate(texts):
        try:
            props = properties_of({"properties": text}, (), limits=limits)
        except ValidationError as exc:
            raise ValidationError((what, _first_row(blob == j)) + exc.path, exc.message) from None
        for k, v in props.items():
            if v is None:  # JSON null = absent, as from_records
                continue
            interner, lut = keys.get(k) or keys.setdefault(k, (_ValueInterner(), np.full(len(texts) + 1, -1, np.int32)))
            lut[j] = interner(v)
    return {k: (lut[blob], ValueDictionary(interner.values)) for k, (interner, lut) in keys.items()}


class _ValueInterner(Interner):
    """Interns JSON values with ``intern_key`` (1, 1.0, True and "1" stay distinct)."""

    def __call__(self, v: Any) -> int:  # type: ignore[override]
        from .columns import intern_key
        from .ingest import _frozen_copy

        k = intern_key(v)
        c = self.index.get(k)
        if c is None:
            c = self.index[k] = len(self.values)
            self.values.append(_frozen_copy(v))
        return c




def with_int_rows(build: Callable[[], tuple], rows: np.ndarray | Callable[[], np.ndarray]) -> tuple[np.ndarray, ValueDictionary]:
    """``build()``'s (codes, dictionary) of a float column, with the values at ``rows`` (table
    rows whose JSON text was an integer; or a function giving them, called after ``build``) as
    ints, distinct from the floats: 10 and 10.0 are two values, as the row reader keeps them.
    Codes are renumbered in first-seen row order."""
    codes, dictionary = build()
    if callable(rows):
        rows = rows()
    if not len(rows):
        return codes, dictionary
    values = list(dictionary.values)
    old = codes[rows]
    ints, inverse = np.unique(old, return_inverse=True)
    codes = codes.copy()
    codes[rows] = len(values) + inverse.astype(np.int32)
    values += [int(values[c]) for c in ints.tolist()]
    # first-seen order, as every other column's dictionary
    n = len(values)
    first = np.full(n, len(codes), dtype=np.int64)
    held = np.flatnonzero(codes >= 0)
    np.minimum.at(first, codes[held], held)
    used = np.flatnonzero(first < len(codes))
    by_first = used[np.argsort(first[used], kind="stable")]
    remap = np.full(n + 1, -1, dtype=np.int32)
    remap[by_first] = np.arange(len(by_first), dtype=np.int32)
    return remap[codes], ValueDictionary([values[i] for i in by_first.tolist()])


def _check_datetime_range(col: Any, t: Any, what: str, name: str) -> None:
    """A datetime property outside years 1900..2299 is an error at its row (rendering it as text
    would wrap: Arrow's strftime of such a value is garbage)."""
    pa, pc = _pa()
    plain = col.cast(t) if pa.types.is_dictionary(col.type) else col
    date32 = t == pa.date32()
    unit = t.unit if pa.types.is_timestamp(t) else "D" if date32 else "ms"
    ints = plain.cast(pa.int32() if date32 else pa.int64())
    raw = np.asarray(ints.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
    try:
        checked_us(raw, unit, (what, name))
    except ValidationError as exc:
        raise ValidationError((what, int(exc.path[1]), "properties", name),
                              OUT_OF_RANGE) from None
