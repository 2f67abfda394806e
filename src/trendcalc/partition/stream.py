"""Streaming partitioning: input files → k person partitions, with peak memory about one
partition (plus one entry per distinct_id and per person), not the whole data.

1. **Resolve** (pass 1): read only the key columns (distinct_id, person_id, timestamp) of every
   file, chunk by chunk (``sources.py``), and resolve persons globally (``resolve.py``): each
   distinct_id's partition. CSV files also fold each property column's type here.
2. **Route** (pass 2): read the files again, chunk by chunk, and append each chunk's rows to
   their partition's spill — Arrow IPC pieces (Parquet, CSV) or raw JSON lines — keeping input
   order, with each spilled row's origin (file, row) for error messages.
3. **Build**: per partition, build the EventStore from its spill (``from_arrow`` /
   ``from_jsonl``: the single store's readers and person rules) with its persons records and
   every group, save it, gather the global facts (``facts.py``), and drop it.

The result is written beside ``path`` and renamed into place when complete.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..engine.advice import personless_count
from ..errors import InputRowError, ValidationError
from ..store import EventStore, columnrule
from ..store.arrow_encode import _pa
from ..store.persist import replace_directory
from .facts import Facts, definitions, write_sessions
from .layout import FORMAT, MANIFEST, VERSION, person_rows_file
from .resolve import DidMap, global_person_rows, load_people, materialized
from .sources import (
    CsvSource,
    JsonlSource,
    Keys,
    ParquetSource,
    gather_lines,
    merged_kinds,
    source_files,
)

ORIGIN_FILE_SHIFT = 40  # origin = file index << 40 | row in file


def stream_partitions(source: Any, root: Path, k: int, *, persons: Any, groups: Any, rename: Mapping[str, str] | None,
                      timezone: Any, overwrite: bool, durable: bool, chunk_rows: int) -> None:
    """Write the ``k`` partitions of the events in ``source`` (files) under ``root`` (see the module docstring)."""
    _pa()
    paths, fmt = source_files(source)
    tz = columnrule.zone(timezone)
    columnrule.check_rename(rename)
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValidationError(("chunk_rows",), f"expected a positive int, got {chunk_rows!r}")
    _check_target(root, overwrite)
    persons, groups = materialized(persons), materialized(groups)
    people_store = _people_store(persons, groups)  # validates persons and groups, with their paths
    people = load_people(persons)
    group_input = groups if not isinstance(groups, (str, Path)) else _group_table_or_path(groups)

    readers = [_reader(fmt, p, rename, tz, chunk_rows) for p in paths]
    dids = DidMap()
    person_properties = _resolve(readers, dids)
    release_memory()
    kinds = merged_kinds([r for r in readers if isinstance(r, CsvSource)]) if fmt == "csv" else {}
    did_part, person_part = dids.partitions(people, k, person_properties)
    did_rows = dids.person_rows(people.n)

    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".partitioning", dir=root.parent))
    try:
        spill = tmp / "spill"
        spill.mkdir()
        pieces = _route(readers, dids, did_part, k, spill, kinds)
        release_memory()
        facts = Facts()
        entries = []
        for p in range(k):
            sub = _build(p, pieces[p], spill, paths, fmt, people.subset(np.flatnonzero(person_part == p)),
                         group_input, rename, tz)
            name = f"part-{p:03d}"
            sub.save(tmp / name, durable=durable)
            rows = global_person_rows(sub, np.flatnonzero(person_part == p), did_rows, dids.index)
            if rows is not None:  # (for tc.actors' order and person:<row> ids)
                np.save(tmp / person_rows_file(name), rows)
            facts.add(sub)
            bounds = None if not len(sub) else [int(np.min(sub.ts)), int(np.max(sub.ts))]
            entries.append({"path": name, "events": len(sub), "persons": len(sub.persons),
                            "persons_without_rows": personless_count(sub), "time_bounds": bounds})
            del sub
            shutil.rmtree(spill / f"p{p:04d}", ignore_errors=True)
            release_memory()
        shutil.rmtree(spill)
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "k": k,
            "split": "splitmix64(person node) mod k, persons resolved over all input files",
            "source": {"format": fmt, "files": [str(p) for p in paths]},
            "partitions": entries,
            "dictionaries": "per-partition",  # (codes differ between partitions: merges go by value)
            "property_types": definitions(facts, people_store, dids.max_ts),
            "event_time_bounds": facts.bounds,
            "property_keys": facts.property_keys(),
            "shared_sessions": write_sessions(tmp, facts, [f"part-{p:03d}" for p in range(k)], durable),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
        replace_directory(tmp, root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def release_memory() -> None:
    """Hand freed memory back to the system between phases: Arrow's pool and (glibc) the C heap
    keep freed pages for reuse, which would make each phase's peak add to the last's."""
    import ctypes
    import ctypes.util

    from ..store.parquet_read import _release_arrow_memory

    _release_arrow_memory()
    name = ctypes.util.find_library("c")
    if name and sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(name).malloc_trim(0)
        except (OSError, AttributeError):  # (not glibc)
            pass


def _check_target(root: Path, overwrite: bool) -> None:
    if root.exists():
        if not overwrite:
            raise FileExistsError(f"{root} exists; pass overwrite=True to replace it")
        if not (root / MANIFEST).is_file() or json.loads((root / MANIFEST).read_text()).get("format") != FORMAT:
            raise FileExistsError(f"refusing to replace {root}: it is not a partitioned trendcalc store")


def _people_store(persons: Any, groups: Any) -> EventStore | None:
    """The persons and groups alone, built by the store's rules (their errors, their types)."""
    from ..store.parquet_read import _maybe_parquet

    if persons is None and groups is None:
        return None
    pa, _ = _pa()
    empty = pa.table({"event": pa.array([], pa.string()), "distinct_id": pa.array([], pa.string()),
                      "timestamp": pa.array([], pa.timestamp("us", "UTC"))})
    return EventStore.from_arrow(empty, persons=_maybe_parquet(persons, "persons"), groups=_maybe_parquet(groups, "groups"))


