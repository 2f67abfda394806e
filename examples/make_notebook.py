"""Generate ``quickstart.ipynb`` from the percent-format ``quickstart.py`` (no dependencies).

    python examples/make_notebook.py          # rewrite the notebook
    python examples/make_notebook.py --check  # exit 1 when the notebook is out of date (CI)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).parent


def cells(source: str) -> list[dict]:
    """Split ``# %%`` / ``# %% [markdown]`` blocks into notebook cells."""
    out: list[dict] = []
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
    return out


def _join(lines: list[str]) -> list[str]:
    return [line + "\n" for line in lines[:-1]] + lines[-1:]


def notebook(script: Path) -> str:
    nb = {
        "cells": cells(script.read_text()),
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    for i, cell in enumerate(nb["cells"]):
        cell["id"] = f"cell-{i}"
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = notebook(HERE / "quickstart.py")
    target = HERE / "quickstart.ipynb"
    if "--check" in argv:
        ok = target.exists() and target.read_text() == text
        print("quickstart.ipynb is up to date" if ok else "quickstart.ipynb is stale: run python examples/make_notebook.py")
        return 0 if ok else 1
    target.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
