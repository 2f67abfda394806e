"""engine/allocator.py: the malloc thresholds are set once, and not against the process's choice."""

from __future__ import annotations

import subprocess
import sys

import pytest

from trendcalc.engine import allocator


@pytest.mark.parametrize(("env", "wanted"), [
    ({}, sys.platform.startswith("linux")),
    ({"TRENDCALC_MALLOC_TUNE": "0"}, False),
    ({"TRENDCALC_MALLOC_TUNE": "off"}, False),
    ({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1"}, False),
    ({"MALLOC_ARENA_MAX": "2"}, False),
])
def test_wanted_follows_the_environment(monkeypatch, env, wanted):
    for key in ("TRENDCALC_MALLOC_TUNE", "GLIBC_TUNABLES", "MALLOC_ARENA_MAX"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert allocator._wanted() is wanted


def test_tune_runs_once_and_queries_still_answer():
    code = (
        "import trendcalc as tc; from trendcalc.engine import allocator;"
        "s = tc.EventStore.from_records([{'event': 'a', 'distinct_id': 'x', 'timestamp': '2024-01-01T00:00:00Z'}]);"
        "r = tc.trends(s, {'events': [{'id': 'a'}], 'date_from': '2023-12-31', 'date_to': '2024-01-01'});"
        "print(allocator._done, allocator.tune() == allocator._applied, r.series[0].data)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "True" and out[1] == "True"
    assert out[2:] == ["[0,", "1]"]
