"""The reference oracle stays independent of what it checks.

``trendcalc.testing.reference*`` may import the query layer (the filter model and its parsers,
the formula and HogQL parsers), ``errors``, ``limits`` and ``project`` — never the engine, the
store or ``trendcalc.api``: an oracle that shared their code would agree with their bugs. The
rule is read from the source with ``ast`` (every import statement, including those inside
functions and under ``TYPE_CHECKING``), so it holds whatever happens to be imported at run time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import trendcalc.testing

TESTING = Path(trendcalc.testing.__file__).parent
REFERENCE_FILES = sorted([*TESTING.glob("reference*.py"), *(TESTING / "reference").glob("*.py")])
FORBIDDEN = ("trendcalc.engine", "trendcalc.store", "trendcalc.api")
# what it may use of trendcalc: the pure query layer (model, parsers, vocabulary), the formula
# and HogQL parsers, errors, limits, project, and itself
ALLOWED = ("trendcalc.query", "trendcalc.formula.ast", "trendcalc.hogql.ast", "trendcalc.hogql.parser",
           "trendcalc.errors", "trendcalc.limits", "trendcalc.project", "trendcalc.testing.reference")
MAX_LINES = 600


def module_name(path: Path) -> str:
    parts = path.relative_to(TESTING.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``, the source of ``module``,
    relative imports resolved; ``from X import y`` also lists ``X.y`` (it may be a module)."""
    package = module if is_package else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append((node.lineno, target))
            out += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return out


def imported_modules(path: Path) -> list[tuple[int, str]]:
    return imports_of(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")


def forbidden(names: list[tuple[int, str]]) -> list[tuple[int, str]]:
    return [(line, name) for line, name in names if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)]


def test_the_reference_files_are_found() -> None:
    names = {module_name(p) for p in REFERENCE_FILES}
    assert "trendcalc.testing.reference" in names
    assert "trendcalc.testing.reference.trends" in names
    assert "trendcalc.testing.reference.hogql" in names
    assert "trendcalc.testing.reference_hogql" in names


@pytest.mark.parametrize("path", REFERENCE_FILES, ids=lambda p: module_name(p))
def test_the_reference_imports_no_engine_store_or_api(path: Path) -> None:
    assert forbidden(imported_modules(path)) == [], path.name


def outside_allowed(names: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """trendcalc modules not in ALLOWED (a bare package such as ``trendcalc`` in ``from trendcalc
    import x`` is judged by ``trendcalc.x``, listed next to it)."""
    def ok(name: str) -> bool:
        return (not name.startswith("trendcalc") or any(name == a or name.startswith(a + ".") for a in ALLOWED)
                or any(a.startswith(name + ".") for a in ALLOWED))
    return [(line, name) for line, name in names if not ok(name)]


@pytest.mark.parametrize("path", REFERENCE_FILES, ids=lambda p: module_name(p))
def test_the_reference_imports_only_the_query_layer(path: Path) -> None:
    assert outside_allowed(imported_modules(path)) == [], path.name


@pytest.mark.parametrize("path", REFERENCE_FILES, ids=lambda p: module_name(p))
def test_reference_modules_stay_small(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES


def test_the_reference_package_has_no_import_cycle() -> None:
    """Modules of the package import each other in one direction only (a layered DAG)."""
    package = "trendcalc.testing.reference"
    files = [p for p in REFERENCE_FILES if module_name(p).startswith(package + ".")]
    own = {module_name(p) for p in files}
    graph = {module_name(p): {n for _, n in imported_modules(p) if n in own} - {module_name(p)} for p in files}
    done: set[str] = set()

    def visit(node: str, stack: tuple[str, ...]) -> None:
        assert node not in stack, "import cycle: " + " → ".join(stack[stack.index(node):] + (node,))
        if node in done:
            return
        for nxt in sorted(graph[node]):
            visit(nxt, stack + (node,))
        done.add(node)

    for node in sorted(graph):
        visit(node, ())
    assert len(done) == len(own) >= 15


def test_the_check_sees_a_forbidden_import() -> None:
    """Relative imports resolve, inside functions too, so the checks above cannot pass vacuously."""
    source = ("import json\nfrom .world import World\n\n\ndef f():\n    from ...engine.trends import run_trends\n"
              "    from ... import api\n    import trendcalc.store.cityhash\n")
    names = imports_of(source, "trendcalc.testing.reference.fake")
    assert ("trendcalc.testing.reference.world" in {n for _, n in names})
    assert forbidden(names) == [(6, "trendcalc.engine.trends"), (6, "trendcalc.engine.trends.run_trends"),
                                (7, "trendcalc.api"), (8, "trendcalc.store.cityhash")]
    assert outside_allowed(names) == forbidden(names)
    assert outside_allowed(imports_of("from trendcalc import results\nimport trendcalc.timeutil\n", "x.y")) == [
        (1, "trendcalc.results"), (2, "trendcalc.timeutil")]
