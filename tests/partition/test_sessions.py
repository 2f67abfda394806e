"""Session filters and breakdowns on person-partitioned stores, on a world whose sessions span
persons (so partitions): the facts of a shared session come from all its events — the single
store's ``to_dicts()`` for k in {1, 2, 3, 7}, hash and adversarial splits, and through the
files with a process pool; entry/exit ties across partitions."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import trendcalc as tc
from trendcalc.engine.trends import resolve_now
from trendcalc.partition.run import run_stores
from trendcalc.partition.split import person_partitions, subset

from .splits import SPLITS

NOW = "2024-03-15T12:00:00Z"
KS = (1, 2, 3, 7)
CONFIGS = [(k, name, assign) for k in KS for name, assign in SPLITS.items() if k > 1 or name == "hash"]
URLS = ["https://a.io/home", "https://a.io/pricing?x=1", "https://b.io/", "https://a.io/docs"]


def sid(j: int) -> str:
    return f"0190{j:04x}-0000-7000-8000-{j:012x}"


def world() -> tc.EventStore:
    """The store of ``world_records``."""
    return tc.EventStore.from_records(world_records())


def world_records() -> list[dict[str, Any]]:
    """30 persons; session j holds events of persons j % 30, (j + 7) % 30 and (j + 13) % 30 at
    distinct seconds, so most sessions span persons; some events carry no session."""
    events = []
    for j in range(40):
        for step, p in enumerate((j % 30, (j + 7) % 30, (j + 13) % 30)[: 1 + j % 3]):
            for e in range(1 + (j + step) % 3):
                minute = (j * 7 + step * 5 + e) % 50
                props: dict[str, Any] = {"$session_id": sid(j), "$current_url": URLS[(j + step + e) % 4]}
                if step == 0 and e == 0 and j % 4:
                    props["utm_source"] = ["google", "newsletter", "twitter"][j % 3]
                    props["utm_medium"] = ["cpc", "email", "social"][j % 3]
                events.append({"event": ["$pageview", "$autocapture", "$pageview"][e % 3], "distinct_id": f"u{p}",
                               "timestamp": f"2024-03-{1 + j % 12:02d}T10:{minute:02d}:{(j + step * 11 + e * 3) % 60:02d}Z",
                               "properties": props})
    for p in range(30):
        events.append({"event": "$pageview", "distinct_id": f"u{p}", "timestamp": f"2024-03-{1 + p % 12:02d}T08:00:00Z",
                       "properties": {"$current_url": URLS[p % 4]}})
    return events


QUERIES = {
    "entry-url": {"events": [{"id": "$pageview", "math": "dau"}], "date_from": "2024-03-01", "date_to": "2024-03-14",
                  "breakdown": "$entry_current_url", "breakdown_type": "session"},
    "duration-filter": {"events": [{"id": "$pageview"}, {"id": "$autocapture"}], "date_from": "2024-03-01",
                        "date_to": "2024-03-14", "properties": [{"key": "$session_duration", "value": 120,
                                                                 "operator": "gt", "type": "session"}]},
    "channel": {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}],
                "dateRange": {"date_from": "2024-03-01", "date_to": "2024-03-14"}, "trendsFilter": {"display": "ActionsPie"},
                "breakdownFilter": {"breakdown": "$channel_type", "breakdown_type": "session"}},
    "bounce-exit": {"events": [{"id": "$pageview", "math": "weekly_active"}], "date_from": "2024-03-01",
                    "date_to": "2024-03-14", "breakdown": "$end_pathname", "breakdown_type": "session",
                    "properties": [{"key": "$is_bounce", "value": ["false"], "operator": "exact", "type": "session"}]},
    "duration-histogram": {"events": [{"id": "$pageview"}], "date_from": "2024-03-01", "date_to": "2024-03-14",
                           "breakdown": "$session_duration", "breakdown_type": "session",
                           "breakdown_histogram_bin_count": 4},
    "counts": {"events": [{"id": "$pageview"}], "date_from": "2024-03-01", "date_to": "2024-03-14",
               "breakdown": "$pageview_count", "breakdown_type": "session",
               "properties": [{"key": "$num_uniq_urls", "value": 2, "operator": "gte", "type": "session"}]},
}


def answer(run: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tc.TrendcalcWarning)
        return run().to_dicts()


@pytest.fixture(scope="module")
def store() -> tc.EventStore:
    return world()


@pytest.mark.parametrize("name", list(QUERIES))
def test_partitioned_equals_single_store(store: tc.EventStore, name: str) -> None:
    query = QUERIES[name]
    want = answer(lambda: tc.trends(store, query, now=NOW))
    assert len(want) > 1 or any(want[0]["data"] or [want[0]["aggregated_value"]])
    filt = tc.parse_filter(query)
    for k, split, assign in CONFIGS:
        part = person_partitions(store, k, assign)
        stores = [subset(store, part == p) for p in range(k)]
        got = answer(lambda stores=stores: run_stores(stores, filt, tc.Project(), resolve_now(NOW)))
        assert got == want, (k, split)


def test_sessions_span_partitions_and_facts_differ_without_the_phase(store: tc.EventStore) -> None:
    """The adversarial premise: on a round-robin split, a partition alone sees other durations."""
    from trendcalc.store.sessions import session_table

    part = person_partitions(store, 3, SPLITS["round-robin"])
    whole = dict(zip(session_table(store).ids, session_table(store).duration.tolist()))
    alone = {}
    for p in range(3):
        t = session_table(subset(store, part == p))
        alone.update({s: d for s, d in zip(t.ids, t.duration.tolist()) if d != whole[s]})
    assert len(alone) > 5


def test_through_files_and_a_process_pool(store: tc.EventStore, tmp_path: Any) -> None:
    parts = tc.partition(store, tmp_path / "p", partitions=3, durable=False)
    for name in ("entry-url", "duration-histogram"):
        want = answer(lambda name=name: tc.trends(store, QUERIES[name], now=NOW))
        assert answer(lambda name=name: tc.trends(parts, QUERIES[name], now=NOW, executor="processes")) == want


def test_entry_and_exit_ties_across_partitions_match_the_single_store(tmp_path: Any) -> None:
    """A session whose first instant holds $pageviews of b and a (b first in the input), and
    whose last holds those of c and a: ties go by distinct_id — entry a's URL, exit c's — in the
    single store and whichever partitions the three persons land in."""
    rows = (("b", "10:00:00", URLS[1]), ("a", "10:00:00", URLS[0]), ("c", "10:05:00", URLS[2]),
            ("a", "10:05:00", URLS[3]))
    events = [{"event": "$pageview", "distinct_id": d, "timestamp": f"2024-03-05T{t}Z",
               "properties": {"$session_id": sid(1), "$current_url": url}} for d, t, url in rows]
    store = tc.EventStore.from_records(events)
    queries = {end: {**QUERIES["entry-url"], "breakdown": f"${end}_current_url"} for end in ("entry", "end")}
    want = {end: answer(lambda q=q: tc.trends(store, q, now=NOW)) for end, q in queries.items()}
    assert [s["breakdown_value"] for s in want["entry"]] == [URLS[0]]
    assert [s["breakdown_value"] for s in want["end"]] == [URLS[2]]
    for shift in range(3):  # persons a, b, c (rows 0, 1, 2) in partitions rotated three ways
        parts = tc.partition(store, tmp_path / f"p{shift}", partitions=3, durable=False,
                             assign=lambda s, k, shift=shift: (np.arange(len(s.persons)) + shift) % k)
        for end, q in queries.items():
            assert answer(lambda q=q, parts=parts: tc.trends(parts, q, now=NOW)) == want[end], (shift, end)


SESSION_FILTER = [{"key": "$session_duration", "value": 60, "operator": "gt", "type": "session"}]
INSIGHTS = {
    "stickiness": ("stickiness", {"shown_as": "Stickiness", "events": [{"id": "$pageview"}], "date_from": "2024-03-01",
                                  "date_to": "2024-03-14", "properties": SESSION_FILTER}),
    "lifecycle": ("lifecycle", {"kind": "LifecycleQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}],
                                "dateRange": {"date_from": "2024-03-01", "date_to": "2024-03-14"},
                                "properties": [{"key": "$entry_pathname", "value": "/home", "operator": "exact",
                                                "type": "session"}]}),
}


@pytest.mark.parametrize("name", list(INSIGHTS))
def test_session_filters_of_stickiness_and_lifecycle(store: tc.EventStore, name: str) -> None:
    from .test_insights_invariance import partitioned

    insight, query = INSIGHTS[name]
    want = answer(lambda: getattr(tc, insight)(store, query, now=NOW))
    assert any(any(s["data"]) for s in want)
    for k, split, assign in CONFIGS:
        part = person_partitions(store, k, assign)
        stores = [subset(store, part == p) for p in range(k)]
        rows = tuple(np.flatnonzero(part == p) for p in range(k))
        got = answer(lambda stores=stores, rows=rows: partitioned(insight, stores, query, tc.Project(), NOW, rows))
        assert got == want, (k, split)


def test_actors_of_a_session_breakdown(store: tc.EventStore, tmp_path: Any) -> None:
    query = {**QUERIES["entry-url"], "properties": SESSION_FILTER}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tc.TrendcalcWarning)
        result = tc.trends(store, query, now=NOW)
        point = next(s for s in result.to_dicts() if any(s["data"]))
        day = point["days"][next(i for i, v in enumerate(point["data"]) if v)]
        request = {"day": day, "breakdown": point["breakdown_value"], "select": ["id", "event_count"],
                   "order_by": ["event_count DESC"]}
        want = tc.actors(store, query, now=NOW, **request)
        assert want.rows
        for k in (2, 3):
            parts = tc.partition(store, tmp_path / f"p{k}", partitions=k, assign=SPLITS["round-robin"], durable=False)
            got = tc.actors(parts, query, now=NOW, **request)
            assert (got.rows, got.has_more) == (want.rows, want.has_more)


def written_before(parts: tc.PartitionedStore, *keys: str) -> tc.PartitionedStore:
    """``parts`` reopened as if written before ``sessions.json`` listed ``keys``."""
    import json

    listing = parts.root / "sessions.json"
    body = json.loads(listing.read_text())
    for key in keys:
        del body[key]
    listing.write_text(json.dumps(body))
    return tc.PartitionedStore.open(parts.root)


UNIQUE_SESSIONS = {
    "plain": {"events": [{"id": "$pageview", "math": "unique_session"}], "date_from": "2024-03-01", "date_to": "2024-03-14"},
    "breakdown-cumulative": {"events": [{"id": "$pageview", "math": "unique_session"}, {"id": "$autocapture",
                                                                                          "math": "unique_session"}],
                             "date_from": "2024-03-01", "date_to": "2024-03-14", "breakdown": "$current_url",
                             "display": "ActionsLineGraphCumulative"},
    "total-compare": {"events": [{"id": "$pageview", "math": "unique_session"}], "date_from": "2024-03-08",
                      "date_to": "2024-03-14", "compare": True, "display": "ActionsPie"},
    "histogram": {"events": [{"id": "$pageview", "math": "unique_session"}], "date_from": "2024-03-01",
                  "date_to": "2024-03-14", "breakdown": "$session_duration", "breakdown_type": "session",
                  "breakdown_histogram_bin_count": 3},
}


@pytest.mark.parametrize("k", [2, 3, 7])
def test_unique_sessions_count_one_partitions_sessions_there(k: int, tmp_path: Any) -> None:
    """Through the manifest: only sessions in more than one partition (and the session-less
    rows' one session ``''``) travel by key; the answers stay the single store's, and without
    the manifest's list (written before it) every key travels, as before."""

    from trendcalc.partition import merge as pm

    single = world()
    parts = tc.partition(single, tmp_path / "p", partitions=k, durable=False)
    shared = parts.shared_session_texts()
    assert shared is not None and 0 < len(shared) < 40  # (most sessions span persons; k partitions share some)
    sent: list[Any] = []
    original = pm._unique_session_partial

    def spy(frame: Any) -> Any:
        state = original(frame)
        sent.append(state)
        return state

    pm.MERGES["unique_session"] = pm.attrs.evolve(pm.MERGES["unique_session"], partial=spy)
    try:
        for name, query in UNIQUE_SESSIONS.items():
            want = answer(lambda query=query: tc.trends(single, query, now=NOW))
            assert any(any(s.get("data") or [s.get("aggregated_value")]) for s in want), name
            sent.clear()
            assert answer(lambda query=query: tc.trends(parts, query, now=NOW)) == want, name
            keys = {t for s in sent for t in s.shared.key.tolist()}
            assert keys <= shared | {""} and all(s.local is not None for s in sent), name
            assert sum(float(np.sum(s.local)) for s in sent) > 0, name  # (some sessions are one partition's)
    finally:
        pm.MERGES["unique_session"] = pm.attrs.evolve(pm.MERGES["unique_session"], partial=original)
    older = written_before(parts, "shared_texts")
    assert older.shared_session_texts() is None
    for name, query in UNIQUE_SESSIONS.items():
        assert answer(lambda query=query: tc.trends(older, query, now=NOW)) == answer(lambda query=query: tc.trends(single, query, now=NOW)), name


@pytest.mark.parametrize("k", [2, 3, 7])
def test_the_manifest_names_the_sessions_spanning_partitions(store: tc.EventStore, k: int, tmp_path: Any,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """``sessions.json``'s ``shared_ids`` are the sessions a first phase would find in more than
    one partition; with them a query runs no such phase, and answers as the single store."""
    from collections import Counter

    from trendcalc.partition import sessions as ps

    parts = tc.partition(store, tmp_path / "p", partitions=k, assign=SPLITS["round-robin"], durable=False)
    seen = Counter(s for i in range(k) for s in ps.session_ids_of(parts.load(i)))
    assert parts.shared_session_ids() == tuple(sorted(s for s, n in seen.items() if n > 1))
    assert len(parts.shared_session_ids() or ()) > 5
    wants = {name: answer(lambda query=query: tc.trends(store, query, now=NOW)) for name, query in QUERIES.items()}

    def no_phase(_store: Any) -> Any:
        raise AssertionError("the sessions spanning partitions were looked for")

    with monkeypatch.context() as m:
        m.setattr(ps, "session_ids_of", no_phase)
        for name, query in QUERIES.items():
            assert answer(lambda query=query: tc.trends(parts, query, now=NOW)) == wants[name], name
    older = written_before(parts, "shared_ids", "events")
    assert older.shared_session_ids() is None
    for name, query in QUERIES.items():  # (found in a first phase, as before)
        assert answer(lambda query=query: tc.trends(older, query, now=NOW)) == wants[name], name


def test_stickiness_lifecycle_and_actors_read_the_manifests_list(store: tc.EventStore, tmp_path: Any,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Stickiness, lifecycle and actors with session filters take the sessions spanning
    partitions from the manifest too (no phase looks for them), with the single store's answers;
    a store written before the list finds them in a first phase."""
    from trendcalc.partition import sessions as ps

    parts = tc.partition(store, tmp_path / "p", partitions=3, assign=SPLITS["round-robin"], durable=False)
    actors_query = {**QUERIES["entry-url"], "properties": SESSION_FILTER}
    request = {"day": "2024-03-05", "select": ["id", "event_count"], "order_by": ["event_count DESC"]}

    def answers(target: Any) -> dict[str, Any]:
        out = {name: answer(lambda i=insight, q=query: getattr(tc, i)(target, q, now=NOW))
               for name, (insight, query) in INSIGHTS.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", tc.TrendcalcWarning)
            got = tc.actors(target, actors_query, now=NOW, **request)
        out["actors"] = (got.rows, got.has_more)
        return out

    want = answers(store)
    assert want["actors"][0] and all(any(any(s["data"]) for s in want[name]) for name in INSIGHTS)
    looked: list[int] = []
    original = ps.session_ids_of

    def spy(part: Any) -> Any:
        looked.append(1)
        return original(part)

    with monkeypatch.context() as m:
        m.setattr(ps, "session_ids_of", spy)
        assert answers(parts) == want
        assert not looked
        older = written_before(parts, "shared_ids", "events")
        assert answers(older) == want
        assert looked  # (found in a first phase, as before)


def test_shared_session_events_are_saved_with_the_partitions(store: tc.EventStore, tmp_path: Any,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The events of sessions spanning partitions depend on the data, not the query: they are
    saved beside the partitions (``sessions.json``'s ``events``), so no query gathers them; a
    store written before that gathers them at its first query that reads session facts, and
    its next queries (Trends and the other insights) run no phase for them. The answers stay the
    single store's."""
    from trendcalc.partition import sessions as ps

    parts = tc.partition(store, tmp_path / "p", partitions=3, assign=SPLITS["round-robin"], durable=False)
    saved = tc.EventStore.load(tmp_path / "p" / ps.SHARED_EVENTS)
    ids = set(parts.shared_session_ids() or ())
    assert ids and set(ps.session_table(saved).ids) == ids  # (only the shared sessions, all of them)
    calls: list[int] = []
    original = ps.session_events_of

    def spy(part: Any, shared: Any) -> Any:
        calls.append(1)
        return original(part, shared)

    def same_answers(target: tc.PartitionedStore) -> None:
        for name in ("entry-url", "duration-filter", "channel"):
            assert answer(lambda name=name: tc.trends(target, QUERIES[name], now=NOW)) == \
                answer(lambda name=name: tc.trends(store, QUERIES[name], now=NOW)), name
        for insight, query in INSIGHTS.values():
            assert answer(lambda i=insight, q=query: getattr(tc, i)(target, q, now=NOW)) == \
                answer(lambda i=insight, q=query: getattr(tc, i)(store, q, now=NOW)), insight

    with monkeypatch.context() as m:
        m.setattr(ps, "session_events_of", spy)
        same_answers(parts)
        assert not calls
        same_answers(written_before(parts, "events"))
        assert len(calls) == parts.partitions  # (one phase, at the first query)


def test_no_shared_sessions_no_saved_events(tmp_path: Any) -> None:
    """Sessions each within one person: nothing spans partitions, nothing is saved."""
    events = [{"event": "$pageview", "distinct_id": f"u{p}", "timestamp": f"2024-03-0{1 + p}T10:00:00Z",
               "properties": {"$session_id": sid(p)}} for p in range(4)]
    parts = tc.partition(tc.EventStore.from_records(events), tmp_path / "p", partitions=2, durable=False)
    assert parts.shared_session_ids() == ()
    assert parts.shared_session_events(lambda task: []) == []
    assert not (tmp_path / "p" / "shared-sessions").exists()


def test_streamed_from_files_the_shared_sessions_are_saved_too(tmp_path: Any) -> None:
    """Partitions streamed from JSON lines files (per-partition dictionaries) save the shared
    sessions' events as well, and answer session queries as the store of the same files."""
    import json

    from trendcalc.partition import sessions as ps

    events = world_records()
    files = []
    for i in range(2):
        f = tmp_path / f"e{i}.jsonl"
        f.write_text("".join(json.dumps(e) + "\n" for e in events[i::2]))
        files.append(f)
    whole = tmp_path / "whole.jsonl"  # (the files' rows in their order)
    whole.write_text("".join(f.read_text() for f in files))
    single = tc.EventStore.from_jsonl(whole)
    parts = tc.partition(str(tmp_path / "e*.jsonl"), tmp_path / "p", partitions=3, durable=False)
    assert parts.manifest["dictionaries"] == "per-partition" and (tmp_path / "p" / ps.SHARED_EVENTS).is_dir()
    for name in ("entry-url", "bounce-exit", "channel"):
        want = answer(lambda name=name: tc.trends(single, QUERIES[name], now=NOW))
        assert answer(lambda name=name: tc.trends(parts, QUERIES[name], now=NOW)) == want, name
        assert answer(lambda name=name: tc.trends(parts, QUERIES[name], now=NOW, executor="processes")) == want, name
