"""The server's pure parts, without a process: configuration, request reading, envelopes, cache keys."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

import trendcalc as tc
from trendcalc.server import ProjectConfig, ServerConfig, Token, config_from_args, parse_config
from trendcalc.server.cache import AnswerCache, Entry, cache_key, settings_fingerprint
from trendcalc.server.config import check_bind, is_loopback
from trendcalc.server.envelope import csv_filename, dumps, legacy_body, posthog_csv, render_time
from trendcalc.server.errors import ApiError, attr_of, from_validation
from trendcalc.server.requests import legacy_kind, legacy_request, query_request


def _cfg(tmp_path: Path, data: dict) -> ServerConfig:
    return parse_config(data, tmp_path)


def test_serve_json_is_read_with_paths_relative_to_it(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text(json.dumps({"timezone": "Asia/Tokyo"}))
    (tmp_path / "t.token").write_text("secret-from-file\n")
    cfg = _cfg(tmp_path, {
        "host": "0.0.0.0", "port": 9000, "workers": 3, "time_budget": 5, "watch": 1.5,
        "tokens": [{"token_file": "t.token", "projects": [2]}],
        "projects": [{"id": 1, "store": "s1", "project": "p.json", "tokens": ["secret-of-one"]},
                     {"id": 2, "store": "s2", "limits": {"max_buckets": 100}, "time_budget": 2}],
    })  # fmt: skip
    assert (cfg.host, cfg.port, cfg.workers, cfg.time_budget, cfg.watch) == ("0.0.0.0", 9000, 3, 5, 1.5)
    one, two = cfg.projects
    assert one.store == tmp_path / "s1" and one.project.timezone == "Asia/Tokyo"
    assert two.limits == tc.Limits(max_buckets=100) and two.time_budget == 2
    assert cfg.tokens == (Token("secret-of-one", frozenset({1})), Token("secret-from-file", frozenset({2})))
    check_bind(cfg)  # a non-loopback host is fine with tokens


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        ({"projects": []}, ("serve.json", "projects"), "non-empty list"),
        ({"projects": [{"id": 1, "store": "s"}], "prot": 1}, ("serve.json", "prot"), "did you mean 'port'"),
        ({"projects": [{"id": "1", "store": "s"}]}, ("serve.json", "projects", 0, "id"), "project id"),
        ({"projects": [{"id": 1, "store": "s"}, {"id": 1, "store": "t"}]}, ("serve.json", "projects", 1, "id"), "twice"),
        ({"projects": [{"id": 1, "store": "s", "project": {"timezone": "Mars/Base"}}]},
         ("serve.json", "projects", 0, "project", "timezone"), "unknown timezone"),
        ({"projects": [{"id": 1, "store": "s", "limits": {"max_bucket": 5}}]},
         ("serve.json", "projects", 0, "limits", "max_bucket"), "did you mean 'max_buckets'"),
        ({"projects": [{"id": 1, "store": "s", "tokens": ["short"]}]},
         ("serve.json", "projects", 0, "tokens", 0, "token"), "at least 8"),
        ({"projects": [{"id": 1, "store": "s"}], "tokens": [{"token": "long-enough", "projects": [7]}]},
         ("serve.json", "tokens", 0, "projects"), "no project 7"),
        ({"projects": [{"id": 1, "store": "s"}], "port": 70000}, ("serve.json", "port"), "0..65535"),
        ({"projects": [{"id": 1, "store": "s"}], "time_budget": 0}, ("serve.json", "time_budget"), "> 0"),
    ],
)
def test_serve_json_mistakes_name_their_path(tmp_path: Path, data: dict, path: tuple, words: str) -> None:
    with pytest.raises(tc.ValidationError) as info:
        _cfg(tmp_path, data)
    assert info.value.path == path
    assert words in info.value.message


def test_command_line_config(tmp_path: Path) -> None:
    cfg = config_from_args("store", project='{"timezone": "Europe/Paris"}', project_id=7, token="a-long-token",
                           time_budget=3, port=0)
    assert cfg.projects == (ProjectConfig(7, Path("store"), tc.Project(timezone="Europe/Paris")),)
    assert cfg.tokens == (Token("a-long-token", None),) and cfg.auth_required and cfg.time_budget == 3.0
    with pytest.raises(tc.ValidationError, match="expected a store directory"):
        config_from_args(None)
    with pytest.raises(tc.ValidationError, match="refusing to listen on '0.0.0.0'"):
        check_bind(config_from_args("store", host="0.0.0.0"))
    check_bind(config_from_args("store", host="::1"))


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("127.1.2.3", True), ("::1", True),
                                                ("[::1]", True), ("localhost", True), ("0.0.0.0", False),
                                                ("::", False), ("10.0.0.5", False), ("example.com", False)])
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_legacy_request_merges_query_string_and_body() -> None:
    req = legacy_request({"events": '[{"id": "$pageview"}]', "date_from": "-3d", "compare": "true", "format": "csv",
                          "breakdown": '["$os"]', "refresh": "1"}, {"date_from": "-7d"})
    assert req.query == {"events": [{"id": "$pageview"}], "date_from": "-7d", "compare": "true", "breakdown": ["$os"]}
    assert (req.kind, req.format, req.refresh) == ("trends", "csv", True)
    assert legacy_request({}, {"refresh": False}).refresh is False
    with pytest.raises(ApiError) as info:
        legacy_request({"properties": "{nope"}, None)
    assert (info.value.status, info.value.attr) == (400, "properties")
    with pytest.raises(ApiError) as info:
        legacy_request({}, [1, 2])
    assert info.value.code == "parse_error"


@pytest.mark.parametrize(
    ("query", "kind"),
    [({}, "trends"), ({"shown_as": "Stickiness"}, "stickiness"), ({"insight": "stickiness"}, "stickiness"),
     ({"insight": "LIFECYCLE"}, "lifecycle"), ({"shown_as": "Lifecycle"}, "lifecycle"),
     ({"shown_as": "Lifecycle", "breakdown": "$os"}, "trends"), ({"shown_as": "Volume"}, "trends")],
)
def test_legacy_routing(query: dict, kind: str) -> None:
    assert legacy_kind(query) == kind


def test_query_request() -> None:
    req = query_request({"query": {"kind": "LifecycleQuery"}, "refresh": "force_blocking"})
    assert (req.kind, req.refresh, req.endpoint, req.error_prefix) == ("lifecycle", True, "query", ("query",))
    assert query_request({"query": {"kind": "TrendsQuery"}, "refresh": "async"}).refresh is False
    with pytest.raises(tc.UnsupportedError) as info:
        query_request({"query": {"kind": "TrendQuery"}})
    assert info.value.path == ("query", "kind") and "TrendsQuery" in info.value.message
    with pytest.raises(tc.ValidationError) as info:
        query_request({"query": {"kind": "TrendsQuery"}, "qeury": 1})
    assert info.value.path == ("qeury",)
    with pytest.raises(ApiError):
        query_request({"query": "TrendsQuery"})


def test_error_envelope_from_validation_error() -> None:
    err = from_validation(tc.ValidationError(("series", 0, "math"), "unknown math"), ("query",))
    assert (err.status, err.body()) == (400, {"type": "validation_error", "code": "invalid_input",
                                              "detail": "unknown math", "attr": "query__series__0__math"})
    assert from_validation(tc.UnsupportedError((), "no")).body()["code"] == "unsupported"
    assert attr_of(()) is None


def test_json_rendering() -> None:
    assert render_time(dt.datetime(2026, 1, 2, 4, 4, 5, 123456, tzinfo=dt.timezone(dt.timedelta(hours=1)))) == "2026-01-02T03:04:05.123456Z"
    assert render_time(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)) == "2026-01-02T03:04:05Z"
    assert json.loads(dumps({"a": [1.5, float("nan"), float("inf")]})) == {"a": [1.5, None, None]}
    body = legacy_body(b"[1]", is_cached=True, last_refresh=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), timezone="UTC")
    assert json.loads(body) == {"is_cached": True, "last_refresh": "2026-01-01T00:00:00Z", "timezone": "UTC", "result": [1]}


def test_posthog_csv() -> None:
    series = [{"label": "a", "action": {"custom_name": "A!"}, "labels": ["1-Jan-2024", "2-Jan-2024"], "data": [1, 2.5]},
              {"label": 'b "q"', "action": {"custom_name": None}, "labels": ["1-Jan-2024", "2-Jan-2024"], "data": [3, 0]}]
    assert posthog_csv(series) == 'series,1-Jan-2024,2-Jan-2024\r\nA!,1,2.5\r\n"b ""q""",3,0\r\n'
    assert posthog_csv([{"label": "x", "aggregated_value": 7}]) == "series,value\r\nx,7\r\n"
    assert posthog_csv([]) == "series\r\n"
    assert csv_filename({"date_from": "2024-03-01T00:00:00+01:00", "date_to": "2024-03-31T23:59:59+02:00"}) == \
        "export (2024-03-01 - 2024-03-31) from PostHog.csv"
    assert csv_filename({"date_from": "all", "date_to": "2024-03-31T23:59:59"}, "My Report!") == \
        "my-report (up until 2024-03-31) from PostHog.csv"


