"""Every conformance case through the public API; the ones that do not pass yet are listed in
``expected_failures.py`` with a reason (strict: a case that starts passing must leave the list)."""

from __future__ import annotations

import pytest

from .expected_failures import EXPECTED_FAILURES
from .harness import load_cases, load_extra_cases, verify

CASES = load_cases() + load_extra_cases()


def _param(case):
    reason = EXPECTED_FAILURES.get(case["id"])
    marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
    return pytest.param(case, id=case["id"], marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_case(case):
    verify(case)


def test_expected_failures_name_real_cases():
    ids = {c["id"] for c in CASES}
    assert set(EXPECTED_FAILURES) <= ids, sorted(set(EXPECTED_FAILURES) - ids)
