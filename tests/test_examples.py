"""The example notebook runs (as its percent-format script) and the .ipynb matches the script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"


def test_quickstart_runs(tmp_path):
    pytest.importorskip("pandas")
    pytest.importorskip("matplotlib")
    import trendcalc

    src = str(Path(trendcalc.__file__).resolve().parent.parent)  # this trendcalc, whatever the cwd
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, str(EXAMPLES / "quickstart.py")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "unique users, last 30 days: 366" in proc.stdout
    for png in ("dau.png", "weekly.png", "users.png"):
        data = (tmp_path / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000
    assert (tmp_path / "store" / "manifest.json").exists()


def test_notebook_is_generated_from_the_script():
    proc = subprocess.run([sys.executable, str(EXAMPLES / "make_notebook.py"), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
