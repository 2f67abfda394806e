"""The HogQL reference, kept at its old path: it lives in ``trendcalc.testing.reference.hogql``."""

from __future__ import annotations

from .reference.hogql import *  # noqa: F403
from .reference.hogql import __all__  # noqa: F401
