"""Input files read in chunks for streaming partitioning: which files a source names, and per
format a reader that yields (1) the key columns of every row — distinct_id, person_id,
timestamp — for the global person resolution, and (2) the rows themselves, in input order, to be
routed to partition spills.

Each format keeps the single-store reader's semantics for the rows it routes:

- Parquet: record batches of the file, under the column rule's names (``from_arrow`` builds
  each partition from its rows, as ``from_parquet`` builds one store from the file);
- CSV: Arrow's streaming CSV reader, every cell text; each flat property column is typed as a
  whole over *all* files (``celltypes``: int, float, bool or text), decided in pass 1, so every
  partition types a column as the one store would;
- JSON lines: the raw lines are routed (each partition is read by ``from_jsonl`` from its own
  lines), so values are read exactly as the one file's reader reads them; the keys of pass 1
  come from Arrow's JSON reader over the three key fields only.
"""

from __future__ import annotations

import glob
import io
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import jsontext
from ..errors import InputRowError, UnsupportedError, ValidationError
from ..store import columnrule
from ..store.arrow import normalized_names
from ..store.arrow_encode import _pa
from ..store.arrow_time import _timestamps, csv_text_timestamps, naive_in_zone
from ..store.celltypes import FALSE, INT_PATTERN, NUMBER_PATTERN, TRUE
from ..store.readers import EPOCH_PATTERN

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet",
           ".pq": "parquet"}


def _format_of(path: Path) -> str | None:
    ext = path.suffixes[-2] if path.suffix == ".gz" and len(path.suffixes) > 1 else path.suffix
    return FORMATS.get(ext.lower())


def source_files(source: Any) -> tuple[list[Path], str]:
    """The files ``source`` names — a path, a glob pattern, or a sequence of them — in order
    (a glob's matches sorted by name), and their one format."""
    items = [source] if isinstance(source, (str, os.PathLike)) else list(source) if isinstance(source, Sequence) else None
    if not items:
        raise ValidationError(("source",), "expected an EventStore, a file path, a glob pattern or a list of them")
    paths: list[Path] = []
    for i, item in enumerate(items):
        where: tuple[Any, ...] = ("source",) if isinstance(source, (str, os.PathLike)) else ("source", i)
        if not isinstance(item, (str, os.PathLike)):
            raise ValidationError(where, f"expected a file path or glob pattern, got {type(item).__name__}")
        text = os.fspath(item)
        if glob.has_magic(text) and not Path(text).exists():
            found = sorted(glob.glob(text, recursive=True))
            if not found:
                raise ValidationError(where, f"no file matches {text!r}")
            paths.extend(Path(f) for f in found)
        else:
            if not Path(text).is_file():
                raise ValidationError(where, f"no such file: {text!r}")
            paths.append(Path(text))
    kinds = {_format_of(p) for p in paths}
    if None in kinds:
        bad = next(p for p in paths if _format_of(p) is None)
        raise ValidationError(("source",), f"cannot tell the format of {str(bad)!r}: expected one of {sorted(FORMATS)}")
    if len(kinds) != 1:
        raise ValidationError(("source",), f"the input files mix formats {sorted(k for k in kinds if k)}: give files of one format")
    return paths, kinds.pop()  # type: ignore[return-value]


@dataclass
class Keys:
    """The key columns of a chunk of rows, dictionary-encoded: distinct_ids (``did`` distinct
    strings, ``did_codes`` per row), person_ids (``pid``/``pid_codes``, -1 = none; None without
    a person_id column), ``ts`` µs UTC."""

    did: Any
    did_codes: np.ndarray
    pid: Any | None
    pid_codes: np.ndarray | None
    ts: np.ndarray
    did_dictionaries: list[Any] | None = None
    """A dictionary-typed distinct_id column's chunk dictionaries, whole (entries no row of the
    chunk uses included): the single store numbers distinct_ids in their order
    (``arrow_encode._dictionary_codes``). None for a column of plain strings."""

    def __len__(self) -> int:
        return len(self.did_codes)


def _rows_error(exc: ValidationError, path: Path, first: int, unit: str = "row") -> ValidationError:
    """``exc`` of a chunk ((\"events\", row, field...)) as an error naming the file and row."""
    p = exc.path
    if len(p) >= 2 and p[0] == "events" and isinstance(p[1], int):
        row = p[1] + first + (1 if unit == "line" else 0)
        return InputRowError.at("events", str(path), row, unit, tuple(p[2:]), exc.message)
    return ValidationError(("events", str(path), *p[1:]), exc.message)


