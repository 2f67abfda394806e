"""Saving a store to a directory and opening it again with memory-mapped columns.

Layout (format ``trendcalc-store``, version 1): one ``.npy`` file per NumPy column (row arrays,
property codes), one JSON file per list of strings or raw values (event names, distinct_ids, uuids,
person ids, group keys, each property's dictionary), and ``manifest.json`` naming every file with
its size and sha256.

Writing is atomic: everything goes to a fresh hidden directory next to the target, each file is
fsynced, the manifest is written last, then the directory is renamed into place (an existing store
is first renamed aside, then removed). A crash leaves either the old store, the new one, or (in the
instant between the two renames of an overwrite) no directory at the target, plus a hidden
``.<name>.*`` leftover that has no manifest until it is complete; never a directory that loads as
a different store.

Opening is cheap and never reads outside the directory (store/storefiles.py): the manifest is
read (at most 64 MiB, nesting bounded), every listed file is opened by bare name without following
symlinks, must be a regular file of the recorded size, and is then held for the store's life (read
into memory when small, else memory-mapped read-only), so replacing the directory later, e.g. by
``save(path, overwrite=True)``, does not disturb a store already loaded. ``.npy`` headers are checked
for dtype and shape, and the arrays' invariants (lengths, code ranges, row order, time range) are
checked before any query can index with them (store/storecheck.py); a property column's code range
is checked on its first use. Property dictionaries are checksum-verified and decoded on first use;
uuids too. ``verify=True`` also hashes every file up front: about 1 s per GB, so it is off by
default; a corrupted byte inside a column is then found at load rather than never.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import StoreFormatError, brief
from .columns import PropertyColumn, ValueDictionary
from .memo import Memo
from .report import IngestReport
from .storecheck import (
    check_order,
    check_times,
    checked_codes,
    codes_within,
    count,
    field,
    need,
    npy_array,
    rows,
    unique_names,
)
from .storefiles import MAX_MANIFEST_BYTES, StoreDir, bare_name
from .tables import GroupTable, PersonTable

FORMAT = "trendcalc-store"
VERSION = 1
MANIFEST = "manifest.json"
_CHUNK = 8 << 20


# --- writing ----------------------------------------------------------------------------------------
class _Writer:
    """Writes files into one directory, fsyncing each and recording its size and sha256."""

    def __init__(self, root: Path, durable: bool):
        self.root = root
        self.durable = durable
        self.files: dict[str, dict[str, Any]] = {}

    def _write(self, name: str, emit: Callable[[Any], None]) -> str:
        h = hashlib.sha256()
        size = 0

        class Sink:
            def write(self, b: Any) -> int:
                nonlocal size
                mv = memoryview(b).cast("B")
                h.update(mv)
                size += len(mv)
                return fh.write(mv)

        with open(self.root / name, "wb") as fh:
            emit(Sink())
            if self.durable:
                fh.flush()
                os.fsync(fh.fileno())
        self.files[name] = {"bytes": size, "sha256": h.hexdigest()}
        return name

    def array(self, name: str, arr: np.ndarray) -> str:
        arr = np.ascontiguousarray(arr)
        if arr.dtype == object:
            raise TypeError(f"{name}: object arrays are stored as JSON")
        self._write(name, lambda sink: np.lib.format.write_array(sink, arr, allow_pickle=False))
        self.files[name].update(dtype=arr.dtype.str, shape=list(arr.shape))
        return name

    def json(self, name: str, value: Any) -> str:
        data = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
        return self._write(name, lambda sink: sink.write(data))


def _columns(w: _Writer, prefix: str, columns: Mapping[str, PropertyColumn]) -> list[dict[str, Any]]:
    out = []
    for i, (key, col) in enumerate(columns.items()):
        values = list(col.dictionary.values)
        out.append({
            "key": key,
            "codes": w.array(f"{prefix}{i}.codes.npy", col.codes),
            "values": w.json(f"{prefix}{i}.values.json", values),
            "n_values": len(values),
        })
    return out


def _write_store(store: Any, root: Path, durable: bool) -> None:
    w = _Writer(root, durable)
    persons: PersonTable = store.persons
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "events": len(store.ts),
        "ts": w.array("ts.npy", store.ts),
        "event": w.array("event.npy", store.event),
        "distinct_id": w.array("distinct_id.npy", store.distinct_id),
        "event_names": w.json("event_names.json", list(store.event_names)),
        "distinct_ids": w.json("distinct_ids.json", store.distinct_ids.tolist()),
        "uuid": None if store.uuid is None else w.json("uuid.json", np.asarray(store.uuid).tolist()),
        "event_properties": _columns(w, "ep", store.properties),
        "persons": {
            "ids": w.json("persons.ids.json", _json_ids(persons.ids)),
            "created_at": w.array("persons.created_at.npy", persons.created_at),
            "person_of_distinct_id": w.array("persons.of_distinct_id.npy", persons.person_of_distinct_id),
            "synthetic": w.array("persons.synthetic.npy", persons.synthetic),
            "properties": _columns(w, "pp", persons.properties),
        },
        "groups": [
            {
                "group_type_index": gti,
                "keys": w.json(f"g{gti}.keys.json", table.keys.tolist()),
                "created_at": w.array(f"g{gti}.created_at.npy", table.created_at),
                "properties": _columns(w, f"g{gti}p", table.properties),
            }
            for gti, table in sorted(store.groups.items())
        ],
        "ingest_report": None if store.ingest_report is None else w.json("ingest_report.json", store.ingest_report.to_dict()),
    }
    from .._version import __version__

    manifest["written_by"] = f"trendcalc {__version__}"
    manifest["files"] = w.files
    data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
    with open(root / MANIFEST, "wb") as fh:
        fh.write(data)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())
    if durable:
        _fsync_dir(root)


def _tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _json_ids(ids: np.ndarray) -> list[Any]:
    return [v.item() if isinstance(v, np.generic) else v for v in ids.tolist()]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_directory(tmp: Path, target: Path) -> None:
    """Put the complete directory ``tmp`` at ``target`` by renames, so that ``target`` is never
    half-written: an existing ``target`` is renamed aside first and removed after."""
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
        os.rmdir(old)
        os.rename(target, old)
        os.rename(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, target)


def _is_store_dir(path: Path) -> bool:
    if not any(path.iterdir()):
        return True
    try:
        with StoreDir(path) as d:  # (no symlink, FIFO or huge file passes for a manifest)
            manifest = json.loads(bytes(d.read(MANIFEST, None)))
        return isinstance(manifest, dict) and manifest.get("format") == FORMAT
    except (StoreFormatError, ValueError, RecursionError):
        return False


def save_store(store: Any, path: str | os.PathLike, *, overwrite: bool = False, durable: bool = True) -> Path:
    """Write ``store`` to directory ``path`` atomically; returns the path.

    An existing ``path`` raises FileExistsError unless ``overwrite=True``, and is replaced only
    when it is an empty directory or a saved trendcalc store (never anything else).
    ``durable=False`` skips the fsyncs: still atomic if the process dies, not if the machine does."""
    target = Path(os.path.abspath(path))
    parent = target.parent
    if parent.exists() and not parent.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(parent))
    parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        if not overwrite:
            raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
        if not target.is_dir() or not _is_store_dir(target):
            raise FileExistsError(f"refusing to replace {target}: it is not a saved trendcalc store")
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".saving", dir=parent))
    try:
        _write_store(store, tmp, durable)
        replace_directory(tmp, target)
        if durable:
            _fsync_dir(parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


# --- reading ----------------------------------------------------------------------------------------
_VALUES: Any = ValueDictionary.__dict__["values"]  # the slot descriptor ValueDictionary keeps its values in


class LazyValueDictionary(ValueDictionary):
    """A ValueDictionary whose values are decoded on first use (``len`` needs no decoding)."""

    __slots__ = ("_load", "_n")

    def __init__(self, n: int, load: Callable[[], list[Any]]):
        self._n = n
        self._load = load
        self._memo = Memo()

    @property
    def values(self) -> tuple[Any, ...]:  # type: ignore[override]
        try:
            return _VALUES.__get__(self)
        except AttributeError:
            values = self._memo.get("values", lambda: tuple(self._load()))
            _VALUES.__set__(self, values)
            return values

    def __len__(self) -> int:
        return self._n


class CheckedColumn(PropertyColumn):
    """A loaded property column whose codes are range-checked on first use (the check reads the
    whole column, so it is not done at load)."""

    __slots__ = ("_raw", "_check", "_memo")

    def __init__(self, codes: np.ndarray, dictionary: ValueDictionary, check: Callable[[np.ndarray], np.ndarray]):
        self._raw = codes
        self._check = check
        self._memo = Memo()
        self.dictionary = dictionary

    @property
    def codes(self) -> np.ndarray:  # type: ignore[override]
        return self._memo.get("codes", lambda: self._check(self._raw))

    def __len__(self) -> int:
        return len(self._raw)

    def freeze(self) -> None:
        self._raw.flags.writeable = False  # (already: it is a view of a read-only buffer)


class LazyArray:
    """An object array (uuids) read on first use: ``len`` needs no read; anything else reads it."""

    def __init__(self, n: int, load: Callable[[], np.ndarray]):
        self._n = n
        self._load = load
        self._memo = Memo()

    def _get(self) -> np.ndarray:
        return self._memo.get("array", self._load)

    def __len__(self) -> int:
        return self._n

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = self._get()
        return arr if dtype is None else arr.astype(dtype)

    def __getitem__(self, key: Any) -> Any:
        return self._get()[key]

    def __iter__(self) -> Any:
        return iter(self._get())

    def __getattr__(self, name: str) -> Any:  # ndarray attributes (tolist, dtype, ...), read on use
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._get(), name)

    def __repr__(self) -> str:
        return f"LazyArray({self._n} values)"


class _Reader:
    """A store's files, all opened at load (see storefiles.py), read and checked on request."""

    def __init__(self, d: StoreDir, files: Mapping[str, Any]):
        self.root = d.root
        self.files = files
        self.buffers: dict[str, Any] = {}
        for name, meta in files.items():
            if not bare_name(name) or name == MANIFEST:
                raise self.error(MANIFEST, f"invalid file name {name!r}")
            need(meta, dict, f"files[{name!r}]", self.error)
            count(meta.get("bytes"), f"files[{name!r}].bytes", self.error)
            need(meta.get("sha256"), str, f"files[{name!r}].sha256", self.error)
        for name, meta in files.items():
            self.buffers[name] = d.read(name, meta["bytes"])

    def error(self, name: str, message: str) -> StoreFormatError:
        return StoreFormatError((str(self.root), name), message)

    def entry(self, name: Any) -> dict[str, Any]:
        if not isinstance(name, str) or name not in self.files:
            raise self.error(MANIFEST, f"names a file the manifest does not list: {name!r}")
        return self.files[name]

    def sha256(self, name: str) -> None:
        h = hashlib.sha256()
        view = memoryview(self.buffers[name])
        for i in range(0, len(view), _CHUNK):
            h.update(view[i : i + _CHUNK])
        view.release()
        if h.hexdigest() != self.entry(name).get("sha256"):
            raise self.error(name, "checksum mismatch: the file is corrupted")

    def array(self, name: Any, kinds: str, itemsize: int | None = None) -> np.ndarray:
        meta = self.entry(name)
        return npy_array(self.buffers[name], name, meta, kinds, self.error, itemsize)

    def json(self, name: Any) -> Any:
        self.entry(name)
        self.sha256(name)
        try:
            return json.loads(bytes(self.buffers[name]))
        except RecursionError:
            raise self.error(name, "invalid JSON: nested too deeply") from None
        except ValueError as exc:
            raise self.error(name, f"invalid JSON: {exc}") from None

    def strings(self, name: Any, n: int | None = None, *, kinds: type | tuple[type, ...] | None = None) -> np.ndarray:
        """A JSON list of ``n`` values (of ``kinds`` when given) as an object array."""
        values = self.json(name)
        if not isinstance(values, list) or (n is not None and len(values) != n):
            raise self.error(name, f"expected a list of {'' if n is None else n} values".replace("  ", " "))
        if kinds is not None and not set(map(type, values)) <= set(_tuple(kinds)):
            for i, v in enumerate(values):
                if not isinstance(v, kinds) or isinstance(v, bool):
                    raise self.error(name, f"[{i}]: expected a string, got {type(v).__name__}")
        out = np.empty(len(values), dtype=object)
        out[:] = values
        out.flags.writeable = False
        return out

    def columns(self, specs: Any, n_rows: int, where: str) -> dict[str, PropertyColumn]:
        out: dict[str, PropertyColumn] = {}
        for i, spec in enumerate(need(specs, list, where, self.error)):
            at = f"{where}[{i}]"
            need(spec, dict, at, self.error)
            key = field(spec, "key", str, at, self.error)
            if key in out:
                raise self.error(MANIFEST, f"{at}.key: {key!r} appears twice")
            name = field(spec, "codes", str, at, self.error)
            codes = rows(self.array(name, "i"), n_rows, name, "codes", self.error)
            n_values = count(spec.get("n_values"), f"{at}.n_values", self.error)
            self.entry(field(spec, "values", str, at, self.error))
            check = self._code_check(name, n_values)
            out[key] = CheckedColumn(codes, LazyValueDictionary(n_values, self._loader(spec)), check)
        return out

    def _code_check(self, name: str, n_values: int) -> Callable[[np.ndarray], np.ndarray]:
        return lambda codes: checked_codes(codes, n_values, name, self.error)

    def _loader(self, spec: Mapping[str, Any]) -> Callable[[], list[Any]]:
        def load() -> list[Any]:
            values = self.json(spec["values"])
            if not isinstance(values, list) or len(values) != spec["n_values"]:
                raise self.error(spec["values"], f"expected a list of {spec['n_values']} values")
            return values

        return load


