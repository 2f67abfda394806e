"""A plain, row-at-a-time reference for the Lifecycle insight (spec stickiness-lifecycle §5–6).

It shares only the parsers (``trendcalc.query.lifecycle.parse_lifecycle``) with the vectorised
engine, and the plain date, filter and action rules of ``testing.reference``; the window, the
actors and the status rules are written out here with loops over event dicts, one actor at a
time, as the spec words them:

    from trendcalc.testing.reference_lifecycle import reference_lifecycle
    expected = reference_lifecycle(events, persons, groups, query=q, project=p, now=now)
    assert expected == tc.lifecycle(store, q, project=p, now=now).to_dicts()

Speed is a non-goal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import ValidationError
from ..limits import DEFAULT_LIMITS, Limits
from ..project import Project
from ..query.lifecycle import STATUSES, LifecycleQuery, parse_lifecycle
from . import reference as ref
from .reference.actions import step_matches
from .reference.hogql import row_filters_pass
from .reference.properties import check_group
from .reference.sampling import sampled
from .reference.timeaxis import (
    EARLIEST_FLOOR,
    MONTHS,
    DateRange,
    bucket_starts,
    date_from_value,
    date_to_value,
    day_string,
    label,
    step_of,
)
from .reference.world import as_project, resolve_now

UTC = dt.timezone.utc


def step_back(instant: dt.datetime, interval: str, tz: Any) -> dt.datetime:
    """The start of the interval before the one starting at ``instant`` (a UTC datetime): the
    local calendar for day/week/month, absolute time for hour/minute. Instants stay in UTC:
    Python compares two datetimes of one zone by wall clock, so the two 01:00 hours of a
    fall-back night would compare equal as local times."""
    if interval in ("hour", "minute"):
        return instant - (dt.timedelta(hours=1) if interval == "hour" else dt.timedelta(minutes=1))
    back = instant.astimezone(tz).replace(tzinfo=None) - step_of(interval)
    return back.replace(tzinfo=tz).astimezone(UTC)


def step_forward(instant: dt.datetime, interval: str, tz: Any) -> dt.datetime:
    if interval in ("hour", "minute"):
        return instant + (dt.timedelta(hours=1) if interval == "hour" else dt.timedelta(minutes=1))
    fwd = instant.astimezone(tz).replace(tzinfo=None) + step_of(interval)
    return fwd.replace(tzinfo=tz).astimezone(UTC)


def bucket_start(ts: dt.datetime, window: list[dt.datetime]) -> dt.datetime | None:
    """The start (UTC) of the window bucket containing ``ts`` (None outside the window)."""
    for i, s in enumerate(window[:-1]):
        if s <= ts < window[i + 1]:
            return s
    return None


def is_personless(event: dict[str, Any]) -> bool:
    """``properties.$process_person_profile = 'false'`` (a JSON false or the text "false")."""
    v = event["properties"].get("$process_person_profile")
    return v is False or v == "false"


def series_matches(world: ref.World, s: Any, project: Project, event: dict[str, Any]) -> bool:
    """The event name (None = any), or any step of the action as the project gave it (no steps:
    every event)."""
    if s.kind == "events":
        return s.id is None or s.id == event["event"]
    steps = (project.action_source(s.id) or {}).get("steps") or []
    return not steps or any(step_matches(world, project, step, event) for step in steps)


def filter_groups(lq: LifecycleQuery, project: Project, s: Any) -> list[Any]:
    """Every property group one series compiles: global, series, test accounts, action steps."""
    from ..query.properties import parse_entity_properties, parse_test_account_filters

    filt = lq.base
    groups = [filt.properties, s.properties]
    if filt.filter_test_accounts and project.test_account_filters:
        groups.append(parse_test_account_filters(project.test_account_filters, DEFAULT_LIMITS))
    if s.kind == "actions":
        for step in (project.action_source(s.id) or {}).get("steps") or []:
            groups.append(parse_entity_properties(step.get("properties"), ("steps",), DEFAULT_LIMITS, raw=True))
    return groups


def earliest(world: ref.World, lq: LifecycleQuery, project: Project) -> dt.datetime:
    """``date_from: "all"``: the first event of any series' event names (action steps' events;
    None = any), floored at 1980-01-01."""
    names: list[Any] = []
    for s in lq.base.series:
        if s.kind == "events":
            names.append(s.id)
        else:
            names += [step.get("event") for step in (project.action_source(s.id) or {}).get("steps") or []]
    times = [e["ts"] for e in world.events if any(n is None or n == e["event"] for n in names)]
    return max(min(times), EARLIEST_FLOOR) if times else EARLIEST_FLOOR


def date_range(world: ref.World, lq: LifecycleQuery, project: Project, now: dt.datetime) -> DateRange:
    """date_from() and date_to() in the project timezone (Trends' rules)."""
    filt, tz = lq.base, project.tz
    now_local = now.astimezone(tz)
    first = earliest(world, lq, project) if filt.date_from == "all" else EARLIEST_FLOOR
    start, mapping = date_from_value(filt.date_from, filt.interval, now_local, tz, filt.explicit_date, False, first)
    end = date_to_value(filt.date_to, filt.interval, now_local, tz, filt.explicit_date, False)
    if start > end and filt.date_from != "all":  # trendcalc's strictness, as for Trends
        raise ValidationError(("date_from",), f"date_from {start.isoformat()} is after date_to {end.isoformat()}")
    return DateRange(start, end, mapping, filt.interval, filt.explicit_date, False)


def selected(world: ref.World, lq: LifecycleQuery, project: Project, event: dict[str, Any]) -> bool:
    """§5.3 (runner): every series matches (ANDed) with its properties, global properties, test
    accounts, the group key, and not personless. §6 (legacy): the first entity only, and the
    event's distinct_id has a person row."""
    filt = lq.base
    series = filt.series if lq.engine == "runner" else filt.series[:1]
    for s in series:
        if not series_matches(world, s, project, event) or not row_filters_pass(world, filt, s, project, event):
            return False
    if lq.engine == "runner":
        return not is_personless(event)
    return event["person"][0] == "person"


def reference_lifecycle(
    events: Iterable[Mapping[str, Any]],
    persons: Iterable[Mapping[str, Any]] | None = None,
    groups: Iterable[Mapping[str, Any]] | None = None,
    *,
    query: Mapping[str, Any] | LifecycleQuery,
    project: Project | Mapping[str, Any] | None = None,
    now: Any = None,
    limits: Limits = DEFAULT_LIMITS,
) -> list[dict[str, Any]]:
    """The series dicts ``lifecycle(...).to_dicts()`` returns."""
    project = as_project(project)
    lq = parse_lifecycle(query, limits=limits)
    filt = lq.base
    persons = list(persons or ())
    groups = list(groups or ())
    world = ref.load_world(events, persons, groups)
    clock = resolve_now(now)
    world.now = clock
    tz = project.tz
    wsd = 1 if lq.engine == "legacy" else project.week_start_day
    interval = filt.interval
    r = date_range(world, lq, project, clock)
    starts = bucket_starts(r, wsd, limits.max_buckets)
    if not starts:
        return shape(lq, project, r, [], {}, wsd)
    for s in filt.series if lq.engine == "runner" else filt.series[:1]:
        if s.kind == "actions" and project.action_source(s.id) is None:
            raise ValidationError(("series",), f"Action ID {s.id} does not exist!")
        for group in filter_groups(lq, project, s):
            check_group(world, project, group)  # constants the property's type cannot take fail
    # the window: one look-back bucket, the range's buckets, and the end of the last one
    utc_starts = [b.astimezone(UTC) for b in starts]
    window = [step_back(utc_starts[0], interval, tz)] + utc_starts + [step_forward(utc_starts[-1], interval, tz)]

    person_created = {("person", i): p.get("created_at") for i, p in enumerate(persons)}
    group_created = {(g["group_type_index"], str(g["group_key"])): g.get("created_at") for g in groups}
    gti = filt.aggregation_group_type_index

    activity: dict[Any, set[dt.datetime]] = {}
    created: dict[Any, Any] = {}
    for e in world.events:
        if not (window[0] <= e["ts"] < window[-1]) or not sampled(e, filt.sampling_factor):
            continue
        if not selected(world, lq, project, e):
            continue
        if gti is not None:
            actor: Any = ("group", str(e["properties"].get(f"$group_{gti}")))
            created[actor] = group_created.get((gti, actor[1]))
        else:
            actor = e["person"]
            created[actor] = person_created.get(actor)
        b = bucket_start(e["ts"], window)
        assert b is not None
        activity.setdefault(actor, set()).add(b)

    counts: dict[tuple[str, dt.datetime], int] = {}
    for actor, buckets in activity.items():
        active = sorted(buckets)
        c = created[actor]
        creation = None
        if c is not None:
            creation = bucket_start(ref.to_utc(c), window)
        for i, b in enumerate(active):
            if i == 0:
                status = "new" if creation == b else "resurrecting"
            elif step_back(b, interval, tz) == active[i - 1]:
                status = "returning"
            else:
                status = "resurrecting"
            counts[(status, b)] = counts.get((status, b), 0) + 1
            following = step_forward(b, interval, tz)
            if following not in buckets:
                counts[("dormant", following)] = counts.get(("dormant", following), 0) + 1
    return shape(lq, project, r, starts, counts, wsd)


def scaled(lq: LifecycleQuery, value: float) -> float:
    """§5.6: the runner's round(count · 1/f) (half to even; dormant already negated); the legacy
    engine does not scale."""
    f = lq.base.sampling_factor
    if lq.engine == "runner" and f is not None and f != 1:
        return float(round(value * (1 / f)))
    return float(value)


def shape(lq: LifecycleQuery, project: Project, r: DateRange, starts: list[dt.datetime],
          counts: dict[tuple[str, dt.datetime], int], wsd: int) -> list[dict[str, Any]]:
    filt = lq.base
    interval = filt.interval
    if lq.engine == "runner" and filt.explicit_date:
        starts_kept = [s for s in starts if s.astimezone(UTC) >= r.date_from.astimezone(UTC)]
    else:
        starts_kept = starts
    if interval == "minute":
        days = [s.strftime("%Y-%m-%d") for s in starts_kept]
    else:
        days = [day_string(s, interval) for s in starts_kept]
    if lq.engine == "legacy":
        hourly = interval in ("hour", "minute")
        labels = [f"{s.day}-{MONTHS[s.month - 1]}-{s.year}" + (s.strftime(" %H:%M") if hourly else "") for s in starts_kept]
    else:
        labels = [label(s, interval, r, wsd) for s in starts_kept]
    labelled = filt.series[:1] if lq.engine == "runner" else filt.series
    out = []
    for s in labelled:
        if s.kind == "events":
            name = s.label
            action: dict[str, Any] = {"id": s.id, "name": name, "type": "events", "order": 0, "math": "total"}
        else:
            a = project.action_source(s.id) or {}
            name = a["name"] if s.name is None and isinstance(a.get("name"), str) else s.label
            action = {"id": str(s.id), "name": name, "type": "actions", "order": 0, "math": "total"}
        if s.custom_name is not None:
            action["custom_name"] = s.custom_name
        for status in STATUSES:
            sign = -1.0 if status == "dormant" else 1.0
            data = [scaled(lq, sign * counts.get((status, b.astimezone(UTC)), 0)) + 0.0 for b in starts_kept]
            out.append({"action": action, "data": data, "count": float(sum(data)), "labels": labels, "days": days,
                        "label": f"{name} - {status}", "status": status})
    return out


__all__ = ["reference_lifecycle"]
