"""The event store: immutable, indexed, dictionary-encoded."""

from .columns import BREAKDOWN_NULL, BREAKDOWN_OTHER, PropertyColumn, ValueDictionary
from .eventstore import EventStore
from .tables import GroupTable, PersonTable

__all__ = [
    "BREAKDOWN_NULL",
    "BREAKDOWN_OTHER",
    "EventStore",
    "GroupTable",
    "PersonTable",
    "PropertyColumn",
    "ValueDictionary",
]