def _key(query: dict, now: str, kind: str = "trends", version: str = "v1") -> str | None:
    project, limits = tc.Project(timezone="Europe/Berlin"), tc.Limits()
    return cache_key(project_id=1, store_version=version, settings=settings_fingerprint(project, limits), kind=kind,
                     query=query, project=project, limits=limits,
                     now=dt.datetime.fromisoformat(now.replace("Z", "+00:00")))[0]


def test_cache_keys_follow_the_resolved_range() -> None:
    q = {"events": [{"id": "$pageview"}], "date_from": "-7d"}
    same_day = _key(q, "2024-03-31T09:00:00Z")
    assert same_day == _key(q, "2024-03-31T18:00:00Z")  # same local day: same range
    assert same_day != _key(q, "2024-03-31T23:30:00Z")  # 00:30 in Berlin: the next day
    assert same_day != _key(q, "2024-03-31T09:00:00Z", version="v2")
    assert same_day != _key({**q, "interval": "week"}, "2024-03-31T09:00:00Z")
    bold = {**q, "display": "BoldNumber"}  # the range ends at now itself
    assert _key(bold, "2024-03-31T09:00:00Z") != _key(bold, "2024-03-31T09:00:01Z")
    hourly = {**q, "interval": "hour"}
    assert _key(hourly, "2024-03-31T09:00:00Z") == _key(hourly, "2024-03-31T09:59:00Z")
    assert _key(hourly, "2024-03-31T09:00:00Z") != _key(hourly, "2024-03-31T10:00:00Z")
    dated = {**q, "properties": [{"key": "t", "value": "-1d", "operator": "is_date_after"}]}
    assert _key(dated, "2024-03-31T09:00:00Z") != _key(dated, "2024-03-31T09:00:01Z")
    assert _key({"events": [{"id": "$pageview", "math": "nope"}]}, "2024-03-31T09:00:00Z") is None
    assert _key(q, "2024-03-31T09:00:00Z", kind="lifecycle") != _key(q, "2024-03-31T09:00:01Z", kind="lifecycle")


