"""trendcalc's own Python ``re`` patterns must not backtrack super-linearly on crafted text.

User-supplied patterns run on RE2 (tests/filters/test_regex.py); this guards the fixed patterns
in the package that Python's backtracking ``re`` runs over data. Each pattern is searched in
adversarial strings of 100,000 characters under a hang guard: a linear pattern takes
milliseconds, a quadratic one minutes. (Not a timing assertion: the margin is ~1000×.)"""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import trendcalc

from .fuzz.support import hang_guard

# Patterns that only ever see short, bounded text: name -> the bound that makes them safe.
BOUNDED = {
    "trendcalc.engine.timeaxis._RELATIVE": "date strings are at most 64 characters (parse._date, compare_to)",
    "trendcalc.formula.parser._BAD_NUMBER": "formula text is at most max_formula_length characters",
    "trendcalc.query.dates.RELATIVE_DATE": "date strings are at most 64 characters (query.legacy._date), fullmatch only",
}
# Patterns the package only ever uses with .match (anchored at the start): only that is checked.
MATCH_ONLY = {
    "trendcalc.query.selectors._PART": "parse_selector: _PART.match(token)",
}
UNITS = ["a", "1", " ", ".", ":", "-", "_", "=", '"', "[", "\\", ";", "/", "%", "1.", "a:", '="', ":a", "a=", "1e",
         "+1", "T0", "0:", '\\"', "aa.", "v1.", "#a", "a#", "0", "ab"]  # fmt: skip
TAILS = ["", "!", "\x00", "\n"]


def _patterns() -> dict[str, re.Pattern]:
    found = {}
    for info in pkgutil.walk_packages(trendcalc.__path__, "trendcalc."):
        if info.name.startswith("trendcalc.testing"):  # the test kit's row-at-a-time reference: an oracle, never on a query path
            continue
        try:
            mod = importlib.import_module(info.name)
        except ImportError:  # optional extras (matplotlib, ...)
            continue
        for name, value in vars(mod).items():
            if isinstance(value, re.Pattern):
                found[f"{info.name}.{name}"] = value
    return found


PATTERNS = _patterns()


def test_found_the_patterns() -> None:
    assert len(PATTERNS) >= 10
    assert set(BOUNDED) | set(MATCH_ONLY) <= set(PATTERNS), "stale entries"


@pytest.mark.parametrize("name", sorted(set(PATTERNS) - set(BOUNDED)))
def test_fixed_pattern_is_linear_on_crafted_text(name: str) -> None:
    pattern = PATTERNS[name]
    with hang_guard(30):
        for unit in UNITS:
            for tail in TAILS:
                text: str | bytes = unit * (100_000 // len(unit)) + tail
                if isinstance(pattern.pattern, bytes):  # (a bytes pattern scans bytes: jsontext._ESCAPE)
                    text = text.encode()
                pattern.match(text)
                if name in MATCH_ONLY:
                    continue
                pattern.search(text)
                for _ in pattern.finditer(text):
                    pass
