"""Build ``quickstart.ipynb`` from the percent-format ``quickstart.py``, with its outputs.

    python examples/build_notebook.py          # run the cells, rewrite the notebook
    python examples/build_notebook.py --check  # exit 1 when the committed notebook is out of date

The notebook is committed *with* outputs so that it reads well where it is browsed (GitHub, a
file viewer), and those outputs must be the ones the code gives today. So this script is its own
small kernel: it executes the code cells in order in one namespace, in a scratch directory,
with plain ``exec``, and records what Jupyter would show — printed text (stdout, stderr, warnings
as ``Category: message``), and the value of a cell's last expression as ``text/plain``, plus
``text/html`` from ``_repr_html_`` and ``image/png`` from ``_repr_png_`` or a matplotlib Figure
(drawn by the Agg backend). The notebook JSON (nbformat 4.5) is written with ``json``: no
Jupyter package is needed. Outputs are deterministic: the example pins ``now=``, cells are
numbered 1, 2, ..., and nothing records a time or a path.

PNG bytes depend on the matplotlib (and FreeType) version that drew them, so ``--check`` compares
images byte for byte only when the installed matplotlib is the one recorded in the notebook's
metadata; otherwise it checks that each image is a PNG of the same size. Every other output is
compared exactly.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import io
import json
import os
import struct
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
SCRIPT = HERE / "quickstart.py"
NOTEBOOK = HERE / "quickstart.ipynb"


# --- cells from the percent-format script -------------------------------------------------------
def cells(source: str) -> list[dict[str, Any]]:
    """Split ``# %%`` / ``# %% [markdown]`` blocks into notebook cells (without outputs)."""
    out: list[dict[str, Any]] = []
    for block in source.split("# %%")[1:]:
        head, _, body = block.partition("\n")
        lines = body.strip("\n").splitlines()
        if head.strip() == "[markdown]":
            text = [line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines]
            out.append({"cell_type": "markdown", "metadata": {}, "source": _join(text)})
        else:
            lines = [line.replace("# noqa: B018 - ", "# ") for line in lines]  # lint hints stay in the .py
            out.append({"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                        "source": _join(lines)})
    for i, cell in enumerate(out):
        cell["id"] = f"cell-{i}"
    return out


def _join(lines: list[str]) -> list[str]:
    """nbformat's multi-line string: a list of lines, each but the last ending in a newline."""
    return [line + "\n" for line in lines[:-1]] + lines[-1:]


def _lines(text: str) -> list[str]:
    """Output text as nbformat stores it: lines keeping their newline, no empty last line."""
    parts = text.split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


# --- a minimal kernel ---------------------------------------------------------------------------
def _png(value: Any) -> bytes | None:
    """PNG bytes of a displayable value: its ``_repr_png_``, or a matplotlib Figure drawn by Agg."""
    if hasattr(value, "_repr_png_"):
        data = value._repr_png_()
        return data if isinstance(data, bytes) else None
    if "matplotlib.figure" in sys.modules and isinstance(value, sys.modules["matplotlib.figure"].Figure):
        buf = io.BytesIO()
        value.savefig(buf, format="png")
        return buf.getvalue()
    return None


def display_data(value: Any) -> dict[str, Any]:
    """The mime bundle Jupyter would show for a cell's last value."""
    data: dict[str, Any] = {}
    html = getattr(value, "_repr_html_", None)
    if callable(html) and isinstance(text := html(), str):
        data["text/html"] = _lines(text)
    png = _png(value)
    if png is not None:
        data["image/png"] = base64.b64encode(png).decode("ascii")
    data["text/plain"] = _lines(repr(value))
    return data


def run_cell(code: str, namespace: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """Execute one cell; its outputs in Jupyter's order (streams, then the result)."""
    tree = ast.parse(code)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    out, err = io.StringIO(), io.StringIO()

    def show(message: Any, category: type, *args: Any, **kwargs: Any) -> None:
        err.write(f"{category.__name__}: {message}\n")  # no file path or line: deterministic

    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = show
        exec(compile(tree, f"<cell {count}>", "exec"), namespace)
        value = eval(compile(ast.Expression(last.value), f"<cell {count}>", "eval"), namespace) if last else None
    outputs: list[dict[str, Any]] = []
    for name, stream in (("stdout", out), ("stderr", err)):
        if stream.getvalue():
            outputs.append({"name": name, "output_type": "stream", "text": _lines(stream.getvalue())})
    if value is not None:
        outputs.append({"data": display_data(value), "execution_count": count, "metadata": {},
                        "output_type": "execute_result"})
    return outputs


def build() -> str:
    """The notebook's JSON text: cells from the script, executed in a scratch directory."""
    os.environ["MPLBACKEND"] = "Agg"
    nb_cells = cells(SCRIPT.read_text())
    namespace: dict[str, Any] = {"__name__": "__main__"}
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        try:
            count = 0
            for cell in nb_cells:
                if cell["cell_type"] == "code":
                    count += 1
                    cell["execution_count"] = count
                    cell["outputs"] = run_cell("".join(cell["source"]), namespace, count)
        finally:
            os.chdir(cwd)
    import matplotlib

    nb = {
        "cells": nb_cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
            "trendcalc": {"built_by": "examples/build_notebook.py", "matplotlib": matplotlib.__version__},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


# --- checking ------------------------------------------------------------------------------------
def _png_size(b64: str) -> tuple[int, int] | None:
    data = base64.b64decode(b64)
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def differences(committed: str, fresh: str) -> list[str]:
    """Where the committed notebook differs from a fresh build (empty: up to date)."""
    if committed == fresh:
        return []
    old, new = json.loads(committed), json.loads(fresh)
    same_mpl = old["metadata"].get("trendcalc", {}).get("matplotlib") == new["metadata"]["trendcalc"]["matplotlib"]
    diffs = []
    if [c["source"] for c in old["cells"]] != [c["source"] for c in new["cells"]]:
        return ["the cells' source differs from examples/quickstart.py"]
    for i, (a, b) in enumerate(zip(old["cells"], new["cells"])):
        if a == b:
            continue
        if not same_mpl and a.get("outputs") and b.get("outputs") and len(a["outputs"]) == len(b["outputs"]):
            a, b = json.loads(json.dumps(a)), json.loads(json.dumps(b))
            for oa, ob in zip(a["outputs"], b["outputs"]):
                for o in (oa, ob):
                    if "image/png" in o.get("data", {}):
                        o["data"]["image/png"] = _png_size(o["data"]["image/png"])
            if a == b:
                continue  # only the pixels differ, drawn by another matplotlib
        diffs.append(f"cell {i} ({a['cell_type']}): outputs differ")
    if old["metadata"] != new["metadata"] and same_mpl:
        diffs.append("notebook metadata differs")
    return diffs


def main(argv: list[str]) -> int:
    text = build()
    if "--check" in argv:
        diffs = differences(NOTEBOOK.read_text(), text) if NOTEBOOK.exists() else ["quickstart.ipynb is missing"]
        if diffs:
            print("quickstart.ipynb is stale (run python examples/build_notebook.py):\n  " + "\n  ".join(diffs))
            return 1
        print("quickstart.ipynb is up to date")
        return 0
    NOTEBOOK.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
