"""trendcalc: PostHog Trends semantics, in process, over an in-memory columnar event store.

    import trendcalc as tc
    store = tc.EventStore.from_records(events, persons=persons)
    result = tc.trends(store, {"events": [{"id": "$pageview", "math": "dau"}], "date_from": "-30d"})
    result.to_dicts()
"""

from ._version import __version__ as __version__
from .api import actors, parse_filter, trends
from .errors import (
    InputRowError,
    QueryWarning,
    StoreFormatError,
    TrendcalcWarning,
    UnsupportedError,
    ValidationError,
)
from .limits import Limits
from .project import Project
from .query.model import TrendsFilter
from .results import ActorsResult, SeriesResult, TrendsResult
from .store import EventStore

__all__ = [
    "QueryWarning",
    "TrendcalcWarning",
    "ActorsResult",
    "EventStore",
    "InputRowError",
    "Limits",
    "Project",
    "SeriesResult",
    "StoreFormatError",
    "TrendsFilter",
    "TrendsResult",
    "UnsupportedError",
    "ValidationError",
    "actors",
    "parse_filter",
    "trends",
]