def read_manifest(root: Path, d: StoreDir | None = None) -> dict[str, Any]:
    """The manifest of a store directory, checked for format and version."""
    if d is None:
        with StoreDir(root) as d:
            return read_manifest(root, d)
    try:
        data = d.read(MANIFEST, None, limit=MAX_MANIFEST_BYTES)
    except StoreFormatError as exc:
        if "missing" in exc.message:
            raise StoreFormatError((str(root), MANIFEST), "missing: not a saved store, or one whose save did not finish") from None
        raise
    try:
        manifest = json.loads(bytes(data))
    except RecursionError:
        raise StoreFormatError((str(root), MANIFEST), "invalid JSON: nested too deeply") from None
    except ValueError as exc:
        raise StoreFormatError((str(root), MANIFEST), f"invalid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise StoreFormatError((str(root), MANIFEST), f"not a {FORMAT} manifest")
    if manifest.get("version") != VERSION:
        raise StoreFormatError(
            (str(root), MANIFEST),
            f"store format version {brief(manifest.get('version'))} (written by {brief(manifest.get('written_by', '?'))}); "
            f"this trendcalc reads version {VERSION}",
        )
    if not isinstance(manifest.get("files"), dict):
        raise StoreFormatError((str(root), MANIFEST), "no file list")
    return manifest


def load_store(cls: type, path: str | os.PathLike, *, verify: bool = False) -> Any:
    """Open a saved store (see the module docstring); StoreFormatError when it cannot be trusted."""
    root = Path(os.path.abspath(path))
    with StoreDir(root) as d:
        m = read_manifest(root, d)
        r = _Reader(d, m["files"])
    if verify:
        for name in m["files"]:
            r.sha256(name)
    try:
        return _build(cls, r, m)
    except StoreFormatError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError, RecursionError) as exc:
        raise StoreFormatError((str(root), MANIFEST), f"inconsistent store: {type(exc).__name__}: {exc}") from None


