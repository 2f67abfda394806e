"""Fuzz saved stores: a real store is saved, then mutated the ways a hostile or broken directory can
be (truncated or extended files, flipped bits, swapped or deleted files, symlinks into and out of
the store, FIFOs, /dev/zero, directories in a file's place, manifest fields replaced by junk,
deeply nested JSON, files rewritten with the manifest made to agree), and loaded with and without
``verify``.

Every outcome must be a StoreFormatError/ValidationError, or a store whose whole content (every row,
every decoded value, persons, groups, uuids) equals the original's and which answers a query. A
different content is accepted only where no check can see it and SECURITY.md says so: the manifest
itself was edited (it is the root of trust), or, without ``verify``, a ``.npy`` file's bytes changed
at the same size. A symlink, special file or size change must always be refused. Each example runs
under a hang guard (a FIFO or /dev/zero must not block or read forever).
"""

from __future__ import annotations

import atexit
import hashlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

import trendcalc as tc
from trendcalc.store.persist import MANIFEST

from . import world
from .support import check_error, check_result, fuzz_settings, hang_guard

QUERIES = [
    {"events": [{"id": None, "math": "dau"}], "breakdown": "$browser", "date_from": "all", "interval": "week"},
    {"events": [{"id": "$pageview"}], "breakdown": "plan", "breakdown_type": "person", "date_from": "all"},
    {"events": [{"id": "$pageview", "math": "unique_group", "math_group_type_index": 0}], "breakdown": "industry",
     "breakdown_type": "group", "breakdown_group_type_index": 0, "date_from": "all"},
]  # fmt: skip
_ROOT = Path(tempfile.mkdtemp(prefix="trendcalc-fuzz-store-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)  # the mutated stores go with the run
_EVENTS = [{**e, "uuid": f"uuid-{i}"} for i, e in enumerate(world.EVENTS[:40])]
ORIGINAL = tc.EventStore.from_records(_EVENTS, persons=world.PERSONS, groups=world.GROUPS)
TEMPLATE = ORIGINAL.save(_ROOT / "template")
FILES = sorted(json.loads((TEMPLATE / MANIFEST).read_bytes())["files"])
OUTSIDE = _ROOT / "outside"  # files outside the store a symlink may point at
OUTSIDE.mkdir()


def content(store: tc.EventStore) -> str:
    """Everything a query can read, decoded: equal strings mean an equal store."""

    def column(col: Any) -> list[Any]:
        values = col.dictionary.values
        return [None if c < 0 else values[c] for c in col.codes.tolist()]

    def table(t: Any) -> dict[str, Any]:
        return {k: column(c) for k, c in sorted(t.properties.items())}

    persons = store.persons
    return repr((
        [store.event_names[c] for c in store.event.tolist()], store.ts.tolist(),
        [store.distinct_ids[c] for c in store.distinct_id.tolist()], table(store),
        None if store.uuid is None else list(store.uuid),
        [persons.ids[p] for p in persons.person_of_distinct_id.tolist()], persons.ids.tolist(),
        persons.created_at.tolist(), persons.synthetic.tolist(), table(persons),
        {gti: (g.keys.tolist(), g.created_at.tolist(), table(g)) for gti, g in sorted(store.groups.items())},
        store.ingest_report,
    ))  # fmt: skip


EXPECTED = content(ORIGINAL)
ANSWERS = [tc.trends(ORIGINAL, q, now=world.NOW).to_dicts() for q in QUERIES]


# --- mutations ------------------------------------------------------------------------------------
def _manifest_paths(value: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _manifest_paths(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _manifest_paths(v, path + (i,))
    return out


MANIFEST_PATHS = [p for p in _manifest_paths(json.loads((TEMPLATE / MANIFEST).read_bytes())) if p]
JUNK = st.one_of(
    st.sampled_from([None, True, False, 0, -1, 1, 2**31, 2**63, -(2**63) - 1, 10**30, 1.5, float(2**53), "", "..",
                     ".", "../outside/x.npy", "/etc/passwd", "manifest.json", "x\x00y", "a/b", [], {}, [[]], {"bytes": 1},
                     "<i8", "|O", "<f8", [3], [-1], [2**62], "0" * 64]),  # fmt: skip
    st.sampled_from(FILES),
    st.integers(-5, 50),
    st.lists(st.integers(-2, 3), max_size=3),
)
KINDS = ["truncate", "extend", "flip", "swap", "delete", "symlink_in", "symlink_out", "fifo", "dev_zero",
         "directory", "manifest", "deep", "rewrite"]  # fmt: skip


@st.composite
def mutation(draw: st.DrawFn) -> tuple:
    kind = draw(st.sampled_from(KINDS))
    name = draw(st.sampled_from(FILES + [MANIFEST] * 3))
    if kind == "truncate":
        return kind, name, draw(st.floats(0, 0.999))
    if kind == "extend":
        return kind, name, draw(st.binary(min_size=1, max_size=64))
    if kind == "flip":
        return kind, name, draw(st.lists(st.tuples(st.floats(0, 0.999), st.integers(0, 7)), min_size=1, max_size=4))
    if kind in ("swap", "symlink_in"):
        return kind, name, draw(st.sampled_from(FILES))
    if kind == "manifest":
        return kind, draw(st.sampled_from(MANIFEST_PATHS)), draw(JUNK)
    if kind == "deep":
        return kind, name, draw(st.sampled_from([1_000, 100_000])), draw(st.booleans())
    if kind == "rewrite":
        name = draw(st.sampled_from(FILES))
        if name.endswith(".npy"):
            dtype = draw(st.sampled_from(["<i4", "<i8", "|b1", "<f8", "<u4", "|i1"]))
            ints = st.integers(-(2**31), 2**31 - 1) | st.sampled_from([-1, 0, 1, 2, 10**6])
            return kind, name, (dtype, draw(st.lists(ints, max_size=50)))
        return kind, name, draw(st.sampled_from(['[]', '["$pageview"]', '[1, 2, 3]', '{"a": 1}', '"x"', '[null]',
                                                 '["a", "a"]', '[[1], {"k": []}]', "[" + ",".join(['"v"'] * 60) + "]"]))
    return kind, name  # delete, symlink_out, fifo, dev_zero, directory


def _raw_write(path: Path, data: bytes) -> None:
    if path.is_symlink() or not path.is_file():
        _remove(path)
    path.write_bytes(data)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        os.remove(path)


def _manifest(store: Path) -> Any:
    """The manifest's JSON, read only when it is still a regular file: an earlier mutation may
    have made it a FIFO, and reading one blocks for ever (found by the long profile: the
    harness, not the load, hung for half an hour). Raises OSError otherwise."""
    path = store / MANIFEST
    if path.is_symlink() or not path.is_file():
        raise OSError("the manifest is no longer a regular file")
    return json.loads(path.read_bytes())


def _agree(store: Path, name: str, data: bytes, arr: np.ndarray | None = None) -> None:
    """Make the manifest agree with the new contents of ``name`` (unless an earlier mutation broke it)."""
    try:
        m = _manifest(store)
        meta = m["files"].setdefault(name, {})
        meta.update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
        if arr is not None:
            meta.update(dtype=arr.dtype.str, shape=list(arr.shape))
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError, OSError):
        return
    _raw_write(store / MANIFEST, json.dumps(m).encode())


def apply(store: Path, op: tuple) -> str | None:
    """Apply one mutation; say what it did: ``"refuse"`` (a file replaced by a link or special
    file, resized or deleted: the load must fail), ``"manifest"`` (the manifest changed or was made
    to agree), ``"npy"`` (a .npy file's bytes changed at the same size), or None (nothing)."""
    kind, name = op[0], op[1]
    path = store / name if isinstance(name, str) else store / MANIFEST
    regular = path.is_file() and not path.is_symlink()
    on_manifest = path.name == MANIFEST
    if kind == "truncate" and regular:
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * op[2])])
        return "refuse" if len(data) else None
    if kind == "extend" and regular:
        with open(path, "ab") as fh:
            fh.write(op[2])
        # (bytes after the manifest's JSON: refused unless they are whitespace, which leaves the
        # same manifest — found by the long profile: a trailing newline, as an editor adds one)
        return "manifest" if on_manifest else "refuse"
    if kind == "flip" and regular:
        data = bytearray(path.read_bytes())
        for where, bit in op[2]:
            if data:
                data[int(len(data) * where)] ^= 1 << bit
        path.write_bytes(bytes(data))
        return "manifest" if on_manifest else "npy" if name.endswith(".npy") else "json"
    if kind == "swap" and regular and (store / op[2]).is_file() and not (store / op[2]).is_symlink() and op[2] != name:
        a, b = path.read_bytes(), (store / op[2]).read_bytes()
        path.write_bytes(b)
        (store / op[2]).write_bytes(a)
        if on_manifest:
            return "manifest"
        return "npy" if name.endswith(".npy") or op[2].endswith(".npy") else "json"
    if kind == "delete":
        _remove(path)
        return "refuse"
    if kind == "symlink_in":
        if op[2] == name:
            return None
        _remove(path)
        os.symlink(op[2], path)
        return "refuse"
    if kind == "symlink_out":
        target = OUTSIDE / f"{store.name}-{name}"
        if regular:
            shutil.copyfile(path, target)  # same bytes: only the refusal to follow can tell
        else:
            target.write_bytes(b"x")
        _remove(path)
        os.symlink(target, path)
        return "refuse"
    if kind == "fifo":
        _remove(path)
        os.mkfifo(path)
        return "refuse"
    if kind == "dev_zero":
        _remove(path)
        os.symlink("/dev/zero", path)
        return "refuse"
    if kind == "directory":
        _remove(path)
        path.mkdir()
        return "refuse"
    if kind == "manifest":
        return "manifest" if _edit_manifest(store, op[1], op[2]) else None
    if kind == "deep":
        data = b"[" * op[2] + b"]" * op[2]
        _raw_write(path, data)
        if op[3] and not on_manifest:
            _agree(store, name, data)
            return "manifest"
        return "manifest" if on_manifest else "refuse"
    if kind == "rewrite":
        if name.endswith(".npy"):
            arr = np.array(op[2][1], dtype=np.int64).astype(op[2][0])
            buf = io.BytesIO()
            np.save(buf, arr, allow_pickle=False)
            data = buf.getvalue()
        else:
            data, arr = op[2].encode(), None
        _raw_write(path, data)
        _agree(store, name, data, arr)
        return "manifest"
    return None


