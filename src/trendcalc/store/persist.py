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

Opening is cheap: the manifest is read, every file's size is checked against it (truncation),
``.npy`` headers are checked for dtype and shape, and columns are memory-mapped (pages are read when
a query touches them). Property dictionaries are read, checksum-verified and decoded on first use.
uuids, when present, are read on first use too.
``verify=True`` also hashes every file up front: about 1 s per GB, so it is off by default; a
corrupted byte inside a column is then found at load rather than never.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import StoreFormatError
from .columns import PropertyColumn, ValueDictionary
from .memo import Memo
from .report import IngestReport
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


def _json_ids(ids: np.ndarray) -> list[Any]:
    return [v.item() if isinstance(v, np.generic) else v for v in ids.tolist()]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _is_store_dir(path: Path) -> bool:
    if not any(path.iterdir()):
        return True
    try:
        return json.loads((path / MANIFEST).read_bytes()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def save_store(store: Any, path: str | os.PathLike, *, overwrite: bool = False, durable: bool = True) -> Path:
    """Write ``store`` to directory ``path`` atomically; returns the path.

    An existing ``path`` raises FileExistsError unless ``overwrite=True``, and is replaced only
    when it is an empty directory or a saved trendcalc store (never anything else).
    ``durable=False`` skips the fsyncs: still atomic if the process dies, not if the machine does."""
    target = Path(os.path.abspath(path))
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        if not overwrite:
            raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
        if not target.is_dir() or not _is_store_dir(target):
            raise FileExistsError(f"refusing to replace {target}: it is not a saved trendcalc store")
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".saving", dir=parent))
    try:
        _write_store(store, tmp, durable)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=parent))
            os.rmdir(old)
            os.rename(target, old)
            os.rename(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, target)
        if durable:
            _fsync_dir(parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


# --- reading ----------------------------------------------------------------------------------------
_VALUES = ValueDictionary.values  # the slot ValueDictionary keeps its values in


class LazyValueDictionary(ValueDictionary):
    """A ValueDictionary whose values are read from disk on first use (``len`` needs no read)."""

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
    def __init__(self, root: Path, files: Mapping[str, Any]):
        self.root = root
        self.files = files

    def error(self, name: str, message: str) -> StoreFormatError:
        return StoreFormatError((str(self.root), name), message)

    def entry(self, name: Any) -> dict[str, Any]:
        if not isinstance(name, str) or name not in self.files:
            raise self.error(MANIFEST, f"names a file the manifest does not list: {name!r}")
        return self.files[name]

    def check_sizes(self) -> None:
        for name, meta in self.files.items():
            if os.path.basename(name) != name or name == MANIFEST:
                raise self.error(MANIFEST, f"invalid file name {name!r}")
            try:
                size = (self.root / name).stat().st_size
            except OSError:
                raise self.error(name, "missing (the store is incomplete)") from None
            if size != meta.get("bytes"):
                raise self.error(name, f"has {size} bytes, the manifest says {meta.get('bytes')}: truncated or changed")

    def sha256(self, name: str, data: bytes | None = None) -> None:
        h = hashlib.sha256()
        if data is None:
            with open(self.root / name, "rb") as fh:
                while chunk := fh.read(_CHUNK):
                    h.update(chunk)
        else:
            h.update(data)
        if h.hexdigest() != self.entry(name).get("sha256"):
            raise self.error(name, "checksum mismatch: the file is corrupted")

    def array(self, name: Any) -> np.ndarray:
        meta = self.entry(name)
        try:
            shape = tuple(meta["shape"])
            mmap = "r" if int(np.prod(shape)) > 0 else None
            arr = np.load(self.root / name, mmap_mode=mmap, allow_pickle=False)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise self.error(name, f"unreadable column: {exc}") from None
        if arr.dtype.str != meta.get("dtype") or list(arr.shape) != meta.get("shape"):
            raise self.error(name, f"holds {arr.dtype.str}{list(arr.shape)}, the manifest says {meta.get('dtype')}{meta.get('shape')}")
        return arr

    def json(self, name: Any) -> Any:
        self.entry(name)
        try:
            data = (self.root / name).read_bytes()
        except OSError as exc:
            raise self.error(name, f"unreadable: {exc.strerror}") from None
        self.sha256(name, data)
        try:
            return json.loads(data)
        except ValueError as exc:
            raise self.error(name, f"invalid JSON: {exc}") from None

    def strings(self, name: Any, n: int | None = None) -> np.ndarray:
        values = self.json(name)
        if not isinstance(values, list) or (n is not None and len(values) != n):
            raise self.error(name, f"expected a list of {n} values")
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out

    def columns(self, specs: Any, n_rows: int) -> dict[str, PropertyColumn]:
        out = {}
        for spec in specs:
            codes = self.array(spec["codes"])
            if codes.shape != (n_rows,):
                raise self.error(spec["codes"], f"expected {n_rows} codes, got {codes.shape}")
            self.entry(spec["values"])
            out[spec["key"]] = PropertyColumn(codes, LazyValueDictionary(spec["n_values"], self._loader(spec)))
        return out

    def _loader(self, spec: Mapping[str, Any]) -> Callable[[], list[Any]]:
        def load() -> list[Any]:
            values = self.json(spec["values"])
            if not isinstance(values, list) or len(values) != spec["n_values"]:
                raise self.error(spec["values"], f"expected a list of {spec['n_values']} values")
            return values

        return load


def read_manifest(root: Path) -> dict[str, Any]:
    """The manifest of a store directory, checked for format and version."""
    if not root.is_dir():
        raise StoreFormatError((str(root),), "no saved store here (not a directory)")
    try:
        manifest = json.loads((root / MANIFEST).read_bytes())
    except OSError:
        raise StoreFormatError((str(root), MANIFEST), "missing: not a saved store, or one whose save did not finish") from None
    except ValueError as exc:
        raise StoreFormatError((str(root), MANIFEST), f"invalid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise StoreFormatError((str(root), MANIFEST), f"not a {FORMAT} manifest")
    if manifest.get("version") != VERSION:
        raise StoreFormatError(
            (str(root), MANIFEST),
            f"store format version {manifest.get('version')!r} (written by {manifest.get('written_by', '?')}); "
            f"this trendcalc reads version {VERSION}",
        )
    if not isinstance(manifest.get("files"), dict):
        raise StoreFormatError((str(root), MANIFEST), "no file list")
    return manifest


def load_store(cls: type, path: str | os.PathLike, *, verify: bool = False) -> Any:
    """Open a saved store (see the module docstring); StoreFormatError when it cannot be trusted."""
    root = Path(os.path.abspath(path))
    m = read_manifest(root)
    r = _Reader(root, m["files"])
    r.check_sizes()
    if verify:
        for name in m["files"]:
            r.sha256(name)
    try:
        n = m["events"]
        p = m["persons"]
        ids = r.strings(p["ids"])
        persons = PersonTable(
            ids,
            r.array(p["created_at"]),
            r.columns(p["properties"], len(ids)),
            r.array(p["person_of_distinct_id"]),
            r.array(p["synthetic"]),
        )
        groups = {}
        for g in m["groups"]:
            keys = r.strings(g["keys"])
            groups[g["group_type_index"]] = GroupTable(
                g["group_type_index"], keys, r.array(g["created_at"]), r.columns(g["properties"], len(keys))
            )
        ts = r.array(m["ts"])
        if ts.shape != (n,):
            raise r.error(m["ts"], f"expected {n} timestamps, got {ts.shape}")
        store = cls(
            ts=ts,
            event=r.array(m["event"]),
            event_names=tuple(r.strings(m["event_names"]).tolist()),
            distinct_id=r.array(m["distinct_id"]),
            distinct_ids=r.strings(m["distinct_ids"]),
            properties=r.columns(m["event_properties"], n),
            persons=persons,
            groups=groups,
            uuid=None if m["uuid"] is None else LazyArray(n, lambda: r.strings(m["uuid"], n)),
        )
        if m.get("ingest_report") is not None:
            store.ingest_report = IngestReport.from_dict(r.json(m["ingest_report"]))
    except StoreFormatError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise StoreFormatError((str(root), MANIFEST), f"inconsistent store: {type(exc).__name__}: {exc}") from None
    return store
