"""The docs cannot go stale: the reference in docs/ names every name the registries accept, the
README stays a short front door whose five-minute path runs as written on an export of past
events, every relative link resolves, and the docs' Python examples print what they say."""

from __future__ import annotations

import ast
import csv
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from trendcalc.engine.actors import COLUMNS
from trendcalc.engine.math import MATHS
from trendcalc.query.actors_request import REQUEST_FIELDS
from trendcalc.query.displays import DISPLAYS
from trendcalc.query.legacy import ENTITY_KEYS, LEGACY_FIELDS
from trendcalc.query.operators import KNOWN_OPERATORS, OPERATORS

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text()
MAX_README_LINES = 300

# Pages other helpers are writing on their own branches: README and docs/index.md link to them
# before they exist here. Remove a name once its page is merged.
PAGES_IN_FLIGHT: set[str] = set()


def documented(page: str) -> tuple[str, set[str]]:
    text = (DOCS / page).read_text()
    return text, set(re.findall(r"`([^`\s]+)`", text))


# --- the reference names every registered name --------------------------------------------------
@pytest.mark.parametrize(
    "page, kind, names",
    [
        ("reference.md", "filter field", LEGACY_FIELDS),
        ("reference.md", "series field", ENTITY_KEYS),
        ("reference.md", "math", tuple(MATHS)),
        ("reference.md", "display", tuple(DISPLAYS)),
        ("reference.md", "operator", tuple(o for o in OPERATORS if o in KNOWN_OPERATORS)),
        ("actors.md", "actors column", tuple(COLUMNS)),
        ("actors.md", "actors request field", REQUEST_FIELDS),
    ],
)
def test_reference_documents_every_name(page, kind, names):
    text, names_in_code = documented(page)
    assert names, f"the {kind} registry is empty"
    missing = sorted(n for n in names if n not in names_in_code and f'"{n}"' not in text)
    assert not missing, f"docs/{page} does not document these {kind}s: {missing}"


def test_security_md_documents_every_limit():
    import attrs

    import trendcalc as tc

    text = (ROOT / "SECURITY.md").read_text()
    missing = [f.name for f in attrs.fields(tc.Limits) if f"`{f.name}`" not in text]
    assert not missing, f"SECURITY.md's limits table misses {missing}"


# --- the README is a front door ----------------------------------------------------------------
def test_readme_is_short():
    n = len(README.splitlines())
    assert n <= MAX_README_LINES, f"README.md has {n} lines; keep it under {MAX_README_LINES} and move detail to docs/"


def test_readme_opens_with_the_two_commands():
    head = README.splitlines()[:6]  # .ci/run reads the test command from the first 8 lines
    assert any("python -m trendcalc demo" in line for line in head)
    assert any("pytest" in line and ".[test]" in line for line in head)


def test_readme_install_works_without_a_package_index():
    # The package is not on a public index: every pip line installs from a checkout or a wheel.
    pips = [line for line in README.splitlines() if re.search(r"\bpip install\b", line)]
    assert pips
    for line in pips:
        assert not re.search(r"pip install ['\"]?trendcalc\b", line), f"README installs from an index: {line.strip()}"
    assert any("pip install -e '.[" in line for line in pips) and any("dist/trendcalc-" in line for line in pips)


