"""The layer rules of docs/architecture.md, read from the source's import statements.

- ``trendcalc.query`` imports neither ``trendcalc.engine`` nor ``trendcalc.store``;
- ``trendcalc.store`` knows no queries (no ``query``, ``engine``, ``api``, ``results``);
- ``trendcalc.formula`` and ``trendcalc.hogql`` (the parsers) import no engine;
- the reference engine (``trendcalc.testing.reference*``) imports no engine, store or api;
- no import cycles anywhere in ``src/trendcalc`` (imports under ``TYPE_CHECKING`` aside).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PKG = SRC / "trendcalc"


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def import_graph() -> dict[str, set[str]]:
    """module → the trendcalc modules it imports (lazy imports inside functions included)."""
    files = {_module(p): p for p in PKG.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        tree = ast.parse(path.read_text())
        skip = _type_checking_lines(tree)
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skip:
                continue
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                submodules = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in files]
                # ``from pkg import module`` needs the module, not the package's own code (a
                # parent package is always initialised first, whoever imports what)
                if len(submodules) < len(node.names):
                    targets.append(target)
                targets += submodules
            elif isinstance(node, ast.Import):
                targets += [a.name for a in node.names]
            for t in targets:
                if t in files and t != mod:
                    graph[mod].add(t)
    return graph


GRAPH = import_graph()


def _under(mod: str, *prefixes: str) -> bool:
    return any(mod == p or mod.startswith(p + ".") for p in prefixes)


RULES = [
    ("trendcalc.query", ("trendcalc.engine", "trendcalc.store", "trendcalc.api", "trendcalc.results")),
    ("trendcalc.store", ("trendcalc.query", "trendcalc.engine", "trendcalc.api", "trendcalc.results", "trendcalc.project")),
    ("trendcalc.formula", ("trendcalc.engine", "trendcalc.store", "trendcalc.api")),
    ("trendcalc.hogql", ("trendcalc.engine", "trendcalc.api")),
    ("trendcalc.testing.reference", ("trendcalc.engine", "trendcalc.store", "trendcalc.api")),
]


@pytest.mark.parametrize(("layer", "forbidden"), RULES, ids=[r[0] for r in RULES])
def test_layer_rules(layer: str, forbidden: tuple[str, ...]) -> None:
    bad = sorted(
        f"{m} imports {t}"
        for m, ts in GRAPH.items()
        if _under(m, layer) or (layer == "trendcalc.testing.reference" and m.startswith(layer))
        for t in ts
        if _under(t, *forbidden)
    )
    assert not bad, bad


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    comp.append(m)
                    if m == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_no_import_cycles() -> None:
    assert _cycles(GRAPH) == []


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_source_file_is_over_600_lines() -> None:
    long = sorted(f"{p.relative_to(SRC)}: {n}" for p in PKG.rglob("*.py") if (n := len(p.read_text().splitlines())) > 600)
    assert not long, long
