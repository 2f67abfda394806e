"""JSON text nested too deeply (``trendcalc/jsontext.py``): refused with its place, never parsed
into a RecursionError, and never handed to Arrow's JSON reader, which recursed in C++ until the
process crashed (a segmentation fault at 100,000 levels: found in the fourteenth session)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import trendcalc as tc
from trendcalc import jsontext

GOOD = '{"event": "e", "distinct_id": "a", "timestamp": "2024-01-01T00:00:00Z"}\n'


def deep(n: int) -> str:
    return '{"event": "e", "distinct_id": "b", "timestamp": "2024-01-01T00:00:00Z", "properties": {"x": ' + "[" * n + "]" * n + "}}\n"


@pytest.mark.parametrize(("text", "limit", "exceeds"), [
    ("[" * 600 + "]" * 600, 512, True),
    ("[" * 512 + "]" * 512, 512, False),
    ('"' + "[" * 600 + '"', 512, False),  # brackets inside a string
    ('["\\"' + "[" * 600 + '"]', 512, False),  # after an escaped quote, still inside the string
    ('{"a":' * 600 + "1" + "}" * 600, 512, True),
    ("[" * 100 + "]" * 100 + "[" * 100 + "]" * 100, 150, False),  # siblings, not nesting
])
def test_nesting_is_measured_outside_strings(text: str, limit: int, exceeds: bool) -> None:
    assert jsontext.nesting_exceeds(text, limit) is exceeds
    assert jsontext.nesting_exceeds(text.encode(), limit) is exceeds


def test_loads_refuses_deep_text_before_parsing() -> None:
    with pytest.raises(jsontext.TooDeep, match="nested too deeply"):
        jsontext.loads("[" * 100_000 + "]" * 100_000)
    assert jsontext.loads('["' + "[" * 100_000 + '"]') == ["[" * 100_000]
    assert isinstance(jsontext.TooDeep(), ValueError)


@pytest.mark.parametrize("gz", [False, True])
def test_a_deep_line_in_a_jsonl_file_is_an_input_error_not_a_crash(tmp_path: Path, gz: bool) -> None:
    """In a child process: a crash there is a failed test here, not a lost test run."""
    path = tmp_path / ("e.jsonl.gz" if gz else "e.jsonl")
    text = GOOD * 3 + deep(100_000)
    if gz:
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    code = textwrap.dedent(f"""
        import trendcalc as tc
        for run in (lambda: tc.EventStore.from_jsonl({str(path)!r}),
                    lambda: tc.partition({str(path)!r}, {str(tmp_path / "parts")!r}, partitions=2, overwrite=True)):
            try:
                run()
            except tc.InputRowError as exc:
                print(exc)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    for line in lines:
        assert line.startswith(f"{path}, line 4: $: invalid JSON: nested too deeply")


def test_brackets_in_strings_and_long_lines_still_read_as_columns(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    long = {"event": "e", "distinct_id": "c", "timestamp": "2024-01-02T00:00:00Z",
            "properties": {"x": "[" * 100_000, "tags": [[1, [2]], [3]], "pad": "y" * 10_000}}
    path.write_text(GOOD + json.dumps(long) + "\n")
    assert not jsontext.file_has_deep_line(path)
    store = tc.EventStore.from_jsonl(path)
    assert len(store) == 2 and store.column("x").dictionary.values == ("[" * 100_000,)


def test_deep_json_text_in_a_filter_field_is_a_validation_error() -> None:
    with pytest.raises(tc.ValidationError, match="nested deeper than max_json_depth") as err:
        tc.parse_filter({"events": "[" * 20_000 + "]" * 20_000})
    assert err.value.path == ("events",)
