"""Hypothesis profiles for the property tests.

``ci`` (default): derandomized, fixed example counts, no deadline; the whole directory runs in
well under 3 minutes on 2 cores (about 90 s of CPU). ``long``: many more random examples, for hunting bugs locally:
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
settings.load_profile(os.environ.get("TRENDCALC_HYPOTHESIS_PROFILE", "ci"))
