"""The event store: immutable, indexed, dictionary-encoded."""

from .columns import BREAKDOWN_NULL, BREAKDOWN_OTHER, PropertyColumn, ValueDictionary
from .eventstore import EventStore
from .report import IngestReport, IngestWarning, SkippedRow
from .tables import GroupTable, PersonTable

__all__ = [
    "BREAKDOWN_NULL",
    "BREAKDOWN_OTHER",
    "EventStore",
    "GroupTable",
    "IngestReport",
    "IngestWarning",
    "PersonTable",
    "PropertyColumn",
    "SkippedRow",
    "ValueDictionary",
]
