"""trendcalc: PostHog Trends semantics, in process, over an in-memory columnar event store.

    import trendcalc as tc
    store = tc.EventStore.from_records(events, persons=persons)
    result = tc.trends(store, {"events": [{"id": "$pageview", "math": "dau"}], "date_from": "-30d"})
    result.to_dicts()
"""

from ._version import __version__ as __version__
from .api import actors, lifecycle, parse_filter, stickiness, trends
from .errors import (
    InputRowError,
    QueryWarning,
    StoreFormatError,
    TrendcalcWarning,
    UnsupportedError,
    ValidationError,
)
from .lifecycle_result import LifecycleResult
from .limits import Limits
from .partition import PartitionedStore, partition
from .project import Project
from .query.model import TrendsFilter
from .query.stickiness import StickinessQuery
from .results import ActorsResult, SeriesResult, TrendsResult
from .stickiness_result import StickinessResult
from .store import EventStore

__all__ = [
    "QueryWarning",
    "TrendcalcWarning",
    "ActorsResult",
    "EventStore",
    "InputRowError",
    "LifecycleResult",
    "Limits",
    "PartitionedStore",
    "Project",
    "SeriesResult",
    "StickinessQuery",
    "StickinessResult",
    "StoreFormatError",
    "TrendsFilter",
    "TrendsResult",
    "UnsupportedError",
    "ValidationError",
    "actors",
    "lifecycle",
    "parse_filter",
    "partition",
    "stickiness",
    "trends",
]
