"""JSON lines whose blocks hold one field in different JSON kinds (store/jsonblocks.py).

pyarrow 26's whole-file reader (``pyarrow.json.read_json``) crashes the process (SIGSEGV) when a
later block holds only booleans in a field an earlier block holds as text or numbers; the
columnar path no longer calls it on the file. Each build runs in a subprocess, so that a crash
fails its test instead of killing pytest, and its store must be the row reader's byte for byte.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")

PER_BLOCK, WIDTH = 50, 128  # rows per block, bytes per line (so every block holds one kind only)
VALUES = {"text": '"yes"', "bool": "true", "int": "7", "float": "7.5", "null": "null"}

CHILD = r"""
import json, sys
from pathlib import Path
import trendcalc as tc
from trendcalc.store import columnar
path, block, out = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
columnar._JSON_BLOCK = block
read = columnar.jsonl_table(path)
tc.EventStore.from_jsonl(path).save(out / "columnar")
columnar.have_pyarrow = lambda: False
tc.EventStore.from_jsonl(path).save(out / "rows")
files = sorted(p.name for p in (out / "rows").iterdir())
same = [f for f in files if (out / "rows" / f).read_bytes() != (out / "columnar" / f).read_bytes()]
print(json.dumps({"columnar": read is not None, "differ": same,
                  "files": sorted(p.name for p in (out / "columnar").iterdir()) == files}))
"""

RAW = r"""
import sys
import pyarrow.json as pjson
pjson.read_json(sys.argv[1], read_options=pjson.ReadOptions(block_size=int(sys.argv[2])))
"""


def write(path: Path, kinds: list[str]) -> None:
    lines = []
    for b, kind in enumerate(kinds):
        for i in range(PER_BLOCK):
            rec = (f'{{"event": "e", "distinct_id": "u{i % 7}", "timestamp": "2024-03-0{1 + b % 9}T10:00:00Z", '
                   f'"properties": {{"plan": "pro", "flag": {VALUES[kind]}}}}}')
            lines.append(rec.ljust(WIDTH - 1) + "\n")
    path.write_text("".join(lines))
    assert all(len(line) == WIDTH for line in lines)


def build(tmp_path: Path, kinds: list[str]) -> dict:
    path = tmp_path / "e.jsonl"
    write(path, kinds)
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), str(PER_BLOCK * WIDTH), str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"the build died (return code {out.returncode}):\n{out.stderr[-2000:]}"
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["files"] and got["differ"] == []  # (the store is the row reader's, byte for byte)
    return got


@pytest.mark.parametrize("kinds", [
    ["text", "bool"], ["text", "text", "bool"], ["text", "bool", "text"], ["int", "bool"], ["float", "bool"],
    ["text", "null", "bool"], ["bool", "text"], ["bool", "int"],
])
def test_a_boolean_block_in_a_field_of_another_kind_goes_to_the_row_reader(tmp_path, kinds):
    """Text (or numbers) and booleans in one field: the row reader builds the store, no crash."""
    assert build(tmp_path, kinds)["columnar"] is False


def test_a_number_block_in_a_text_field_is_not_turned_into_text(tmp_path):
    """A block of only numbers after a block of text: read_json made them text ("7"); the row
    reader keeps numbers, so the file goes to it."""
    assert build(tmp_path, ["text", "int"])["columnar"] is False


@pytest.mark.parametrize("kinds", [["null", "bool"], ["int", "float", "int"], ["null", "text", "null"],
                                   ["bool", "null", "bool"]])
def test_blocks_that_unify_stay_columnar(tmp_path, kinds):
    """Nulls beside any kind, integers beside floats: one column, read columnar."""
    assert build(tmp_path, kinds)["columnar"] is True


def test_the_whole_file_reader_is_what_crashed(tmp_path):
    """The reproduction, in a subprocess: pyarrow's ``read_json`` on a text block then a boolean
    block either fails cleanly or dies (SIGSEGV with pyarrow 26); it never builds a table that
    holds both kinds (which is why the columnar path must not call it on such a file)."""
    path = tmp_path / "e.jsonl"
    write(path, ["text", "bool"])
    out = subprocess.run([sys.executable, "-c", RAW, str(path), str(PER_BLOCK * WIDTH)], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode != 0  # (-11 where the bug is; an ArrowInvalid exit where fixed)
