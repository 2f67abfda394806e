"""Property operators: one entry per operator with its vectorised implementation.

(The table is filled by the property-filter work; see filters/properties.py.)
"""

from __future__ import annotations

# Every operator PostHog accepts on a property filter (filters.md §3.1).
KNOWN_OPERATORS = (
    "exact", "is_not", "icontains", "not_icontains", "icontains_multi", "not_icontains_multi",
    "regex", "not_regex", "gt", "gte", "lt", "lte", "min", "max", "between", "not_between",
    "is_set", "is_not_set", "is_date_exact", "is_date_before", "is_date_after", "in", "not_in",
    "is_cleaned_path_exact", "semver_eq", "semver_neq", "semver_gt", "semver_gte", "semver_lt",
    "semver_lte", "semver_tilde", "semver_caret", "semver_wildcard", "flag_evaluates_to",
)  # fmt: skip

OPERATORS: dict[str, object] = {}