def _build(cls: type, r: _Reader, m: dict[str, Any]) -> Any:
    """The store the manifest describes, after the checks of storecheck.py."""
    fail = r.error
    n = count(m.get("events"), "events", fail)
    event_names = r.strings(field(m, "event_names", str, "$", fail), kinds=str)
    unique_names(event_names.tolist(), str, m["event_names"], "event names", fail)
    distinct_ids = r.strings(field(m, "distinct_ids", str, "$", fail), kinds=str)
    ts = rows(r.array(field(m, "ts", str, "$", fail), "i", 8), n, m["ts"], "timestamps", fail)
    event = rows(r.array(field(m, "event", str, "$", fail), "i", 4), n, m["event"], "event codes", fail)
    did = rows(r.array(field(m, "distinct_id", str, "$", fail), "i"), n, m["distinct_id"], "distinct_id codes", fail)
    codes_within(event, 0, len(event_names), m["event"], "event code", fail)
    codes_within(did, 0, len(distinct_ids), m["distinct_id"], "distinct_id code", fail)
    check_order(event, ts, fail)
    check_times(ts, m["ts"], fail, unknown_ok=False)

    p = field(m, "persons", dict, "$", fail)
    ids = r.strings(field(p, "ids", str, "persons", fail))
    n_p = len(ids)
    created = rows(r.array(field(p, "created_at", str, "persons", fail), "i", 8), n_p, p["created_at"], "created_at", fail)
    check_times(created, p["created_at"], fail, unknown_ok=True)
    pod = rows(r.array(field(p, "person_of_distinct_id", str, "persons", fail), "i"), len(distinct_ids),
               p["person_of_distinct_id"], "person rows", fail)
    codes_within(pod, 0, n_p, p["person_of_distinct_id"], "person row", fail)
    synthetic = rows(r.array(field(p, "synthetic", str, "persons", fail), "b"), n_p, p["synthetic"], "flags", fail)
    persons = PersonTable(ids, created, r.columns(p.get("properties", []), n_p, "persons.properties"), pod, synthetic)

    groups = {}
    for i, g in enumerate(field(m, "groups", list, "$", fail)):
        at = f"groups[{i}]"
        need(g, dict, at, fail)
        gti = field(g, "group_type_index", int, at, fail)
        if not 0 <= gti <= 4 or gti in groups:
            raise fail(MANIFEST, f"{at}.group_type_index: {gti} is not a new index in 0..4")
        keys = r.strings(field(g, "keys", str, at, fail), kinds=str)
        unique_names(keys.tolist(), str, g["keys"], "group keys", fail)
        g_created = rows(r.array(field(g, "created_at", str, at, fail), "i", 8), len(keys), g["created_at"], "created_at", fail)
        check_times(g_created, g["created_at"], fail, unknown_ok=True)
        groups[gti] = GroupTable(gti, keys, g_created, r.columns(g.get("properties", []), len(keys), f"{at}.properties"))

    uuid_name = m.get("uuid")
    if uuid_name is not None:
        need(uuid_name, str, "uuid", fail)
        r.entry(uuid_name)
    store = cls(
        ts=ts,
        event=event,
        event_names=tuple(event_names.tolist()),
        distinct_id=did,
        distinct_ids=distinct_ids,
        properties=r.columns(m.get("event_properties", []), n, "event_properties"),
        persons=persons,
        groups=groups,
        uuid=None if uuid_name is None else LazyArray(n, lambda: r.strings(uuid_name, n)),
    )
    report = m.get("ingest_report")
    if report is not None:
        data = need(r.json(need(report, str, "ingest_report", fail)), dict, "ingest_report.json", fail)
        store.ingest_report = IngestReport.from_dict(data)
    return store