# --- links -------------------------------------------------------------------------------------
def _prose(text: str) -> str:
    """Markdown without fenced blocks and inline code (links inside code are not links)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"(`+).+?\1", "", text, flags=re.S)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"(`+)(.+?)\1", r"\2", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.S | re.M)
    return {_slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, flags=re.M)}


PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "SECURITY.md", *sorted(DOCS.glob("*.md"))]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    bad = []
    for target in re.findall(r"\]\(([^)\s]+)\)", _prose(page.read_text())):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        dest = (page.parent / file).resolve() if file else page
        if dest.name in PAGES_IN_FLIGHT and dest.parent == DOCS.resolve():
            continue
        if not dest.exists():
            bad.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            bad.append(f"{target}: no heading #{anchor} in {dest.name}")
    assert not bad, f"{page.name}: broken links: {bad}"


def test_docs_index_lists_every_page():
    index = (DOCS / "index.md").read_text()
    pages = {p.name for p in DOCS.glob("*.md")} - {"index.md"} | PAGES_IN_FLIGHT
    missing = sorted(p for p in pages if f"]({p})" not in index)
    assert not missing, f"docs/index.md does not link {missing}"


# --- code blocks run as written ----------------------------------------------------------------
def code_blocks(text: str, lang: str = "python") -> list[tuple[str, str | None]]:
    """(code, reason) per fenced block; ``reason`` is the text of a ``<!-- not run: ... -->``
    comment on the line before the fence (blocks that need the reader's own files)."""
    out = []
    for m in re.finditer(rf"^(?:<!-- not run: (.+?) -->\n)?```{lang}\n(.*?)^```", text, flags=re.S | re.M):
        out.append((m.group(2), m.group(1)))
    return out


def run_checking_outputs(code: str, namespace: dict) -> None:
    """exec ``code``; an expression statement followed by ``# <Python literal>`` comment lines
    must evaluate to that literal (the docs' examples say what they print)."""
    tree = ast.parse(code)
    lines = code.splitlines()
    for stmt in tree.body:
        module = ast.Module(body=[stmt], type_ignores=[])
        if not isinstance(stmt, ast.Expr):
            exec(compile(module, "<doc>", "exec"), namespace)
            continue
        value = eval(compile(ast.Expression(stmt.value), "<doc>", "eval"), namespace)
        comment = []
        for line in lines[stmt.end_lineno:]:
            if not line.startswith("#"):
                break
            comment.append(line[1:].strip())
        try:
            expected = ast.literal_eval(" ".join(comment))
        except (ValueError, SyntaxError):
            continue  # prose, not a printed value
        assert value == expected, f"{ast.unparse(stmt)} gives {value!r}, the docs say {expected!r}"


def five_minute_section() -> str:
    """The README's five-minute path: from its heading to the next one."""
    m = re.search(r"^## Five minutes.*?(?=^## )", README, flags=re.S | re.M)
    assert m, "the README has a '## Five minutes' section"
    return m.group(0)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_examples_run_and_print_what_they_say(page, tmp_path, monkeypatch):
    text = page.read_text()
    if page.name == "README.md":  # the five-minute path needs an export: its own test below
        text = text.replace(five_minute_section(), "")
    blocks = code_blocks(text)
    assert blocks or page.name not in ("README.md", "reference.md", "actors.md")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for code, reason in blocks:
        if reason is None:
            run_checking_outputs(code, namespace)


# --- the five-minute path, on an export of past events ------------------------------------------
PROPS = ("$browser", "$os", "$pathname")


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """A small export in every format the README names, with every event long in the past."""
    pd = pytest.importorskip("pandas")
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from trendcalc.demo import demo_records

    events, _ = demo_records(n_persons=60)
    rows = [[e["event"], e["distinct_id"], e["timestamp"], *(e["properties"].get(k, "") for k in PROPS)] for e in events]
    header = ["event", "distinct_id", "timestamp", *PROPS]
    root = tmp_path_factory.mktemp("export")
    with open(root / "events.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    with open(root / "events.jsonl", "w") as fh:
        for e in events:
            props = {k: e["properties"][k] for k in PROPS if k in e["properties"]}
            fh.write(json.dumps({"event": e["event"], "distinct_id": e["distinct_id"], "timestamp": e["timestamp"],
                                 "properties": props}) + "\n")
    df = pd.DataFrame(rows, columns=header).replace({"": None})
    columns = {k: [r[i] for r in rows] for i, k in enumerate(header)}
    pq.write_table(pa.table({k if k in header[:3] else f"properties.{k}": [v or None for v in vals]
                             for k, vals in columns.items()}), root / "events.parquet")
    return root, df


def five_minute_variants() -> list[str]:
    """The README's Python, once per input format its commented alternatives name."""
    code = "\n".join(c for c, _ in code_blocks(five_minute_section()))
    first = re.search(r"^store = tc\.EventStore\.from_\w+\(.*\)$", code, flags=re.M)
    assert first, "the README's five-minute path does not build a store"
    others = re.findall(r"^# (store = tc\.EventStore\.from_\w+\(.*?\))", code, flags=re.M)
    assert len(others) >= 3, "the README names CSV, JSON lines, Parquet and DataFrame input"
    return [code] + [code.replace(first.group(0), alt, 1) for alt in others]


def test_readme_five_minute_path_runs_on_old_data(export, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    import datetime as dt

    root, df = export
    monkeypatch.chdir(root)
    answers = {}
    for fmt, code in zip(("csv", "jsonl", "parquet", "dataframe"), five_minute_variants()):
        (root / "first_chart.png").unlink(missing_ok=True)
        namespace: dict = {"df": df}
        exec(compile(code, "README.md", "exec"), namespace)
        out = capsys.readouterr().out

        assert namespace["last"] < dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=365), "old data"
        result = namespace["result"]  # the pinned-now query, by browser: not a row of zeros
        assert {s["breakdown_value"] for s in result} >= {"Chrome", "Safari"}, fmt
        assert sum(s["count"] for s in result) > 0 and "Chrome" in out, fmt
        assert sum(s["count"] for s in namespace["weekly"]) > 0, fmt  # the absolute-dates query
        assert (root / "first_chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", fmt
        answers[fmt] = (result.to_dicts(), namespace["weekly"].to_dicts())
    assert all(a == answers["csv"] for a in answers.values()), "every input format gives the same answer"


def test_readme_shell_query_runs_on_old_data(export, tmp_path):
    pytest.importorskip("matplotlib")
    root, _ = export
    blocks = [c for c, _ in code_blocks(five_minute_section(), "bash") if c.startswith("trendcalc query")]
    assert blocks, "the README shows the five-minute path from a shell"
    args = shlex.split(blocks[0].replace("\\\n", " "))
    args = [str(tmp_path / "chart.png") if a == "first_chart.png" else a for a in args]
    proc = subprocess.run([sys.executable, "-m", "trendcalc", *args[1:]], cwd=root, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "MPLBACKEND": "Agg"})
    assert proc.returncode == 0, proc.stderr
    total = int(proc.stdout.splitlines()[2].split()[-1])  # after the summary line and the header
    assert total > 0
    assert (tmp_path / "chart.png").read_bytes()[:4] == b"\x89PNG"
