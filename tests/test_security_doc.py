"""SECURITY.md's promises name the tests that check them: every test it names must exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "SECURITY.md").read_text()


def named_tests() -> list[tuple[str, str]]:
    """(file, test) pairs: ``tests/x.py::test_a`` and the ``::test_b`` that follow it in the same
    paragraph, plus the limits table's last column (tests in tests/test_limits.py)."""
    out = []
    for para in TEXT.split("\n\n"):
        current = None
        for m in re.finditer(r"`(tests/[\w/]+\.py)(?:::(test_\w+))?`|`::(test_\w+)`", para):
            path, first, test = m.groups()
            if path:
                current = path
            if first or test:
                assert current, f"::{test} without a file before it in {para[:80]!r}"
                out.append((current, first or test))
    for line in TEXT.splitlines():
        if line.startswith("| `max_"):
            out += [("tests/test_limits.py", t) for t in re.findall(r"`(test_\w+)`", line.split("|")[-2])]
    return out


def test_security_md_names_tests_that_exist() -> None:
    pairs = named_tests()
    assert len(pairs) > 60
    for path, test in pairs:
        source = (ROOT / path).read_text()
        assert re.search(rf"^def {test}\(", source, re.M), f"SECURITY.md names {path}::{test}, which does not exist"


def test_every_section_names_a_check() -> None:
    sections = re.split(r"^### ", TEXT.split("## What trendcalc does not guarantee")[0], flags=re.M)[1:]
    assert len(sections) >= 11
    for section in sections:
        assert "Checked by" in section or "test_" in section, f"section {section.splitlines()[0]!r} names no test"
