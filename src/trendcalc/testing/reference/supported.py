"""What the reference implements (time-math-breakdown.md §5 displays, §4 maths, §6 breakdown
types); a query using anything else raises ``ReferenceUnsupported``, and the strategies never
generate it."""

from __future__ import annotations

from ...query.model import TrendsFilter
from .world import ReferenceUnsupported

# §5: displays. Total-value displays give one aggregated_value; BoldNumber uses the exact range.
TOTAL_VALUE_DISPLAYS = ("ActionsTable", "ActionsPie", "ActionsBarValue", "WorldMap", "BoldNumber")
LINE_DISPLAYS = ("ActionsLineGraph", "ActionsBar", "ActionsStackedBar", "ActionsUnstackedBar", "ActionsAreaGraph")
CUMULATIVE_DISPLAY = "ActionsLineGraphCumulative"
DISPLAYS = LINE_DISPLAYS + (CUMULATIVE_DISPLAY,) + TOTAL_VALUE_DISPLAYS
FIXED_BREAKDOWN_LIMIT = {"WorldMap": 250}

# What this reference implements; everything else raises ReferenceUnsupported.
MATHS = (
    "total", "dau", "unique_group", "unique_session", "weekly_active", "monthly_active",
    "sum", "avg", "min", "max", "median", "p75", "p90", "p95", "p99",
    "avg_count_per_actor", "min_count_per_actor", "max_count_per_actor", "median_count_per_actor",
    "p75_count_per_actor", "p90_count_per_actor", "p95_count_per_actor", "p99_count_per_actor",
    "first_time_for_user", "first_matching_event_for_user",
)  # fmt: skip
BREAKDOWN_TYPES = ("event", "person", "group", "cohort", "event_metadata", "session")
# Where a property math reads its property (§4.2); person_properties with a session or $time
# property is left unspecified, so the reference does not answer it.
MATH_PROPERTY_TYPES = (None, "event_properties", "numerical_event_properties", "group_properties", "person_properties")
UNSPECIFIED_PERSON_MATH_PROPERTIES = ("$session_duration", "$time")


def check_supported(filt: TrendsFilter) -> None:
    """Reject what the reference does not implement (the strategies never generate it)."""
    for s in filt.series:
        if s.math not in MATHS:
            raise ReferenceUnsupported(f"math {s.math!r}")
        if s.math_property_type not in MATH_PROPERTY_TYPES:
            raise ReferenceUnsupported(f"math_property_type {s.math_property_type!r}")
        if s.math_property_type == "person_properties" and s.math_property in UNSPECIFIED_PERSON_MATH_PROPERTIES:
            raise ReferenceUnsupported(f"math_property {s.math_property!r} of a person")
    if filt.display not in DISPLAYS:
        raise ReferenceUnsupported(f"display {filt.display!r}")