def _group_table_or_path(groups: Any) -> Any:
    from ..store.parquet_read import _maybe_parquet

    return _maybe_parquet(groups, "groups")


def _reader(fmt: str, path: Path, rename: Any, tz: Any, chunk_rows: int) -> Any:
    cls = {"parquet": ParquetSource, "csv": CsvSource, "jsonl": JsonlSource}[fmt]
    return cls(path, rename, tz, chunk_rows)


def _keys(reader: Any) -> Iterator[Keys]:
    if isinstance(reader, JsonlSource):
        for block, starts, ends, lines in reader.blocks():
            yield reader.keys_of(block, starts, ends, lines)
    else:
        yield from reader.keys()


def _resolve(readers: list[Any], dids: DidMap) -> bool:
    """Pass 1; whether the input may carry person properties."""
    row0 = 0
    person_properties = False
    for r in readers:
        if isinstance(r, JsonlSource):
            for block, starts, ends, lines in r.blocks():
                keys = r.keys_of(block, starts, ends, lines)
                person_properties = person_properties or r.has_person_properties(block)
                dids.add(keys, row0)
                row0 += len(keys)
            continue
        if isinstance(r, ParquetSource):
            names = r._names(r._file().schema_arrow.names)
            person_properties = person_properties or any(
                n == "person_properties" or n.startswith(columnrule.PERSON_PREFIX) for n in names)
        for keys in r.keys():
            dids.add(keys, row0)
            row0 += len(keys)
    return person_properties


class _Spill:
    """One partition's spill: Arrow IPC pieces (one per input file) or a JSON-lines file, and the
    origin (file index, row) of every spilled row."""

    def __init__(self, d: Path):
        self.dir = d
        d.mkdir()
        self.origin = open(d / "origin.i64", "wb")
        self.writers: dict[int, Any] = {}
        self.lines: Any = None
        self.pieces: list[Path] = []

    def arrow(self, f: int, table: Any) -> None:
        pa, _ = _pa()
        w = self.writers.get(f)
        if w is None:
            path = self.dir / f"f{f:05d}.arrow"
            w = self.writers[f] = pa.ipc.new_file(str(path), table.schema)
            self.pieces.append(path)
        w.write_table(table)

    def jsonl(self, data: bytes) -> None:
        if self.lines is None:
            self.lines = open(self.dir / "events.jsonl", "wb")
            self.pieces.append(self.dir / "events.jsonl")
        self.lines.write(data)

    def close(self) -> None:
        for w in self.writers.values():
            w.close()
        if self.lines is not None:
            self.lines.close()
        self.origin.close()


