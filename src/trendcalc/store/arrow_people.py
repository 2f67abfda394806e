"""Persons and groups of an Arrow build: the person table, the distinct_id universe, group tables."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ValidationError
from ..limits import DEFAULT_LIMITS, Limits
from ..timeutil import us_to_datetime
from .arrow_encode import (
    _as_table,
    _dictionary_codes,
    _encode_ids,
    _is_table,
    _pa,
    _resolve,
)
from .arrow_properties import _property_columns
from .arrow_time import _timestamps
from .builder import Source, StoreBuilder, records
from .columns import PropertyColumn
from .fixedkeys import arrow_ints, ints_or, numpy_of
from .readers import read_records_file
from .tables import NO_TIME, GroupTable, PersonTable

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa



# --- persons and groups -----------------------------------------------------------------------


def _persons_and_groups(
    persons: Any, groups: Any, dids: pa.Array, did_codes: np.ndarray, person_ids: Future | None,
    by_time: np.ndarray | None, limits: Limits = DEFAULT_LIMITS,
) -> tuple[PersonTable, np.ndarray, dict[int, GroupTable]]:
    """The person table, the distinct_id universe (the events' distinct_ids first) and the group
    tables, with ``from_records``' rules:

    - persons given as records (or a table with ``distinct_ids``, or a JSON-lines/JSON path) go
      through the record builder; a table with ``id`` gives one person per row, vectorised;
    - a distinct_id no person claims joins the person_id of its latest event (``by_time``: the
      rows in time order; ties go to the later row); a person_id equal to a person's ``id``
      joins that person, any other starts a new person (in the order of its distinct_ids);
    - distinct_ids left without a person get one of their own.

    ``person_ids``: the events' ``person_id`` column being checked (a Future of a
    ``PersonIds``), or None without one."""
    persons, groups = _resolve(persons), _resolve(groups)  # (Futures of Parquet files being read)
    b = StoreBuilder(limits=limits)
    indexed = False

    def index_dids() -> None:  # only the record path looks distinct_ids up (Python objects)
        nonlocal indexed
        b.dids.values = dids.to_pylist()
        b.dids.index = {d: i for i, d in enumerate(b.dids.values)}
        indexed = True

    table = None
    if _is_table(persons):
        table = _as_table(persons, "persons")
        if "distinct_ids" in table.column_names:
            recs = _table_records(table, "persons", PERSON_FIELDS, limits)
            index_dids()
            b.feed("persons", Source("persons"), records("persons", recs))
            table = None
        elif "id" not in table.column_names:
            raise ValidationError(("persons", "id"), "missing required column 'id' (or 'distinct_ids')")
    elif isinstance(persons, (str, Path)):
        src, items = read_records_file(persons, "persons")
        index_dids()
        b.feed("persons", src, items)
    elif persons is not None:
        index_dids()
        b.feed("persons", Source("persons"), records("persons", persons))
    if _is_table(groups):
        b.feed("groups", Source("groups"), records("groups", _table_records(_as_table(groups, "groups"), "groups", GROUP_FIELDS, limits)))
    elif isinstance(groups, (str, Path)):
        b.feed("groups", *read_records_file(groups, "groups"))
    elif groups is not None:
        b.feed("groups", Source("groups"), records("groups", groups))

    pa, pc = _pa()
    n_dids = len(b.dids.values) if indexed else len(dids)
    if table is not None:
        id_arr, n_rows = _table_ids(table)
        ids = [numpy_of(id_arr)]
    else:
        n_rows = len(b.p_ids)
        # (no persons: an empty array without pa.array, whose first call imports pandas)
        id_arr = (pa.array([None if i is None else str(i) for i in b.p_ids], pa.string()) if b.p_ids
                  else pa.nulls(0, pa.string()))
        ids = [np.array(b.p_ids + [None], dtype=object)[:-1]]
    person_of = np.full(n_dids, -1, dtype=np.int32)
    if b.owner:
        person_of[np.fromiter(b.owner.keys(), np.int64, len(b.owner))] = np.fromiter(b.owner.values(), np.int32, len(b.owner))
    if person_ids is not None:
        pids, pid_of_did = person_ids.result().latest_per_did(did_codes, by_time, n_dids)
        # person row per distinct person_id: a person with that id, else new rows in the order
        # of the distinct_ids that name them
        row_of = np.full(len(pids) + 1, -1, dtype=np.int32)
        if len(pids) and len(id_arr):
            row_of[:-1] = ints_or(pc.index_in(pids, value_set=id_arr.cast(pids.type)), -1)
        claims = (person_of < 0) & (pid_of_did >= 0)
        named = pid_of_did[claims]
        fresh = named[row_of[named] < 0]
        if len(fresh):
            firsts = np.unique(fresh, return_index=True)[1]
            new = fresh[np.sort(firsts)]
            row_of[new] = np.arange(n_rows, n_rows + len(new), dtype=np.int32)
            ids.append(numpy_of(pids.take(arrow_ints(new))))
            n_rows += len(new)
        person_of[claims] = row_of[named]
    orphans = np.flatnonzero(person_of < 0)
    person_of[orphans] = np.arange(n_rows, n_rows + len(orphans), dtype=np.int32)
    n = n_rows + len(orphans)
    all_ids = np.empty(n, dtype=object)
    all_ids[:n_rows] = np.concatenate(ids) if len(ids) > 1 else ids[0]
    created_at = np.full(n, NO_TIME, dtype=np.int64)
    props: dict[str, PropertyColumn] = {}
    if table is not None:
        n_table = table.num_rows
        if "created_at" in table.column_names and table.column("created_at").null_count < n_table:
            col = table.column("created_at")
            ok = ~np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
            filled = pc.fill_null(col, pa.scalar(0, pa.int64()).cast(col.type)) if not ok.all() else col
            created_at[:n_table][ok] = _timestamps(filled, "persons", "created_at")[ok]
        for k, (codes, d) in _property_columns(table, "persons", PERSON_FIELDS, limits).items():
            full = np.full(n, -1, dtype=np.int32)
            full[:n_table] = codes
            props[k] = PropertyColumn(full, d)
    else:
        created_at[:len(b.p_created)] = b.p_created
        props = {k: bld.build(n) for k, bld in b.p_builders.items()}
    synthetic = np.zeros(n, dtype=bool)
    synthetic[n_rows:] = True
    if indexed:
        distinct_ids = np.array(b.dids.values, dtype=object)
    else:
        distinct_ids = np.empty(len(dids), dtype=object)
        if len(dids):
            distinct_ids[:] = numpy_of(dids)
    return PersonTable(all_ids, created_at, props, person_of, synthetic), distinct_ids, b._group_tables()


def _table_ids(table: Any) -> tuple[pa.Array, int]:
    """The ``id`` of each row of a persons table, as strings; duplicates are an error."""
    pa, _ = _pa()
    uniq, codes = _encode_ids(table.column("id"), "persons", "id")
    if len(uniq) != table.num_rows:
        dup = int(np.flatnonzero(np.bincount(codes, minlength=len(uniq)) > 1)[0])
        raise ValidationError(("persons", int(np.flatnonzero(codes == dup)[1]), "id"),
                              f"duplicate person id {uniq[dup].as_py()!r}")
    return uniq.take(arrow_ints(codes)), table.num_rows


def _latest_row_per_did(did_codes: np.ndarray, has: np.ndarray | None, by_time: np.ndarray | None,
                        n_dids: int) -> np.ndarray:
    """Per distinct_id, its latest row (in ``has``: the rows that have a person_id; None: all),
    -1 for none. ``by_time``: the rows in (stable) time order (None: they already are); ties go
    to the later row."""
    it = np.int32 if len(did_codes) < 2**31 else np.int64
    if by_time is None:
        pos = np.arange(len(did_codes), dtype=it)
    else:
        pos = np.empty(len(by_time), dtype=it)
        pos[by_time] = np.arange(len(by_time), dtype=it)
    last = np.full(n_dids, -1, dtype=it)
    if has is None:
        np.maximum.at(last, did_codes, pos)  # the latest position; ties: the later row
    else:
        np.maximum.at(last, did_codes[has], pos[has])
    out = np.full(n_dids, -1, dtype=np.int64)
    seen = np.asarray(last) >= 0
    out[seen] = last[seen] if by_time is None else by_time[last[seen]]
    return out


class PersonIds:
    """The events' ``person_id`` column, checked whole (type, no ``""``) but encoded only at
    the rows read: a distinct_id takes the person_id of its latest event that has one, so of
    ten million events' ids only one per distinct_id is ever hashed (``latest_per_did``)."""

    def __init__(self, col: Any):
        pa, pc = _pa()
        vtype = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
        integer = pa.types.is_integer(vtype)
        if not (integer or pa.types.is_string(vtype) or pa.types.is_large_string(vtype) or pa.types.is_null(vtype)):
            raise ValidationError(("events", "person_id"), f"expected a string or integer column, got {col.type}")
        chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
        self.col = pa.chunked_array(chunks, col.type)
        self.integer = integer
        self.has = None if not self.col.null_count else np.concatenate(
            [numpy_of(c.is_valid()) for c in chunks] or [np.zeros(0, dtype=bool)])
        if not integer and not pa.types.is_null(vtype):
            row = _first_empty(chunks)
            if row is not None:
                raise ValidationError(("events", row, "person_id"), "expected a non-empty person_id")

    def latest_per_did(self, did_codes: np.ndarray, by_time: np.ndarray | None, n_dids: int) -> tuple[pa.Array, np.ndarray]:
        """(the person_ids named, per distinct_id the code among them of its latest event's
        person_id, -1 for none); ``by_time``: the rows in (stable) time order (None: they are)."""
        rows = _latest_row_per_did(did_codes, self.has, by_time, n_dids)
        named = rows >= 0
        uniq, codes = self.encode(self.col.take(arrow_ints(rows[named])))
        out = np.full(n_dids, -1, dtype=np.int64)
        out[named] = codes
        return uniq, out

    def encode(self, ids: Any) -> tuple[pa.Array, np.ndarray]:
        """(distinct ids as text, a code per value, -1 for null) of ``ids``, values of this column
        (integers as their decimal text, as from_records renders them)."""
        pa, pc = _pa()
        uniq, codes = _dictionary_codes(pc.cast(ids, pa.string()) if self.integer else ids)
        return (uniq.cast(pa.string()) if pa.types.is_null(uniq.type) else uniq), codes


