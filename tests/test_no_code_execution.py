"""No code execution: an AST lint over src/trendcalc.

Formula text, property keys and values, and stored data must never reach a code-evaluating or
format-string-interpreting construct. Rather than trace data flow, the constructs are banned
outright; the few legitimate uses are listed in ALLOWED with the reason (a stale entry fails too).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "trendcalc"

BANNED_CALLS = {"eval", "exec", "compile", "__import__", "breakpoint", "input", "globals", "locals", "vars"}
BANNED_MODULES = {"pickle", "cPickle", "marshal", "shelve", "dill", "cloudpickle", "joblib", "subprocess", "ctypes",
                  "code", "codeop", "yaml", "pty", "runpy", "importlib"}  # fmt: skip
BANNED_ATTR_CALLS = {("os", "system"), ("os", "popen"), ("os", "execv"), ("os", "execvp"), ("os", "spawnv"),
                     ("string", "Template"), ("operator", "attrgetter"), ("operator", "methodcaller")}  # fmt: skip
FORMAT_METHODS = {"format", "format_map"}
ATTRIBUTE_BY_NAME = {"getattr", "setattr", "delattr", "hasattr"}

# (file relative to src/trendcalc, enclosing function, rule) -> why it is safe
ALLOWED: dict[tuple[str, str, str], str] = {
    ("store/eventstore.py", "_need", "call:__import__"): "imports 'pandas'/'polars': module names are literals at every call site",
    ("_frames.py", "_need", "call:__import__"): "imports 'pandas'/'polars': module names are literals at every call site",
    ("store/persist.py", "__getattr__", "getattr:dynamic"): "LazyArray forwards ndarray attribute reads (names from Python code, not data)",
    ("engine/property_types.py", "__getattr__", "getattr:dynamic"): "TypedProject forwards Project attribute reads (names from Python code, not data)",
    ("query/parse.py", "<module>", "import:marshal"): "marshal.dumps only, of a plain-JSON filter dict, as a cache key; nothing is ever loaded",
    ("partition/stream.py", "release_memory", "import:ctypes"): "calls glibc's malloc_trim(0) with a literal argument between partitioning phases",
    ("partition/stream.py", "release_memory", "import:ctypes.util"): "find_library('c'): the C library's name, a literal",
    ("partition/messages.py", "<module>", "import:pickle"): "the warm pool's messages between this library's own processes over their private pipes (multiprocessing's Connection pickles the rest of each message the same way); never bytes from a file, a user or the network",
}


def _findings() -> list[tuple[str, str, str, int]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        tree = ast.parse(path.read_text(), filename=str(path))
        for func, node in _walk(tree, "<module>"):
            for rule in _rules(node):
                out.append((rel, func, rule, getattr(node, "lineno", 0)))
    return out


def _walk(node: ast.AST, func: str):
    for child in ast.iter_child_nodes(node):
        name = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else func
        yield name, child
        yield from _walk(child, name)


def _rules(node: ast.AST) -> list[str]:
    rules = []
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        for n in names:
            if n.split(".")[0] in BANNED_MODULES:
                rules.append(f"import:{n}")
    if not isinstance(node, ast.Call):
        return rules
    f = node.func
    if isinstance(f, ast.Name) and f.id in BANNED_CALLS:
        rules.append(f"call:{f.id}")
    if isinstance(f, ast.Attribute):
        if isinstance(f.value, ast.Name) and (f.value.id, f.attr) in BANNED_ATTR_CALLS:
            rules.append(f"call:{f.value.id}.{f.attr}")
        # "...".format(x) is fine; some_variable.format(...) could be a user-written format string
        if f.attr in FORMAT_METHODS and not (isinstance(f.value, ast.Constant) and isinstance(f.value.value, str)):
            rules.append(f"format:{f.attr}")
        # np.load(..., allow_pickle=True) unpickles; only a literal False is accepted
        if f.attr == "load":
            for kw in node.keywords:
                if kw.arg == "allow_pickle" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    rules.append("load:allow_pickle")
    if isinstance(f, ast.Name) and f.id in ATTRIBUTE_BY_NAME and len(node.args) >= 2:
        if not (isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
            rules.append(f"{f.id}:dynamic")
    return rules


def test_no_code_execution_constructs_in_the_package() -> None:
    findings = _findings()
    bad = [f for f in findings if f[:3] not in ALLOWED]
    assert not bad, "code-executing or format-string constructs:\n" + "\n".join(
        f"  {rel}:{line} in {func}: {rule}" for rel, func, rule, line in bad
    )
    used = {f[:3] for f in findings}
    stale = [k for k in ALLOWED if k not in used]
    assert not stale, f"ALLOWED entries no longer needed: {stale}"


def test_the_lint_catches_what_it_bans() -> None:
    sample = ast.parse(
        "import pickle\n"
        "def f(user):\n"
        "    eval(user); exec(user); compile(user, 'x', 'eval'); __import__(user)\n"
        "    user.format(x=1); '{}'.format(user); getattr(obj, user); getattr(obj, 'name')\n"
        "    np.load(p, allow_pickle=True); np.load(p, allow_pickle=False); os.system(user)\n"
    )
    rules = [r for _, node in _walk(sample, "<module>") for r in _rules(node)]
    assert sorted(rules) == sorted([
        "import:pickle", "call:eval", "call:exec", "call:compile", "call:__import__", "format:format",
        "getattr:dynamic", "load:allow_pickle", "call:os.system",
    ])  # fmt: skip


def test_the_formula_parser_does_not_use_python_parsing() -> None:
    """PostHog runs formulas through ast.parse; trendcalc's parser is hand-written."""
    text = (SRC / "formula" / "parser.py").read_text()
    tree = ast.parse(text)
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not imported & {"ast", "tokenize", "parser", "symtable", "numexpr", "sympy"}