def _route(readers: list[Any], dids: DidMap, did_part: np.ndarray, k: int, spill: Path,
           kinds: Mapping[str, Any]) -> list[list[Path]]:
    """Pass 2: every row to its partition's spill, in input order."""
    from ..store.fixedkeys import arrow_ints

    spills = [_Spill(spill / f"p{p:04d}") for p in range(k)]
    try:
        for f, r in enumerate(readers):
            if isinstance(r, JsonlSource):
                for block, starts, ends, lines in r.blocks():
                    keys = r.keys_of(block, starts, ends, lines)
                    part = did_part[dids.codes(keys.did, add=False)][keys.did_codes]
                    for p, rows in _groups(part, k):
                        spills[p].jsonl(gather_lines(block, starts[rows], ends[rows]))
                        (np.int64(f) << ORIGIN_FILE_SHIFT | lines[rows]).astype(np.int64).tofile(spills[p].origin)
                continue
            first = 0
            chunks = r.chunks(kinds) if isinstance(r, CsvSource) else r.chunks()
            for table, keys in chunks:
                part = did_part[dids.codes(keys.did, add=False)][keys.did_codes]
                for p, rows in _groups(part, k):
                    spills[p].arrow(f, table.take(arrow_ints(rows)))
                    (np.int64(f) << ORIGIN_FILE_SHIFT | (rows + first)).astype(np.int64).tofile(spills[p].origin)
                first += table.num_rows
    finally:
        for s in spills:
            s.close()
    return [s.pieces for s in spills]


def _groups(part: np.ndarray, k: int) -> Iterator[tuple[int, np.ndarray]]:
    """(partition, its rows in order) for each partition holding rows of ``part``."""
    order = np.argsort(part, kind="stable")
    counts = np.bincount(part, minlength=k)
    ends = np.cumsum(counts)
    for p in np.flatnonzero(counts).tolist():
        yield p, order[ends[p] - counts[p]:ends[p]]


def _build(p: int, pieces: list[Path], spill: Path, paths: list[Path], fmt: str, persons: Any, groups: Any,
           rename: Any, tz: Any) -> EventStore:
    """Partition ``p``'s EventStore from its spill; an input error names the input file and row."""
    pa, _ = _pa()
    d = spill / f"p{p:04d}"
    try:
        if fmt == "jsonl":
            if not pieces:
                return _empty(persons, groups)
            return EventStore.from_jsonl(pieces[0], persons, groups, rename=rename, timezone=tz)
        tables = [pa.ipc.open_file(pa.memory_map(str(piece))).read_all() for piece in pieces]
        if not tables:
            return _empty(persons, groups)
        table = tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="default")
        del tables
        return EventStore.from_arrow(table, persons, groups, timezone=tz, kind="CSV" if fmt == "csv" else "Parquet file")
    except InputRowError as exc:
        raise _origin_error(exc, d, exc.row - 1, paths, "line") from None
    except ValidationError as exc:
        if len(exc.path) >= 2 and exc.path[0] == "events" and isinstance(exc.path[1], int):
            raise _origin_error(exc, d, exc.path[1], paths, "line" if fmt == "jsonl" else "row", exc.path[2:]) from None
        raise
    except pa.ArrowInvalid as exc:  # (pieces whose schemas cannot be unified)
        raise ValidationError(("source",), f"the input files' columns do not agree: {exc}") from None


def _origin_error(exc: ValidationError, d: Path, row: int, paths: list[Path], unit: str,
                  field: Any = None) -> ValidationError:
    origin = np.fromfile(d / "origin.i64", dtype=np.int64)
    if not 0 <= row < len(origin):
        return exc
    f, r = int(origin[row]) >> ORIGIN_FILE_SHIFT, int(origin[row]) & ((1 << ORIGIN_FILE_SHIFT) - 1)
    fld = exc.field if isinstance(exc, InputRowError) else tuple(field or ())
    return InputRowError.at("events", str(paths[f]), r, unit, fld, exc.message)


def _empty(persons: Any, groups: Any) -> EventStore:
    pa, _ = _pa()
    empty = pa.table({"event": pa.array([], pa.string()), "distinct_id": pa.array([], pa.string()),
                      "timestamp": pa.array([], pa.timestamp("us", "UTC"))})
    return EventStore.from_arrow(empty, persons=persons, groups=groups)


__all__ = ["stream_partitions"]
