"""Global person resolution for streaming partitioning, before any row is split.

The rules are the store's (``store/arrow_people.py``): a distinct_id claimed by a persons record
belongs to it; else to the person_id of its latest event that has one (latest timestamp, ties to
the later row in input order — several files count as one input, in order), which joins the
persons record with that ``id`` or is a person of its own; else the distinct_id is a person of
its own. Every person is a *node*: persons records first (their row), then person_ids no
record holds, then lone distinct_ids; a node's partition is SplitMix64(node) mod k, and every
distinct_id goes with its node. Each partition's build then resolves its own rows with the same
rules and finds the same persons, because every row of a distinct_id, and every distinct_id and
persons record of a person, are in its partition.

The same pass numbers every person as the single store of the same input would
(``DidMap.person_rows``), and each built partition maps its person rows to those
(``global_person_rows``): ``tc.actors`` breaks ties by them and names a person without an id
``person:<row>`` with them.

Memory: one entry per distinct_id and per person_id (a dict from the string to its code and a
few NumPy arrays), never one per event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UnsupportedError, ValidationError
from .sources import Keys


def splitmix64(x: np.ndarray) -> np.ndarray:
    """A fixed 64-bit mix (SplitMix64's finaliser), vectorised; wraps modulo 2^64 by design."""
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def mix_mod(x: np.ndarray, k: int) -> np.ndarray:
    """SplitMix64(x) mod k as int32."""
    return (splitmix64(x) % np.uint64(k)).astype(np.int32)


# --- persons records -------------------------------------------------------------------------------


@dataclass
class People:
    """The persons input held in memory (it is per person, not per event): records or a table,
    the distinct_ids each record claims and the row of each person ``id``."""

    records: list[Any] | None = None
    table: Any | None = None
    claims: dict[str, int] = field(default_factory=dict)
    row_of_id: dict[str, int] = field(default_factory=dict)

    @property
    def n(self) -> int:
        if self.table is not None:
            return int(self.table.num_rows)
        return len(self.records or ())

    def subset(self, rows: np.ndarray) -> Any:
        """The persons input of the given rows (None when there are none)."""
        if self.table is not None:
            from ..store.fixedkeys import arrow_ints

            return self.table.take(arrow_ints(rows.astype(np.int64)))
        if self.records is None:
            return None
        return [self.records[i] for i in rows.tolist()]


def _id_text(v: Any) -> str | None:
    if v is None or isinstance(v, bool):
        return None
    return str(v) if isinstance(v, (str, int)) else None


def load_people(persons: Any) -> People:
    """``persons`` (records, a table, a DataFrame, a JSON-lines/JSON/Parquet path) in memory, with
    its claims; the caller validates it first (a build of an event-less store)."""
    from ..store.arrow_encode import _as_table, _is_table
    from ..store.parquet_read import _maybe_parquet
    from ..store.readers import read_records_file

    if persons is None:
        return People()
    persons = _maybe_parquet(persons, "persons")
    if isinstance(persons, (str, Path)):
        _, items = read_records_file(persons, "persons")
        return _from_records([rec for _, rec, _ in items])
    if _is_table(persons):
        table = _as_table(persons, "persons")
        out = People(table=table)
        if "distinct_ids" in table.column_names:
            for row, dids in enumerate(table.column("distinct_ids").to_pylist()):
                for d in dids or ():
                    out.claims[str(d)] = row
        if "id" in table.column_names:
            for row, pid in enumerate(table.column("id").to_pylist()):
                t = _id_text(pid)
                if t is not None:
                    out.row_of_id.setdefault(t, row)
        return out
    if hasattr(persons, "to_dict") and hasattr(persons, "columns"):  # a pandas/polars frame
        from ..store.frames import frame_records

        return _from_records(list(frame_records(persons, "persons")))
    return _from_records(list(persons))


def _from_records(records: list[Any]) -> People:
    out = People(records=records)
    for row, rec in enumerate(records):
        if not isinstance(rec, Mapping):
            continue
        for d in rec.get("distinct_ids") or ():
            if not isinstance(d, bool) and isinstance(d, (str, int)):
                out.claims[str(d)] = row
        t = _id_text(rec.get("id", rec.get("uuid")))
        if t is not None:
            out.row_of_id.setdefault(t, row)
    return out


def materialized(x: Any) -> Any:
    """A one-shot iterable (a generator of records) as a list, so every partition reads it."""
    if x is None or isinstance(x, (str, Path, list, tuple, Mapping)):
        return x
    from ..store.arrow_encode import _is_table

    if _is_table(x) or hasattr(x, "columns"):
        return x
    if isinstance(x, Iterable):
        return list(x)
    return x


# --- distinct_ids --------------------------------------------------------------------------------


class DidMap:
    """Every distinct_id seen (string → code, in order of first sight) with, per distinct_id, its
    latest event holding a person_id: (timestamp, input row, person_id code)."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.pids: dict[str, int] = {}
        self.last_ts = np.zeros(0, np.int64)
        self.last_row = np.zeros(0, np.int64)
        self.last_pid = np.zeros(0, np.int64)
        self.one_pid = np.zeros(0, np.int64)  # the person_id of a distinct_id's rows (-1 none)
        self.many = np.zeros(0, bool)  # rows of one distinct_id name several person_ids
        self.max_ts: int | None = None
        self.min_ts: int | None = None
        self.node = np.zeros(0, np.int64)  # per distinct_id its person node (``partitions``)
        # the order the single store numbers distinct_ids in, when not that of first sight in the
        # rows: first sight over the chunks' whole dictionaries (None until a dictionary chunk)
        self.sight: dict[str, int] | None = None
        self._seen_dicts: set[tuple[int, ...]] = set()

    def __len__(self) -> int:
        return len(self.index)

    def codes(self, uniq: Any, add: bool = True) -> np.ndarray:
        """Global codes of a chunk's distinct strings (Python touches each once per chunk)."""
        index = self.index
        values = uniq.to_pylist()
        if add:
            out = np.fromiter((index.setdefault(v, len(index)) for v in values), np.int64, len(values))
            self._grow(len(index))
            return out
        return np.fromiter((index[v] for v in values), np.int64, len(values))

    def _grow(self, n: int) -> None:
        have = len(self.last_ts)
        if n <= have:
            return
        cap = max(n, 2 * have, 1024)
        self.last_ts = np.concatenate([self.last_ts, np.full(cap - have, np.iinfo(np.int64).min, np.int64)])
        self.last_row = np.concatenate([self.last_row, np.full(cap - have, -1, np.int64)])
        self.last_pid = np.concatenate([self.last_pid, np.full(cap - have, -1, np.int64)])
        self.one_pid = np.concatenate([self.one_pid, np.full(cap - have, -1, np.int64)])
        self.many = np.concatenate([self.many, np.zeros(cap - have, bool)])

    def add(self, keys: Keys, row0: int) -> None:
        """Pass 1 over one chunk whose first row is input row ``row0``."""
        self._see(keys)
        g = self.codes(keys.did)[keys.did_codes]
        if len(keys.ts):
            lo, hi = int(keys.ts.min()), int(keys.ts.max())
            self.min_ts = lo if self.min_ts is None else min(self.min_ts, lo)
            self.max_ts = hi if self.max_ts is None else max(self.max_ts, hi)
        if keys.pid is None or keys.pid_codes is None:
            return
        has = keys.pid_codes >= 0
        if not has.any():
            return
        values = keys.pid.to_pylist()
        plut = np.fromiter((self.pids.setdefault(v, len(self.pids)) for v in values), np.int64, len(values))
        rows = np.flatnonzero(has)
        d, p, t = g[rows], plut[keys.pid_codes[rows]], keys.ts[rows]
        # the latest (ts, row) per distinct_id within the chunk: sort by (d, t, row), take each run's last
        order = np.lexsort((rows, t, d))
        d, p, t, r = d[order], p[order], t[order], rows[order] + row0
        last = np.flatnonzero(np.append(d[1:] != d[:-1], True))
        ld, lp, lt, lr = d[last], p[last], t[last], r[last]
        newer = lt >= self.last_ts[ld]  # (later rows win ties: this chunk comes after the state's)
        self.last_ts[ld[newer]] = lt[newer]
        self.last_row[ld[newer]] = lr[newer]
        self.last_pid[ld[newer]] = lp[newer]
        # several person_ids on one distinct_id (the min and max of its chunk and its first)
        first = np.flatnonzero(np.append(True, d[1:] != d[:-1]))
        mn = np.minimum.reduceat(p, first) if len(p) else p
        mx = np.maximum.reduceat(p, first) if len(p) else p
        dd = d[first]
        prev = self.one_pid[dd]
        self.many[dd] |= (mn != mx) | ((prev >= 0) & (prev != mn))
        self.one_pid[dd] = np.where(prev >= 0, prev, mn)

    def _see(self, keys: Keys) -> None:
        """Keep ``sight`` (see ``__init__``): the chunk's distinct_ids in order, or its whole
        dictionaries (each distinct one once, as ``arrow_encode._unify``)."""
        if keys.did_dictionaries is None:
            if self.sight is not None:
                for v in keys.did.to_pylist():
                    self.sight.setdefault(v, len(self.sight))
            return
        if self.sight is None:  # (so far every chunk was plain: first sight is the codes' order)
            self.sight = dict(self.index)
        sight = self.sight
        for d in keys.did_dictionaries:
            ident = (len(d), d.offset) + tuple(b.address if b is not None else 0 for b in d.buffers())
            if ident in self._seen_dicts:
                continue
            self._seen_dicts.add(ident)
            for v in d.to_pylist():
                if v is not None:
                    sight.setdefault(v, len(sight))

    def order_keys(self) -> np.ndarray:
        """Per distinct_id code, its place in the single store's numbering of distinct_ids."""
        if self.sight is None:
            return np.arange(len(self.index), dtype=np.int64)
        sight = self.sight
        return np.fromiter((sight[d] for d in self.index), np.int64, len(self.index))

    def partitions(self, people: People, k: int, person_properties: bool) -> tuple[np.ndarray, np.ndarray]:
        """(partition of every distinct_id code, partition of every persons record row)."""
        n, m = len(self.index), people.n
        node = np.full(n, -1, np.int64)
        if people.claims:
            hit = [(self.index[d], row) for d, row in people.claims.items() if d in self.index]
            if hit:
                codes, rows = np.array(hit, dtype=np.int64).T
                node[codes] = rows
        pid_text = list(self.pids)
        pid_row = np.fromiter((people.row_of_id.get(v, -1) for v in pid_text), np.int64, len(pid_text))
        lp = self.last_pid[:n]
        by_pid = (node < 0) & (lp >= 0)
        if person_properties and bool(np.any(self.many[:n] & by_pid)):
            bad = next(d for d, c in self.index.items() if self.many[c] and by_pid[c])
            raise UnsupportedError(("source",), f"the events of distinct_id {bad!r} name several person_ids and the input "
                                   "carries person properties: a person's properties could come from events in "
                                   "another partition; build one EventStore and partition it")
        if by_pid.any():
            rows = pid_row[lp[by_pid]]
            node[by_pid] = np.where(rows >= 0, rows, m + lp[by_pid])
        lone = np.flatnonzero(node < 0)
        node[lone] = m + len(pid_text) + lone
        self.node = node
        return mix_mod(node, k), mix_mod(np.arange(m, dtype=np.int64), k)

    def person_rows(self, m: int) -> np.ndarray:
        """Per distinct_id code, its person's row in the single store of the same input (after
        ``partitions``; ``m`` persons records): the records' rows first, then a row per person_id
        no record holds, in the order of the first distinct_id (by first sight) that joins it,
        then a row per lone distinct_id in order of first sight — ``store/arrow_people.py``'s
        numbering (and the record builder's)."""
        node = self.node
        n_pids = len(self.pids)
        place = self.order_keys()
        rows = np.where(node < m, node, -1).astype(np.int64)
        fresh = np.flatnonzero((node >= m) & (node < m + n_pids))
        fresh = fresh[np.argsort(place[fresh], kind="stable")]  # in the single store's distinct_id order
        pid = node[fresh] - m
        uniq, first = np.unique(pid, return_index=True)
        rank = np.zeros(n_pids, np.int64)
        rank[uniq[np.argsort(first)]] = np.arange(len(uniq), dtype=np.int64)
        rows[fresh] = m + rank[pid]
        lone = np.flatnonzero(node >= m + n_pids)
        lone = lone[np.argsort(place[lone], kind="stable")]
        rows[lone] = m + len(uniq) + np.arange(len(lone), dtype=np.int64)
        return rows


def global_person_rows(store: Any, records: np.ndarray, did_rows: np.ndarray, index: Mapping[str, int]) -> np.ndarray | None:
    """Per person row of a partition built from the stream, that person's row in the single
    store: its persons records (the partition's first rows, ``records`` their rows in the input)
    keep their input rows; any other person is found by one of its distinct_ids (``index``: the
    DidMap's codes, ``did_rows``: ``DidMap.person_rows``). None when a person is not found (the
    partition then carries no rows, and ``tc.actors`` refuses it rather than guess)."""
    persons = store.persons
    out = np.full(len(persons), -1, dtype=np.int64)
    m = min(len(records), len(out))
    out[:m] = records[:m]
    owner = np.asarray(persons.person_of_distinct_id, dtype=np.int64)
    sel = np.flatnonzero(owner >= m)
    texts = np.asarray(store.distinct_ids, dtype=object)[sel].tolist()
    codes = np.fromiter((index.get(str(t), -1) for t in texts), np.int64, len(texts))
    if len(codes) and codes.min() < 0:
        return None
    out[owner[sel]] = did_rows[codes]
    if len(records) != m or (len(out) and out.min() < 0):
        return None
    return out


def check_assign(assign: Any) -> None:
    if assign is not None:
        raise ValidationError(("assign",), "assign (a partition per person row of a store) applies to an EventStore "
                                           "source; input files are split by a hash of the person")


__all__ = ["DidMap", "People", "check_assign", "global_person_rows", "load_people", "materialized", "mix_mod", "splitmix64"]
