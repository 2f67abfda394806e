"""Fuzzing support: profiles, the "only ValidationError" check with a hang guard, result checks.

Profiles (environment variable ``TRENDCALC_FUZZ_PROFILE``):

- ``ci`` (default): derandomized, every fuzz test runs its CI example count (> 10,000 in total);
- ``long``: random seeds and 25× the examples, for a nightly or local soak run.

Each test asks for ``fuzz_settings(n)`` with its CI count; the profile scales it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

from hypothesis import HealthCheck, settings

import trendcalc as tc

PROFILE = os.environ.get("TRENDCALC_FUZZ_PROFILE", "ci").strip().lower() or "ci"
if PROFILE not in ("ci", "long"):
    raise RuntimeError(f"TRENDCALC_FUZZ_PROFILE must be 'ci' or 'long', got {PROFILE!r}")
SCALE = 25 if PROFILE == "long" else 1
HANG_SECONDS = 30.0  # one example taking longer than this is reported as a hang

_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
           HealthCheck.large_base_example, HealthCheck.function_scoped_fixture]  # fmt: skip


def fuzz_settings(ci_examples: int) -> settings:
    """Hypothesis settings for one fuzz test: ``ci_examples`` in CI, scaled in the long profile."""
    return settings(
        max_examples=ci_examples * SCALE,
        deadline=None,
        derandomize=PROFILE == "ci",
        suppress_health_check=_HEALTH,
        print_blob=True,
    )


class Hang(BaseException):
    """Raised by the hang guard; a BaseException so no ``except Exception`` in trendcalc eats it."""


@contextlib.contextmanager
def hang_guard(seconds: float = HANG_SECONDS) -> Iterator[None]:
    """Fail with Hang when the body runs longer than ``seconds`` (main thread only)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise Hang(f"no answer within {seconds}s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def check_error(exc: tc.ValidationError, *, allow_root: bool = False) -> None:
    """A ValidationError must carry a message and, unless the root itself is bad, a path."""
    assert isinstance(exc.message, str) and exc.message.strip(), f"empty message: {exc!r}"
    assert isinstance(exc.path, tuple)
    for p in exc.path:
        assert isinstance(p, (str, int)) and not isinstance(p, bool), f"path element {p!r} in {exc}"
    if not allow_root:
        assert exc.path, f"error without a path: {exc}"
    str(exc)  # renders


# Modules the foundation imports lazily for features that land later (TrendsQuery, compare,
# formulas over series, cohorts). Until a feature lands, reaching its import is "not there yet",
# not a crash the fuzzer should report; once the module exists this tolerance does nothing.
PENDING_MODULES = {
    "trendcalc.query.trends_query", "trendcalc.engine.compare", "trendcalc.engine.formulas",
    "trendcalc.engine.predicates.cohorts",
}  # fmt: skip
pending_hits: dict[str, int] = {}


def safely(fn: Callable[[], Any], *, allow_root: bool = False) -> Any:
    """Run ``fn``: return its value, or None when it raised ValidationError/UnsupportedError.

    Any other exception (or a hang) propagates and fails the test."""
    try:
        with hang_guard():
            return fn()
    except tc.ValidationError as exc:
        check_error(exc, allow_root=allow_root)
        return None
    except ModuleNotFoundError as exc:
        if exc.name not in PENDING_MODULES:
            raise
        pending_hits[exc.name] = pending_hits.get(exc.name, 0) + 1
        return None


def check_result(result: tc.TrendsResult) -> list[dict]:
    """A complete answer: every series whole, serialisable, and exportable."""
    assert isinstance(result, tc.TrendsResult)
    dicts = result.to_dicts()
    assert isinstance(dicts, list) and len(dicts) == len(result)
    n_buckets = None
    for d in dicts:
        assert isinstance(d["label"], str)
        if result.total_value:
            assert "aggregated_value" in d
            assert isinstance(d["aggregated_value"], (int, float))
        else:
            assert isinstance(d["data"], list)
            assert len(d["data"]) == len(d["days"]) == len(d["labels"]), "series cut short"
            assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in d["data"])
            if n_buckets is None:
                n_buckets = len(d["data"])
            elif d.get("compare_label") is None:
                assert len(d["data"]) == n_buckets, "series of different lengths"
    text = json.dumps(dicts, allow_nan=True, default=str)
    json.loads(text)
    result.to_csv()
    result.to_records()
    result.table()
    return dicts