def test_answer_cache_is_a_bounded_lru() -> None:
    cache = AnswerCache(2)
    entry = Entry(None, dt.datetime.now(dt.timezone.utc), None)
    for k in "abc":
        cache.put(k, entry)
    assert len(cache) == 2 and cache.get("a") is None and cache.get("c") is entry
    off = AnswerCache(0)
    off.put("a", entry)
    assert off.get("a") is None


def _asgi_app(store: tc.EventStore) -> Any:
    pytest.importorskip("starlette", reason="the server extra (trendcalc[server]) is not installed")
    from trendcalc.server import create_app

    config = ServerConfig(projects=(ProjectConfig(5, Path("<memory>")),), workers=1)
    return create_app(config, stores={5: store})


def _asgi_call(app: Any, path: str, body: bytes) -> tuple[int, bytes]:
    """One POST through the ASGI interface (no server, no network)."""
    import asyncio

    async def call() -> tuple[int, bytes]:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": [(b"x-trendcalc-now", b"2024-03-31T18:00:00Z")], "client": ("127.0.0.1", 1),
                 "server": ("127.0.0.1", 80)}  # fmt: skip
        inbox = [{"type": "http.request", "body": body, "more_body": False}]
        sent: list[dict] = []

        async def receive() -> dict:
            return inbox.pop(0) if inbox else {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)

        await app(scope, receive, send)
        return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])

    return asyncio.run(call())


_TWO_VIEWS = [
    {"event": "$pageview", "distinct_id": "u1", "timestamp": "2024-03-30T10:00:00Z"},
    {"event": "$pageview", "distinct_id": "u2", "timestamp": "2024-03-31T10:00:00Z"},
]


def test_insight_kinds_dispatch_to_the_public_functions(monkeypatch: pytest.MonkeyPatch) -> None:
    """shown_as Stickiness / StickinessQuery go to trendcalc.stickiness (here a stand-in that
    records its call), whatever the build; the table names the function, not a code path."""
    store = tc.EventStore.from_records(_TWO_VIEWS)
    calls: list[Any] = []

    def fake(store_: Any, query: Any, **kw: Any) -> tc.TrendsResult:
        calls.append(query)
        return tc.TrendsResult([])

    monkeypatch.setattr(tc, "stickiness", fake, raising=False)
    app = _asgi_app(store)
    legacy = {"events": [{"id": "$pageview"}], "shown_as": "Stickiness"}
    status, body = _asgi_call(app, "/api/projects/5/insights/trend/", json.dumps(legacy).encode())
    assert (status, json.loads(body)["result"]) == (200, [])
    query = {"kind": "StickinessQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}]}
    status, body = _asgi_call(app, "/api/projects/5/query/", json.dumps({"query": query}).encode())
    assert (status, json.loads(body)["results"]) == (200, [])
    assert calls == [legacy, query]
    monkeypatch.undo()  # the real tc.stickiness
    status, body = _asgi_call(app, "/api/projects/5/query/", json.dumps({"query": query, "refresh": True}).encode())
    results = json.loads(body)["results"]
    assert status == 200 and results[0]["labels"][:2] == ["1 day", "2 days"] and results[0]["days"][:2] == [1, 2]
    app.state.trendcalc.runner.close()


def test_create_app_embeds_in_memory_stores() -> None:
    """The app factory with an in-memory store, driven as an ASGI app (no server, no network)."""
    store = tc.EventStore.from_records(_TWO_VIEWS)
    app = _asgi_app(store)
    query = {"events": [{"id": "$pageview"}], "date_from": "-3d"}

    status, body = _asgi_call(app, "/api/projects/5/insights/trend/", json.dumps(query).encode())
    assert status == 200
    want = tc.trends(store, query, now="2024-03-31T18:00:00Z").to_dicts()
    assert json.loads(body)["result"] == json.loads(json.dumps(want))
    status, body = _asgi_call(app, "/api/projects/1/insights/trend/", b"{}")
    assert (status, json.loads(body)["code"]) == (404, "not_found")
    app.state.trendcalc.runner.close()