def chunk_keys(table: Any, path: Path, first: int, tz: Any, unit: str = "row", with_ts: bool = True) -> Keys:
    """The Keys of a normalized Arrow chunk, read as the store's build reads them (the same
    errors, naming the file and row)."""
    from ..store.arrow_encode import _encode_ids
    from ..store.arrow_people import _encode_ids_nullable

    try:
        for name in ("distinct_id", "timestamp"):  # (the event column is checked by the build)
            if name not in table.column_names:
                raise columnrule.missing_columns_error("events", [name], list(table.column_names))
        did, did_codes = _encode_ids(table.column("distinct_id"), "events", "distinct_id")
        pid = pid_codes = None
        if "person_id" in table.column_names and table.column("person_id").null_count < table.num_rows:
            pid, pid_codes = _encode_ids_nullable(table.column("person_id"))
        ts = (_timestamps(naive_in_zone(table.column("timestamp"), tz), "events", "timestamp") if with_ts
              else np.zeros(0, np.int64))
    except ValidationError as exc:
        raise _rows_error(exc, path, first, unit) from None
    col = table.column("distinct_id")
    pa, _ = _pa()
    dicts = ([c.dictionary for c in col.chunks] if pa.types.is_dictionary(col.type)
             and (pa.types.is_string(col.type.value_type) or pa.types.is_large_string(col.type.value_type)) else None)
    return Keys(did, np.asarray(did_codes), pid, None if pid_codes is None else np.asarray(pid_codes), ts, dicts)


# --- Parquet ---------------------------------------------------------------------------------------


@dataclass
class ParquetSource:
    """A Parquet file's record batches under the column rule's names."""

    path: Path
    rename: Mapping[str, str] | None
    tz: Any
    chunk_rows: int

    def _file(self) -> Any:
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(self.path)
        except (OSError, Exception) as exc:  # (ArrowInvalid: not a Parquet file)
            raise ValidationError(("events",), f"cannot read {str(self.path)!r}: {exc}") from None

    def _names(self, names: list[str]) -> list[str]:
        new, _rows = normalized_names(names, self.rename, "Parquet file")
        return new

    def keys(self) -> Iterator[Keys]:
        pa, _ = _pa()
        f = self._file()
        names = f.schema_arrow.names
        new = self._names(names)
        want = [o for o, n in zip(names, new) if n in ("distinct_id", "person_id", "timestamp")]
        did = [o for o, n in zip(names, new) if n == "distinct_id"]
        if did and (pa.types.is_string(f.schema_arrow.field(did[0]).type)
                    or pa.types.is_large_string(f.schema_arrow.field(did[0]).type)):
            # as the single store reads it (``parquet_read``): its row groups' dictionaries
            # number the distinct_ids (``DidMap.person_rows``)
            import pyarrow.parquet as pq

            f = pq.ParquetFile(self.path, read_dictionary=did)
        first = 0
        for batch in f.iter_batches(batch_size=self.chunk_rows, columns=want):
            table = _table(batch).rename_columns([new[names.index(o)] for o in want])
            yield chunk_keys(table, self.path, first, self.tz)
            first += table.num_rows

    def chunks(self) -> Iterator[tuple[Any, Keys]]:
        """(normalized table, its Keys without timestamps) per chunk."""
        f = self._file()
        new = self._names(f.schema_arrow.names)
        first = 0
        for batch in f.iter_batches(batch_size=self.chunk_rows):
            table = _table(batch).rename_columns(new)
            yield table, chunk_keys(table.select(["distinct_id", "timestamp"]), self.path, first, self.tz, with_ts=False)
            first += table.num_rows


def _table(batch: Any) -> Any:
    pa, _ = _pa()
    return pa.Table.from_batches([batch])


# --- CSV -------------------------------------------------------------------------------------------


