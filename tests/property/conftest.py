"""Hypothesis profiles for the property tests.

``ci`` (default): derandomized, fixed example counts (120 per test; focused tests take a smaller
``share``), no deadline; the whole directory runs in well under 3 minutes on 2 cores. ``long``:
many more random examples (3000 per test), for hunting bugs locally:
``TRENDCALC_HYPOTHESIS_PROFILE=long python -m pytest tests/property``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile("ci", derandomize=True, max_examples=120, deadline=None, suppress_health_check=_SUPPRESS,
                          print_blob=True)
settings.register_profile("long", max_examples=3000, deadline=None, suppress_health_check=_SUPPRESS, print_blob=True)
settings.register_profile("dev", max_examples=40, deadline=None, suppress_health_check=_SUPPRESS)
PROFILE = os.environ.get("TRENDCALC_HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)


def share(ci_examples: int) -> settings:
    """Settings for a focused test: ``ci_examples`` under the ci profile (its share of the
    directory's budget), the profile's own count under any other."""
    return settings(max_examples=ci_examples) if PROFILE == "ci" else settings()
