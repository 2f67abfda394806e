"""The example notebook runs (as its percent-format script), and the committed .ipynb holds the
cells of that script with the outputs they give today (examples/build_notebook.py)."""

from __future__ import annotations

import base64
import importlib.util
import json
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


def _env() -> dict[str, str]:
    import trendcalc

    src = str(Path(trendcalc.__file__).resolve().parent.parent)  # this trendcalc, whatever the cwd
    return {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}


def test_notebook_is_built_from_the_script_with_current_outputs():
    pytest.importorskip("pandas")
    pytest.importorskip("matplotlib")
    proc = subprocess.run([sys.executable, str(EXAMPLES / "build_notebook.py"), "--check"], capture_output=True,
                          text=True, timeout=300, env=_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_committed_notebook_shows_its_outputs():
    nb = json.loads((EXAMPLES / "quickstart.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert [c["execution_count"] for c in code] == list(range(1, len(code) + 1))
    outputs = [o for c in code for o in c["outputs"]]
    text = "".join("".join(o.get("text", [])) + "".join(o.get("data", {}).get("text/plain", [])) for o in outputs)
    assert "unique users, last 30 days: 366" in text
    assert any("<table" in "".join(o.get("data", {}).get("text/html", [])) for o in outputs)
    pngs = [base64.b64decode(o["data"]["image/png"]) for o in outputs if "image/png" in o.get("data", {})]
    assert pngs and all(p[:8] == b"\x89PNG\r\n\x1a\n" and len(p) > 5_000 for p in pngs)
    assert "/tmp" not in json.dumps(nb) and "Traceback" not in json.dumps(nb)  # no paths, no errors


def _builder():
    spec = importlib.util.spec_from_file_location("build_notebook", EXAMPLES / "build_notebook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_notebook_kernel_records_what_jupyter_shows():
    b = _builder()

    class Shown:
        def _repr_html_(self):
            return "<b>x</b>"

        def __repr__(self):
            return "Shown()"

    ns = {"Shown": Shown}
    code = "import warnings\nprint('hi')\nwarnings.warn('careful')\nShown()"
    assert b.run_cell(code, ns, 3) == [
        {"name": "stdout", "output_type": "stream", "text": ["hi\n"]},
        {"name": "stderr", "output_type": "stream", "text": ["UserWarning: careful\n"]},
        {"data": {"text/html": ["<b>x</b>"], "text/plain": ["Shown()"]}, "execution_count": 3, "metadata": {},
         "output_type": "execute_result"},
    ]
    assert b.run_cell("x = 1", ns, 4) == []  # an assignment shows nothing
    assert b.run_cell("None", ns, 5) == []


def test_notebook_check_reports_a_stale_output():
    b = _builder()
    nb = {"cells": [{"cell_type": "code", "source": ["1"], "outputs": [{"text": ["1\n"]}]}],
          "metadata": {"trendcalc": {"matplotlib": "x"}}}
    stale = json.loads(json.dumps(nb))
    stale["cells"][0]["outputs"][0]["text"] = ["2\n"]
    assert b.differences(json.dumps(nb), json.dumps(nb)) == []
    assert b.differences(json.dumps(stale), json.dumps(nb)) == ["cell 0 (code): outputs differ"]