def _first_empty(chunks: list[Any]) -> int | None:
    """The first row (over the chunks) holding ``""``, None when none does; a dictionary
    chunk's rows are looked at only when its dictionary holds ``""``."""
    pa, pc = _pa()
    pos = 0
    for c in chunks:
        if pa.types.is_dictionary(c.type):
            empty = np.flatnonzero(ints_or(pc.binary_length(c.dictionary), -1) == 0)
            hit = (np.isin(ints_or(c.indices, -1), empty) if len(empty) else None)
        else:
            # (NumPy compares, not pc.equal/fill_null with a Python scalar, whose conversion
            # imports pandas: ~0.2 s of a fresh process; see fixedkeys.ints_or)
            hit = ints_or(pc.binary_length(c), -1) == 0 if len(c) else None
        if hit is not None and hit.any():
            return pos + int(np.argmax(hit))
        pos += len(c)
    return None


def _encode_ids_nullable(col: Any) -> tuple[pa.Array, np.ndarray]:
    """(the distinct person_ids, a code per row, -1 for none) of a whole ``person_id`` column,
    checked as ``PersonIds`` checks it."""
    ids = PersonIds(col)
    return ids.encode(ids.col)


def _table_records(table: Any, what: str, fields: tuple[str, ...], limits: Limits = DEFAULT_LIMITS) -> list[dict[str, Any]]:
    """Rows of a small table (persons by distinct_ids, groups) as records for the record path."""
    props = _property_columns(table, what, fields, limits)
    cols = {f: _pylist(table.column(f), what, f) for f in fields if f in table.column_names and f != "properties"}
    n = table.num_rows
    out = []
    for i in range(n):
        rec: dict[str, Any] = {f: v[i] for f, v in cols.items() if v[i] is not None}
        rec["properties"] = {k: d.values[c] for k, (codes, d) in props.items() if (c := int(codes[i])) >= 0}
        out.append(rec)
    return out


PERSON_FIELDS = ("id", "distinct_ids", "created_at", "properties")
GROUP_FIELDS = ("group_type_index", "group_key", "created_at", "properties")


def _pylist(col: Any, what: str, name: str) -> list[Any]:
    """A column's values for the record path; timestamps and dates are range-checked first
    (Arrow's ``as_py`` overflows on an out-of-range one) and given as datetimes."""
    pa, pc = _pa()
    if not (pa.types.is_timestamp(col.type) or pa.types.is_date(col.type)):
        return col.to_pylist()
    ok = ~np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    rows = np.flatnonzero(ok)
    try:
        us = _timestamps(col.filter(pa.array(ok)), what, name)
    except ValidationError as exc:
        if len(exc.path) == 3:
            raise ValidationError((what, int(rows[int(exc.path[1])]), name), exc.message) from None
        raise
    out: list[Any] = [None] * len(col)
    for i, u in zip(rows.tolist(), us.tolist()):
        out[i] = us_to_datetime(u)
    return out
