"""The README documents every name the registries accept, so the reference cannot go stale."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from trendcalc.engine.actors import COLUMNS
from trendcalc.engine.math import MATHS
from trendcalc.query.actors_request import REQUEST_FIELDS
from trendcalc.query.displays import DISPLAYS
from trendcalc.query.legacy import ENTITY_KEYS, LEGACY_FIELDS
from trendcalc.query.operators import KNOWN_OPERATORS, OPERATORS

README = (Path(__file__).parent.parent / "README.md").read_text()
DOCUMENTED = set(re.findall(r"`([^`\s]+)`", README))


@pytest.mark.parametrize(
    "kind, names",
    [
        ("filter field", LEGACY_FIELDS),
        ("series field", ENTITY_KEYS),
        ("math", tuple(MATHS)),
        ("display", tuple(DISPLAYS)),
        ("operator", tuple(o for o in OPERATORS if o in KNOWN_OPERATORS)),
        ("actors column", tuple(COLUMNS)),
        ("actors request field", REQUEST_FIELDS),
    ],
)
def test_readme_documents_every_name(kind, names):
    missing = sorted(n for n in names if n not in DOCUMENTED and f'"{n}"' not in README)
    assert not missing, f"README does not document these {kind}s: {missing}"


def test_readme_opens_with_the_two_commands():
    head = README.splitlines()[:6]
    assert any("python -m trendcalc demo" in line for line in head)
    assert any("pytest" in line and ".[test]" in line for line in head)