def _edit_manifest(store: Path, where: tuple, value: Any) -> bool:
    try:
        m = _manifest(store)
        target = m
        for key in where[:-1]:
            target = target[key]
        target[where[-1]] = value
    except (ValueError, KeyError, IndexError, TypeError, OSError, RecursionError):
        return False  # an earlier mutation broke the manifest already
    _raw_write(store / MANIFEST, json.dumps(m).encode())
    return True


# --- the check ------------------------------------------------------------------------------------
def outcome(path: Path, verify: bool) -> str | None:
    """The loaded store's content (None when it was refused), checking every query on the way."""
    try:
        with hang_guard(20):
            store = tc.EventStore.load(path, verify=verify)
            got = content(store)
            for q, expected in zip(QUERIES, ANSWERS):
                result = tc.trends(store, q, now=world.NOW)
                check_result(result)
                if got == EXPECTED:
                    assert result.to_dicts() == expected, "same content, different answer"
            return got
    except tc.ValidationError as exc:  # StoreFormatError is one
        check_error(exc, allow_root=True)
        return None


@fuzz_settings(120)
@given(st.lists(mutation(), min_size=1, max_size=3))
@example([("fifo", MANIFEST), ("manifest", ("format",), "x")])  # the harness once blocked reading that FIFO
def test_mutated_saved_stores(ops: list[tuple]) -> None:
    store = Path(tempfile.mkdtemp(prefix="s", dir=_ROOT))
    try:
        shutil.copytree(TEMPLATE, store, dirs_exist_ok=True)
        did = {apply(store, op) for op in ops}
        # the manifest is the root of trust: an edit that keeps it valid may describe another store
        must_raise = "refuse" in did and "manifest" not in did
        for verify in (False, True):
            got = outcome(store, verify)
            if must_raise:
                assert got is None, f"{ops}: loaded (verify={verify}) although a file was replaced or resized"
            elif got is not None and got != EXPECTED:
                silent_ok = "manifest" in did or (not verify and "npy" in did)
                assert silent_ok, f"{ops}: a different store loaded silently (verify={verify})"
    finally:
        shutil.rmtree(store, ignore_errors=True)


def test_fuzzer_sees_the_original_as_it_is(tmp_path: Path) -> None:
    """The oracle itself: an untouched copy loads with the same content and answers."""
    shutil.copytree(TEMPLATE, tmp_path / "s")
    for verify in (False, True):
        assert outcome(tmp_path / "s", verify) == EXPECTED