@dataclass
class Kind:
    """The fold of ``celltypes.type_arrow_column`` over a column's chunks: whether every
    non-empty cell so far is an integer (in int64), a finite number, a boolean."""

    ints: bool = True
    in_range: bool = True
    numbers: bool = True
    finite: bool = True
    bools: bool = True
    epochs: bool = False  # some cell is epoch seconds (``readers.epoch_cell``; for the timestamp column)

    def add(self, col: Any) -> None:
        pa, pc = _pa()
        if col.null_count == len(col):
            return
        if not self.epochs and bool(pc.any(pc.match_substring_regex(col, EPOCH_PATTERN)).as_py()):
            self.epochs = True

        def every(mask: Any) -> bool:
            return bool(pc.all(mask).as_py() is not False)

        if self.ints and not every(pc.match_substring_regex(col, INT_PATTERN)):
            self.ints = False
        if self.ints and self.in_range:
            try:
                pc.cast(col, pa.int64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                self.in_range = False
        if self.numbers and not every(pc.match_substring_regex(col, NUMBER_PATTERN)):
            self.numbers = False
        if self.numbers and self.finite:
            try:
                self.finite = every(pc.is_finite(pc.cast(col, pa.float64())))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                self.finite = False
        if self.bools and not every(pc.is_in(col, value_set=pa.array(list(TRUE + FALSE)))):
            self.bools = False

    @property
    def kind(self) -> str:
        if self.ints:
            return "int" if self.in_range else "text"
        if self.numbers:
            return "float" if self.finite else "text"
        return "bool" if self.bools else "text"


def typed(col: Any, kind: str) -> Any:
    """A text column cast to its (global) ``kind``: what ``type_arrow_column`` gives the whole column."""
    pa, pc = _pa()
    if kind == "text":
        return col
    if kind == "int":
        return pc.cast(col, pa.int64())
    if kind == "float":
        return pc.cast(col, pa.float64())
    truth = pc.is_in(col, value_set=pa.array(list(TRUE)))
    return truth.cast(pa.bool_()) if col.null_count == 0 else pc.if_else(pc.is_null(col), pa.scalar(None, pa.bool_()), truth)


@dataclass
class CsvSource:
    """A CSV file read block by block by Arrow, every cell text (empty = absent), as ``columnar.csv_table``."""

    path: Path
    rename: Mapping[str, str] | None
    tz: Any
    chunk_rows: int
    kinds: dict[str, Kind] = field(default_factory=dict)  # normalized property/timestamp column → fold

    def _reader(self) -> tuple[Any, list[str], list[tuple[str, str]]]:
        import csv

        pa, _ = _pa()
        import pyarrow.csv as pcsv

        try:
            with pa.input_stream(str(self.path), compression="gzip" if self.path.suffix == ".gz" else None) as fh:
                head = fh.read(1 << 16)
            first = next(csv.reader(io.StringIO(head.decode("utf-8-sig").splitlines()[0] if head else "")), None)
        except (OSError, UnicodeDecodeError, csv.Error, pa.ArrowException, IndexError) as exc:
            raise ValidationError(("events",), f"cannot read the CSV header of {str(self.path)!r}: {exc}") from None
        if not first or len(set(first)) != len(first):
            raise ValidationError(("events",), f"{str(self.path)!r}: the CSV needs a header of distinct column names")
        roles = columnrule.layout(first, self.rename, "CSV")
        names, rows_needed = normalized_names(first, self.rename, "CSV")
        if rows_needed:
            raise UnsupportedError(("source",), f"{str(self.path)!r}: person property columns in a CSV are not streamed; "
                                   "build one EventStore with EventStore.from_csv and partition it")
        block = max(1 << 16, min(1 << 26, self.chunk_rows * 128))
        reader = pcsv.open_csv(
            pa.input_stream(str(self.path), compression="gzip" if self.path.suffix == ".gz" else None),
            read_options=pcsv.ReadOptions(use_threads=True, block_size=block, encoding="utf8"),
            parse_options=pcsv.ParseOptions(newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(column_types={c: pa.string() for c in first}, strings_can_be_null=True,
                                                quoted_strings_can_be_null=True, null_values=[""]),
        )
        return reader, names, roles

    def _tables(self) -> Iterator[tuple[Any, list[tuple[str, str]]]]:
        pa, _ = _pa()
        reader, names, roles = self._reader()
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowException as exc:
                raise ValidationError(("events",), f"cannot read {str(self.path)!r}: {exc}") from None
            yield pa.Table.from_batches([batch]).rename_columns(names), roles

    def keys(self) -> Iterator[Keys]:
        """Pass 1: also folds every property column's kind (and the timestamps' epoch-or-text)."""
        first = 0
        for table, roles in self._tables():
            for (what, _), name in zip(roles, table.column_names):
                if what in ("event", "person") or name == "timestamp":
                    self.kinds.setdefault(name, Kind()).add(table.column(name))
            yield chunk_keys(self._typed_timestamp(table), self.path, first, self.tz)
            first += table.num_rows

    def _typed_timestamp(self, table: Any) -> Any:
        return timestamps_typed(table, self.kinds.get("timestamp"), self.tz)

    def chunks(self, kinds: Mapping[str, Kind]) -> Iterator[tuple[Any, Keys]]:
        """Pass 2: chunks typed with the kinds folded over all files (``kinds``)."""
        first = 0
        for table, roles in self._tables():
            for i, ((what, _), name) in enumerate(zip(roles, table.column_names)):
                if what in ("event", "person") and name in kinds and kinds[name].kind != "text":
                    table = table.set_column(i, name, typed(table.column(name), kinds[name].kind))
            table = self._typed_with(table, kinds)
            yield table, chunk_keys(table.select(["distinct_id", "timestamp"]), self.path, first, self.tz, with_ts=False)
            first += table.num_rows

    def _typed_with(self, table: Any, kinds: Mapping[str, Kind]) -> Any:
        return timestamps_typed(table, kinds.get("timestamp"), self.tz)


def timestamps_typed(table: Any, ts: Kind | None, tz: Any) -> Any:
    """``table`` with its CSV timestamp column read as the one-file store reads it: numbers when
    every cell is epoch seconds (``kind``), each cell by its own form when epoch seconds and
    ISO-8601 text mix (``epochs``: the row reader's rule, ``store/readers.py``), else text."""
    if ts is None:
        return table
    i = table.column_names.index("timestamp")
    if ts.kind in ("int", "float"):
        return table.set_column(i, "timestamp", typed(table.column("timestamp"), ts.kind))
    if ts.epochs:
        return table.set_column(i, "timestamp", csv_text_timestamps(table.column("timestamp"), tz))
    return table


def merged_kinds(sources: Sequence[CsvSource]) -> dict[str, Kind]:
    """Per column, the kinds folded over every file (a column absent from a file does not count)."""
    out: dict[str, Kind] = {}
    for s in sources:
        for name, k in s.kinds.items():
            m = out.setdefault(name, Kind())
            m.ints &= k.ints
            m.in_range &= k.in_range
            m.numbers &= k.numbers
            m.finite &= k.finite
            m.bools &= k.bools
            m.epochs |= k.epochs
    return out


# --- JSON lines ------------------------------------------------------------------------------------


@dataclass
class JsonlSource:
    """A JSON-lines file read in blocks of whole lines; blank lines are skipped as the reader does."""

    path: Path
    rename: Mapping[str, str] | None
    tz: Any
    chunk_rows: int

    def blocks(self) -> Iterator[tuple[bytes, np.ndarray, np.ndarray, np.ndarray]]:
        """(block, line starts, line ends (without the newline), line numbers (1-based)) of the
        non-blank lines, block by block."""
        pa, _ = _pa()
        size = max(1 << 16, min(1 << 27, self.chunk_rows * 256))
        try:
            stream = pa.input_stream(str(self.path), compression="gzip" if self.path.suffix == ".gz" else None)
        except (OSError, pa.ArrowException) as exc:
            raise ValidationError(("events",), f"cannot read {str(self.path)!r}: {exc}") from None
        with stream:
            head = stream.read(64)
            if head.lstrip()[:1] == b"[":
                raise UnsupportedError(("source",), f"{str(self.path)!r} holds a JSON array: only JSON lines are "
                                       "streamed; build one EventStore with EventStore.from_jsonl and partition it")
            rest = head
            line0 = 1
            while True:
                more = stream.read(size)
                data = rest + more
                if not data:
                    return
                arr = np.frombuffer(data, dtype=np.uint8)
                nl = np.flatnonzero(arr == 10)
                if more and not len(nl):
                    rest = data
                    continue
                cut = len(data) if not more else int(nl[-1]) + 1
                ends = nl[nl < cut]
                if not more and (not len(ends) or ends[-1] != len(data) - 1):
                    ends = np.append(ends, len(data))
                starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
                n_lines = len(starts)
                stop = ends.astype(np.int64)
                cr = (stop > starts) & (arr[np.maximum(stop - 1, 0)] == 13) if len(stop) else np.zeros(0, bool)
                blank = (stop - starts - cr) <= 0
                lines = np.arange(line0, line0 + n_lines, dtype=np.int64)
                yield data[:cut], starts[~blank], stop[~blank], lines[~blank]
                line0 += n_lines
                rest = data[cut:]
                if not more:
                    return

    def keys_of(self, block: bytes, starts: np.ndarray, ends: np.ndarray, lines: np.ndarray) -> Keys:
        """The key fields of a block's lines (Arrow's JSON reader over those fields only; Python's
        json for a block Arrow cannot type)."""
        pa, _ = _pa()
        import pyarrow.json as pjson

        names = self._key_names()
        joined = _lines_bytes(block, starts, ends)
        table = None
        # (a line nested deeper than Arrow's reader recurses safely goes to Python's json, which
        # refuses it with its line: jsontext)
        for did_t in (pa.string(), pa.int64()) if not jsontext.deep_line(joined) else ():
            for ts_t in (pa.string(), pa.float64()):
                schema = pa.schema([(names["distinct_id"], did_t), (names["timestamp"], ts_t), (names["person_id"], pa.string())])
                try:
                    t = pjson.read_json(io.BytesIO(joined), parse_options=pjson.ParseOptions(
                        explicit_schema=schema, unexpected_field_behavior="ignore"),
                        read_options=pjson.ReadOptions(use_threads=True, block_size=1 << 24))
                except pa.ArrowException:
                    continue
                if t.num_rows == len(starts):
                    table = t
                    break
            if table is not None:
                break
        if table is None:
            table = self._python_keys(block, starts, ends, lines, names)
        table = table.rename_columns(["distinct_id", "timestamp", "person_id"])
        if table.column("person_id").null_count == table.num_rows:
            table = table.drop_columns(["person_id"])
        try:
            return chunk_keys(table, self.path, 0, self.tz)
        except InputRowError as exc:  # (rows of the block → its file lines)
            raise InputRowError.at("events", str(self.path), int(lines[exc.row]), "line", exc.field, exc.message) from None

    def has_person_properties(self, block: bytes) -> bool:
        """Whether a block may carry person properties (a cheap byte search)."""
        return b"person_properties" in block

    def _key_names(self) -> dict[str, str]:
        back = {new: old for old, new in columnrule.check_rename(self.rename).items()}
        return {k: back.get(k, k) for k in ("distinct_id", "timestamp", "person_id")}

    def _python_keys(self, block: bytes, starts: np.ndarray, ends: np.ndarray, lines: np.ndarray,
                     names: Mapping[str, str]) -> Any:
        """The key fields by Python's json, line by line (a block whose keys change type)."""

        from ..timeutil import to_us

        pa, _ = _pa()
        dids, pids, ts = [], [], []
        for s, e, line in zip(starts.tolist(), ends.tolist(), lines.tolist()):
            try:
                rec = jsontext.loads(block[s:e])
            except ValueError as exc:
                raise InputRowError.at("events", str(self.path), line, "line", (), f"invalid JSON: {exc}") from None
            if not isinstance(rec, dict):
                raise InputRowError.at("events", str(self.path), line, "line", (), "expected a JSON object per line")
            d, p, t = rec.get(names["distinct_id"]), rec.get(names["person_id"]), rec.get(names["timestamp"])
            dids.append(None if d is None else str(d) if not isinstance(d, bool) else d)
            pids.append(None if p is None else str(p))
            try:
                ts.append(None if t is None else to_us(t, ("timestamp",), default_tz=self.tz))
            except ValidationError as exc:
                raise InputRowError.at("events", str(self.path), line, "line", exc.path, exc.message) from None
        try:
            did_arr = pa.array(dids, pa.string())
        except (pa.ArrowException, TypeError):
            raise ValidationError(("events", str(self.path), "distinct_id"), "expected string or integer distinct_ids") from None
        return pa.table({names["distinct_id"]: did_arr, names["timestamp"]: pa.array(ts, pa.timestamp("us", "UTC")),
                         names["person_id"]: pa.array(pids, pa.string())})


def _lines_bytes(block: bytes, starts: np.ndarray, ends: np.ndarray) -> bytes:
    """The given lines of ``block`` joined by newlines (vectorised gather)."""
    if len(starts) and int(starts[0]) == 0 and int(ends[-1]) >= len(block) - 1 and _contiguous(starts, ends):
        return block
    return gather_lines(block, starts, ends)


def _contiguous(starts: np.ndarray, ends: np.ndarray) -> bool:
    return bool(np.all(starts[1:] == ends[:-1] + 1))


def gather_lines(block: bytes, starts: np.ndarray, ends: np.ndarray) -> bytes:
    """The lines ``block[starts[i]:ends[i]]``, each followed by a newline: one NumPy gather."""
    if not len(starts):
        return b""
    lens = (ends - starts).astype(np.int64)
    total = int(lens.sum())
    src = np.frombuffer(block, dtype=np.uint8)
    idx = np.arange(total, dtype=np.int64) + np.repeat(starts - (np.cumsum(lens) - lens), lens)
    out = np.full(total + len(lens), 10, dtype=np.uint8)
    out[np.arange(total, dtype=np.int64) + np.repeat(np.arange(len(lens), dtype=np.int64), lens)] = src[idx]
    return out.tobytes()


__all__ = ["CsvSource", "JsonlSource", "Keys", "ParquetSource", "gather_lines", "merged_kinds", "source_files"]
