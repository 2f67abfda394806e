"""Names of PostHog math types, so the parser can tell unknown from not-yet-implemented."""

KNOWN_MATHS = (
    "total", "dau", "weekly_active", "monthly_active", "unique_group", "unique_session",
    "sum", "avg", "min", "max", "median", "p75", "p90", "p95", "p99",
    "avg_count_per_actor", "min_count_per_actor", "max_count_per_actor", "median_count_per_actor",
    "p75_count_per_actor", "p90_count_per_actor", "p95_count_per_actor", "p99_count_per_actor",
    "first_time_for_user", "first_matching_event_for_user", "hogql",
)  # fmt: skip

PROPERTY_MATHS = ("sum", "avg", "min", "max", "median", "p75", "p90", "p95", "p99")
