"""Sampling (time-math-breakdown.md §10.1): which events ``SAMPLE f`` keeps, and the correction
of counting maths by ``1/f``."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from .cityhash import cityhash64
from .maths import COUNTING_MATHS

SAMPLING_CORRECTED = COUNTING_MATHS + ("sum",)


def sampled(event: dict[str, Any], factor: float | None) -> bool:
    """``SAMPLE f`` on cityHash64(distinct_id): keep the distinct_ids whose hash is below f·2^64
    (f read as an exact decimal fraction). The hash is the reference's own (``cityhash``)."""
    if factor is None:
        return True
    ratio = Fraction(repr(float(factor)))
    return ratio >= 1 or cityhash64(event["distinct_id"]) < int(ratio * (1 << 64))


def correct_for_sampling(value: Any, factor: float | None, math_name: str) -> Any:
    """round(value · 1/f) (half to even) for the counting maths and sum; others unchanged."""
    if not factor or factor == 1 or math_name not in SAMPLING_CORRECTED:
        return value
    return round(value * (1 / factor))
