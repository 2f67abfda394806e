"""Explicit resource limits: every one has a documented default a caller can change.

Limits protect services that pass user-built filters straight through: each one, when exceeded,
raises ``ValidationError`` naming the limit and the path of the input that exceeded it.
"""

from __future__ import annotations

import os

import attrs


def _positive(inst: object, attr: attrs.Attribute, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"Limits.{attr.name} must be a positive int, got {value!r}")


@attrs.frozen
class Limits:
    """Caps applied while parsing and running one query.

    max_buckets: time buckets in one series (e.g. minutes over months).
    max_series: series in one query, counted after cohort expansion and compare.
    max_breakdown_values: breakdown values returned per series (a breakdown_limit above it is
        rejected; so is an answer that would return more values, e.g. WorldMap's 250).
    max_cells: numbers held at once: a breakdown's (values × buckets) matrix before the top-N
        cut is computed in blocks of at most this many cells, and the answer (result series ×
        buckets) may not exceed it; bounds memory. Checked on an upper-bound estimate before any
        row is read (engine/cost.py), and again as the answer is built.
    max_breakdown_cells: (breakdown values × buckets) one series evaluates in all, block after
        block, before the top-N cut; bounds time (e.g. a breakdown by session id, hourly, over
        months). Estimated before any row is read, and checked again once the values are known.
    max_work: row visits one query may make, estimated before any row is read (engine/cost.py):
        each selected row once, once more per filter leaf evaluated on it and per breakdown
        dimension, each breakdown (value × bucket) cell, and a fixed cost per leaf evaluation and
        per (series × bucket); bounds time.
    max_formula_length / max_formula_depth: characters and nesting depth of a formula.
    max_property_depth: nesting depth of property groups.
    max_regex_length: characters of a regex operand.
    max_string_length: characters of any string in a filter (operands, names, keys).
    max_list_length: members of any list or object in a filter (property value lists, cohort
        ids, series lists, ...).
    max_json_depth: nesting depth of any value in a filter (raise it with max_property_depth).
    max_json_values: values (scalars, lists and objects) in one filter, a part that appears in
        several places counted each time: a Python-built filter that shares its parts (a list
        holding the same object twice, nested) stands for a tree that doubles at every level.
    max_name_length: characters of an event name, property key, distinct_id or group key, in
        filters and in ingested records.
    max_ingest_string_length / max_ingest_depth: characters of any string value and nesting
        depth of any property value in ingested records (``EventStore.from_records(limits=)``).
    max_ingest_values: values in one ingested property value, a part that appears in several
        places counted each time (as ``max_json_values``, for records built in Python).
    threads: threads one query may use for its large scans (distinct counts per bucket, over at
        least 200 k rows); 1 keeps a query on one core. Answers do not depend on it. Default 2,
        or the environment variable ``TRENDCALC_THREADS`` when set.
    """

    max_buckets: int = attrs.field(default=50_000, validator=_positive)
    max_series: int = attrs.field(default=200, validator=_positive)
    max_breakdown_values: int = attrs.field(default=10_000, validator=_positive)
    max_cells: int = attrs.field(default=20_000_000, validator=_positive)
    max_breakdown_cells: int = attrs.field(default=1_000_000_000, validator=_positive)
    max_work: int = attrs.field(default=2_000_000_000, validator=_positive)
    max_formula_length: int = attrs.field(default=1_000, validator=_positive)
    max_formula_depth: int = attrs.field(default=64, validator=_positive)
    max_property_depth: int = attrs.field(default=16, validator=_positive)
    max_regex_length: int = attrs.field(default=2_000, validator=_positive)
    max_string_length: int = attrs.field(default=65_536, validator=_positive)
    max_list_length: int = attrs.field(default=10_000, validator=_positive)
    max_json_depth: int = attrs.field(default=64, validator=_positive)
    max_json_values: int = attrs.field(default=1_000_000, validator=_positive)
    max_name_length: int = attrs.field(default=4_096, validator=_positive)
    max_ingest_string_length: int = attrs.field(default=1 << 20, validator=_positive)
    max_ingest_depth: int = attrs.field(default=32, validator=_positive)
    max_ingest_values: int = attrs.field(default=1_000_000, validator=_positive)
    threads: int = attrs.field(factory=lambda: default_threads(), validator=_positive)


def default_threads() -> int:
    """``TRENDCALC_THREADS`` when set (a positive int), else 2 (both cores of a small machine;
    more threads only where the machine has the cores: see docs/scale-out)."""
    env = os.environ.get("TRENDCALC_THREADS", "").strip()
    if env.isdigit() and int(env) >= 1:
        return int(env)
    if env:
        import warnings

        warnings.warn(f"TRENDCALC_THREADS must be a positive int, got {env!r}; using the default", stacklevel=2)
    return 2


DEFAULT_LIMITS = Limits()
