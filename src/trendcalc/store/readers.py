"""File readers: JSON lines, JSON arrays and CSV into the records the StoreBuilder validates.

Each reader yields ``(row, record, None)`` items, or ``(row, ValidationError, None)`` for a row it
could not read, so the builder raises or skips it with the file and line. Parsing text is
inherently per record; it happens once, here.

CSV columns (header row required; every cell is text, an empty cell is absent):

==========================  =================================================================
``event``, ``distinct_id``  required
``timestamp``               required; ISO-8601, or epoch seconds when the cell is a number
``uuid``, ``person_id``     optional
``properties``              optional JSON text of an object (PostHog's export shape)
``person_properties``       optional JSON text of an object (with ``person_id``)
``properties.<key>``        event property ``<key>``; overrides the same key in ``properties``
``person_properties.<key>`` person property ``<key>`` (with ``person_id``)
any other column            event property named like the column (``$browser``, ``plan``, ...)
==========================  =================================================================

Flat cells stay strings: PostHog compares a property through its JSON text, so ``29.90`` as text
filters, sums and breaks down exactly as the number would, and ``1e3`` keeps its spelling.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterator, Mapping
from os import PathLike
from pathlib import Path
from typing import IO, Any, cast

from ..errors import InputRowError, ValidationError, brief
from . import columnrule
from .builder import Item, Source
from .celltypes import column_kind, convert
from .ingest import JSONTextError, loads_json
from .progress import LARGE_BYTES, progress_bar

RESERVED = columnrule.RECOGNISED
EPOCH_PATTERN = r"^[+-]?\d+(?:\.\d+)?$"
"""A CSV timestamp cell written as epoch seconds (at most 32 characters: ``epoch_cell``)."""
_EPOCH_RE = re.compile(EPOCH_PATTERN)


def epoch_cell(ts: str) -> int | float | None:
    """A CSV ``timestamp`` cell's epoch seconds when it is written as a number (``1709290800``,
    ``1709290800.5``), else None (ISO-8601 text). Every CSV reader (rows, columns, streamed)
    reads a cell by this rule, so a column mixing both forms reads alike everywhere."""
    if len(ts) <= 32 and _EPOCH_RE.match(ts):  # (not int() of 5000 digits)
        return float(ts) if "." in ts else int(ts)
    return None
_CSV_FIELD_LIMIT = 16 << 20
_TICK = 4096  # rows between progress updates
# What reading a (possibly gzipped) file can raise besides decoding: a truncated or corrupt .gz
# (EOFError, zlib.error, gzip.BadGzipFile) or an I/O error (OSError).
_READ_ERRORS = (OSError, EOFError, zlib.error)


def _unreadable(kind: str, path: Path, exc: BaseException) -> ValidationError:
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return ValidationError((kind,), f"cannot read {str(path)!r}: {reason}")


def file_path(path: Any, kind: str) -> Path:
    """``path`` as a Path, or ValidationError for what cannot name a file (an int, a NUL byte)."""
    if not isinstance(path, (str, PathLike)) or "\x00" in str(path):
        raise ValidationError((kind,), f"expected a file path, got {brief(path)}")
    return Path(path)


def _open_binary(path: Path, kind: str) -> IO[bytes]:
    try:
        if path.suffix == ".gz":
            return cast(IO[bytes], gzip.open(path, "rb"))
        return open(path, "rb")
    except (OSError, ValueError) as exc:
        raise _unreadable(kind, path, exc) from exc


def _size(path: Path) -> int | None:
    try:
        return None if path.suffix == ".gz" else path.stat().st_size
    except OSError:
        return None


def read_jsonl(path: str | Path, kind: str, progress: bool | None = None) -> tuple[Source, Iterator[Item]]:
    """One JSON object per line (blank lines ignored); rows are 1-based line numbers."""
    path = file_path(path, kind)
    fh = _open_binary(path, kind)

    def items() -> Iterator[Item]:
        bar = progress_bar(progress, _size(path), LARGE_BYTES, f"reading {path.name}", "B")
        done = 0
        try:
            with fh:
                for lineno, line in enumerate(_read_lines(fh, path, kind), 1):
                    done += len(line)
                    if lineno % _TICK == 0:
                        bar.update(done)
                        done = 0
                    if not line.strip():
                        continue
                    try:
                        rec = loads_json(line)
                    except JSONTextError as exc:
                        msg = "not UTF-8" if exc.msg.startswith("'utf-8' codec") else exc.msg
                        yield lineno, ValidationError((), f"invalid JSON: {msg}"), None
                        continue
                    if not isinstance(rec, dict):
                        rec = ValidationError((), f"expected a JSON object per line, got {type(rec).__name__}")
                    yield lineno, rec, None
        finally:
            bar.close()

    return Source(str(path), "line"), items()


def _read_lines(fh: IO[bytes], path: Path, kind: str) -> Iterator[bytes]:
    try:
        yield from fh
    except _READ_ERRORS as exc:
        raise _unreadable(kind, path, exc) from None


def read_json(path: str | Path, kind: str) -> tuple[Source, Iterator[Item]]:
    """A JSON array of objects, or an object holding one under ``results`` (PostHog's API) or
    under ``kind``; rows are 0-based positions in the array."""
    path = file_path(path, kind)
    with _open_binary(path, kind) as fh:
        try:
            doc = loads_json(fh.read())
        except JSONTextError as exc:
            raise ValidationError((kind,), f"{path}: invalid JSON: {exc.msg}") from None
        except _READ_ERRORS as exc:
            raise _unreadable(kind, path, exc) from None
    if isinstance(doc, Mapping):
        doc = doc.get("results", doc.get(kind))
    if not isinstance(doc, list):
        raise ValidationError((kind,), f"{path}: expected a JSON array of {kind} (or an object with 'results')")
    return Source(str(path), "item"), ((i, rec, None) for i, rec in enumerate(doc))


def read_records_file(path: str | Path, kind: str, progress: bool | None = None) -> tuple[Source, Iterator[Item]]:
    """By extension: ``.json`` (array), ``.csv`` (events only) or JSON lines (anything else,
    ``.jsonl``/``.ndjson`` usually); a ``.gz`` suffix is decompressed."""
    p = file_path(path, kind)
    ext = p.suffixes[-2] if p.suffix == ".gz" and len(p.suffixes) > 1 else p.suffix
    if ext == ".json":
        return read_json(p, kind)
    if ext == ".csv":
        if kind != "events":
            raise ValidationError((kind,), f"{p}: CSV is read for events only; give {kind} as JSON lines")
        return read_csv(p, progress=progress)
    return read_jsonl(p, kind, progress)


# --- CSV and DataFrame columns --------------------------------------------------------------------
class ColumnLayout:
    """What each column of a CSV header or a DataFrame means (``columnrule``); ``kind`` names the
    input in errors ("CSV", "DataFrame", ...)."""

    def __init__(self, header: list[str], rename: Mapping[str, str] | None, kind: str = "CSV"):
        roles = columnrule.layout(header, rename, kind)
        self.fixed: list[tuple[int, str]] = []
        self.flat: list[tuple[int, str]] = []
        self.person_flat: list[tuple[int, str]] = []
        self.props_json = self.person_json = -1
        for i, (what, key) in enumerate(roles):
            if what == "fixed":
                self.fixed.append((i, key))
            elif what == "event":
                self.flat.append((i, key))
            elif what == "person":
                self.person_flat.append((i, key))
            elif what == "properties":
                self.props_json = i
            else:
                self.person_json = i
        self.width = len(header)
        self.header = header
        self.kind = kind
        self.kinds: dict[int, str] = {}  # column → celltypes kind (CSV only)

    def record(self, row: Any, missing: Any) -> dict[str, Any]:
        """The event record of one row; cells equal to ``missing`` ("" in CSV, None in frames) are
        absent. Epoch-second text in ``timestamp`` becomes a number."""
        if len(row) != self.width:
            raise ValidationError((), f"expected {self.width} cells like the header, got {len(row)}")
        rec: dict[str, Any] = {}
        for i, name in self.fixed:
            cell = row[i]
            if cell is not missing and cell != missing:
                rec[name] = cell
        ts = rec.get("timestamp")
        if isinstance(ts, str):
            epoch = epoch_cell(ts)
            if epoch is not None:
                rec["timestamp"] = epoch
        rec["properties"] = self._merge(row, self.props_json, self.flat, missing)
        if self.person_json >= 0 or self.person_flat:
            rec["person_properties"] = self._merge(row, self.person_json, self.person_flat, missing)
        return rec

    def _merge(self, row: Any, json_col: int, flat: list[tuple[int, str]], missing: Any) -> dict:
        out: dict[str, Any] = {}
        cell = row[json_col] if json_col >= 0 else missing
        if isinstance(cell, str) and cell != "":
            try:
                cell = loads_json(cell)
            except JSONTextError as exc:
                raise ValidationError((self.header[json_col],), f"invalid JSON: {exc.msg}") from None
        if isinstance(cell, Mapping):
            out = dict(cell)
        elif cell is not missing and cell != missing:
            raise ValidationError((self.header[json_col],), f"expected an object (or JSON text of one), got {type(cell).__name__}")
        kinds = self.kinds
        for i, key in flat:
            v = row[i]
            if v is not missing and v != missing:
                out[key] = convert(v, kinds[i]) if i in kinds else v
        return out


def _utf8_row(row: list[str]) -> None:
    """ValidationError when a cell of ``row`` held bytes that are not UTF-8 (decoded with
    surrogateescape, they are lone surrogates)."""
    text = "".join(row)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            byte = ord(text[exc.start]) - 0xDC00 if 0xDC80 <= ord(text[exc.start]) <= 0xDCFF else None
            what = f"byte 0x{byte:02x}" if byte is not None else "a lone surrogate"
            raise ValidationError((), f"not valid UTF-8 ({what})") from None


def read_csv(
    path: str | Path, *, rename: Mapping[str, str] | None = None, delimiter: str = ",", progress: bool | None = None
) -> tuple[Source, Iterator[Item]]:
    """CSV events (see the module docstring); rows are 1-based line numbers (the header is line 1)."""
    path = file_path(path, "events")
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\r\n\"":
        raise ValidationError(("delimiter",), f"expected one character (not a quote or newline), got {brief(delimiter)}")
    if csv.field_size_limit() < _CSV_FIELD_LIMIT:
        csv.field_size_limit(_CSV_FIELD_LIMIT)
    raw = _open_binary(path, "events")
    # surrogateescape: a byte that is not UTF-8 decodes to a lone surrogate instead of failing the
    # whole chunk being decoded (which may be the header's), so it is reported at its own row
    fh = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(fh, delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        fh.close()
        raise ValidationError(("events",), f"{path}: empty CSV file (a header row is needed)") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        fh.close()
        raise InputRowError.at("events", str(path), 1, "line", (), f"unreadable CSV header: {exc}") from None
    except _READ_ERRORS as exc:
        fh.close()
        raise _unreadable("events", path, exc) from None
    try:
        _utf8_row(header)
        layout = ColumnLayout(header, rename)
    except ValidationError as exc:
        fh.close()
        raise InputRowError.at("events", str(path), 1, "line", exc.path, exc.message) from None

    def rows() -> Iterator[tuple[int, list[str]]]:
        bar = progress_bar(progress, _size(path), LARGE_BYTES, f"reading {path.name}", "B")
        pos = 0
        line = reader.line_num
        try:
            with fh:
                while True:
                    start = line + 1
                    try:
                        row = next(reader)
                    except StopIteration:
                        break
                    except (csv.Error, UnicodeDecodeError) as exc:
                        raise InputRowError.at("events", str(path), reader.line_num, "line", (), f"unreadable CSV: {exc}") from None
                    except _READ_ERRORS as exc:
                        raise _unreadable("events", path, exc) from None
                    line = reader.line_num
                    if start % _TICK == 0 and not isinstance(raw, gzip.GzipFile):
                        now = raw.tell()
                        bar.update(now - pos)
                        pos = now
                    if row:
                        yield start, row
        finally:
            bar.close()

    def items() -> Iterator[Item]:
        # property columns are typed as a whole (celltypes), so every row is read first
        table = list(rows())
        cols = [i for i, _ in layout.flat + layout.person_flat]
        layout.kinds = {i: column_kind([r[i] for _, r in table if len(r) == layout.width]) for i in cols}
        for start, row in table:
            try:
                _utf8_row(row)  # a byte that is not UTF-8 is reported at its own line
                yield start, layout.record(row, ""), None
            except ValidationError as exc:
                yield start, exc, None

    return Source(str(path), "line"), items()
