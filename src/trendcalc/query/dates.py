"""Which date strings a query may carry (``date_from``/``date_to``), checked at parse time.

PostHog reads an absolute date (ISO 8601, or ``YYYY-M-D``) or a relative one (``-7d``,
``-24h``, ``-1mStart``, ``dStart``: the first relative token *found anywhere*), and falls back to
"now" for text it cannot read — so ``"2024-13-01"``, ``"last week"`` or ``"yesterday"`` silently
become today. trendcalc refuses such text instead (a documented, deliberate difference, like its
strict math and display names): a date must be absolute, wholly a relative token, or ``all``.
"""

from __future__ import annotations

import datetime as dt
import re

from dateutil import parser as du_parser

from ..errors import ValidationError

RELATIVE_DATE = re.compile(r"-?[0-9]*[hdwmqysHDWMQY](?:Start|End)?")
ACCEPTED_FORMS = ("an ISO date ('2024-06-01'), a datetime ('2024-06-01T10:00:00Z'), a relative date "
                  "('-7d', '-24h', '-2w', '-1mStart', 'dStart')")  # fmt: skip


def is_absolute(text: str) -> bool:
    """An absolute date or datetime as the engine reads it (isoparse, then ``%Y-%m-%d``)."""
    try:
        du_parser.isoparse(text)
        return True
    except (ValueError, OverflowError):
        pass
    try:
        dt.datetime.strptime(text, "%Y-%m-%d")
        return True
    except ValueError:
        return False


def check_date_text(text: str, path: tuple, *, allow_all: bool) -> str:
    """``text`` when the engine reads it as meant; else ValidationError with the accepted forms."""
    if allow_all and text == "all":
        return text
    if RELATIVE_DATE.fullmatch(text) or is_absolute(text):
        return text
    forms = ACCEPTED_FORMS + (" or 'all'" if allow_all else "")
    raise ValidationError(path, f"unreadable date {text!r}: expected {forms} (PostHog would silently read it as now)")


__all__ = ["check_date_text", "is_absolute", "RELATIVE_DATE"]
