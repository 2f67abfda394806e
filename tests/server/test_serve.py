"""``trendcalc serve`` as a real process on 127.0.0.1: every answer compared with ``tc.trends`` (or
``tc.actors``) called in this process on the same saved store."""

from __future__ import annotations

import csv
import io
import json
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import trendcalc as tc
from trendcalc.demo import demo_records

from .harness import NOW, ServerProcess, free_port, request

pytest.importorskip("uvicorn", reason="the server extra (trendcalc[server]) is not installed")
pytest.importorskip("starlette", reason="the server extra (trendcalc[server]) is not installed")

SETTINGS = {
    "timezone": "Europe/Berlin",
    "actions": [{"id": 1, "name": "signed up", "steps": [{"event": "sign up"}]}],
    "test_account_filters": [{"key": "email", "value": "posthog.com", "operator": "not_icontains", "type": "person"}],
}
TOKEN_ONE = "token-project-one"  # opens project 1 only
TOKEN_ALL = "token-every-project"  # opens every project
TOKEN_SINGLE = "token-of-the-single-server"
MAX_BODY = 4096

# The seed's request: every field the seed lists (events, actions, properties, filter_test_accounts,
# date_from, date_to, breakdown, breakdown_type, display, formula, compare).
SEED_REQUEST = {
    "events": [{"id": "$pageview", "math": "dau", "order": 0}],
    "actions": [{"id": 1, "order": 1}],
    "properties": [{"key": "$os", "value": ["Mac OS X", "Windows"], "operator": "exact", "type": "event"}],
    "filter_test_accounts": True,
    "date_from": "-14d",
    "date_to": "-1d",
    "breakdown": "$browser",
    "breakdown_type": "event",
    "display": "ActionsLineGraph",
    "formula": "A + B",
    "compare": True,
}
TRENDS_QUERY = {
    "kind": "TrendsQuery",
    "series": [{"kind": "EventsNode", "event": "$pageview", "math": "dau"}, {"kind": "EventsNode", "event": "purchase"}],
    "dateRange": {"date_from": "-7d"},
    "interval": "day",
    "breakdownFilter": {"breakdown": "$os", "breakdown_type": "event"},
}
PLAIN = {"events": [{"id": "$pageview"}], "date_from": "-7d"}


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _store(tmp: Path, name: str, seed: int) -> tuple[Path, tc.EventStore]:
    events, persons = demo_records(seed, n_persons=150)
    path = tc.EventStore.from_records(events, persons=persons).save(tmp / name)
    return path, tc.EventStore.load(path)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("serve")
    a_path, a = _store(tmp, "a", 7)
    b_path, b = _store(tmp, "b", 8)
    single_path = a.save(tmp / "single")  # the single server's directory, replaced during the load test
    (tmp / "project.json").write_text(json.dumps(SETTINGS))
    (tmp / "one.token").write_text(TOKEN_ONE + "\n")
    (tmp / "single.token").write_text(TOKEN_SINGLE)
    config = {
        "workers": 2,
        "max_body_bytes": MAX_BODY,
        "tokens": [{"token": TOKEN_ALL, "projects": "*"}],
        "projects": [
            {"id": 1, "store": "a", "project": "project.json", "tokens": [{"token_file": "one.token"}]},
            {"id": 2, "store": "b", "project": {"timezone": "UTC"}},
            {"id": 3, "store": "a", "project": "project.json", "time_budget": 1e-6},
        ],
    }
    (tmp / "serve.json").write_text(json.dumps(config))
    return {"tmp": tmp, "a_path": a_path, "a": a, "b_path": b_path, "b": b, "single_path": single_path,
            "project": tc.Project.from_dict(SETTINGS)}


def _start(args: list[str], log: Path) -> ServerProcess:
    server = ServerProcess(args, log)
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="module")
def multi(world: dict[str, Any]) -> Any:
    """The serve.json form: three projects, tokens, a small body limit, project 3 with no time."""
    server = _start(["--config", str(world["tmp"] / "serve.json")], world["tmp"] / "multi.log")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def single(world: dict[str, Any]) -> Any:
    """The command-line form: STORE_DIR --project --token-file --watch."""
    server = _start([str(world["single_path"]), "--project", str(world["tmp"] / "project.json"),
                     "--token-file", str(world["tmp"] / "single.token"), "--watch", "0.2", "--workers", "2"],
                    world["tmp"] / "single.log")
    yield server
    server.stop()


def expected(store: tc.EventStore, query: Any, project: Any, now: str = NOW) -> Any:
    return _json(tc.trends(store, query, project=project, now=now).to_dicts())


# --- the seed's request, both forms, CSV -------------------------------------------------------------


def test_seed_request_answers_the_seed_envelope(world: dict[str, Any], single: ServerProcess) -> None:
    want = expected(world["a"], SEED_REQUEST, world["project"])
    assert want and any(any(s["data"]) for s in want)  # a real answer, not an empty one
    path = "/api/projects/1/insights/trend/"
    first = request(single.base, "POST", path, body=SEED_REQUEST, params={"refresh": "true"}, token=TOKEN_SINGLE)
    assert first.status == 200, first
    body = first.json()
    assert list(body) == ["is_cached", "last_refresh", "timezone", "result"]
    assert body["result"] == want
    assert body["timezone"] == "Europe/Berlin"
    assert body["is_cached"] is False
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z", body["last_refresh"])
    again = request(single.base, "POST", path, body=SEED_REQUEST, token=TOKEN_SINGLE).json()
    assert again["is_cached"] is True
    assert again["last_refresh"] == body["last_refresh"]
    assert again["result"] == want


def test_get_with_json_encoded_parameters_equals_post(world: dict[str, Any], multi: ServerProcess) -> None:
    want = expected(world["a"], SEED_REQUEST, world["project"])
    got = request(multi.base, "GET", "/api/projects/1/insights/trend", params=SEED_REQUEST, token=TOKEN_ONE)
    assert got.status == 200, got
    assert got.json()["result"] == want
    posted = request(multi.base, "POST", "/api/projects/1/insights/trend/", body=SEED_REQUEST, token=TOKEN_ONE)
    assert posted.json()["result"] == want
    # query string and body merge, the body winning (PostHog's {**GET, **body})
    merged = request(multi.base, "POST", "/api/projects/1/insights/trend/", params={"date_from": "-30d"},
                     body={**PLAIN, "date_from": "-3d"}, token=TOKEN_ONE)
    assert merged.json()["result"] == expected(world["a"], {**PLAIN, "date_from": "-3d"}, world["project"])


def test_csv_export(world: dict[str, Any], multi: ServerProcess) -> None:
    query = {"events": [{"id": "$pageview", "custom_name": "Views"}, {"id": "sign up"}], "date_from": "-5d"}
    want = expected(world["a"], query, world["project"])
    got = request(multi.base, "GET", "/api/projects/1/insights/trend/", params={**query, "format": "csv"}, token=TOKEN_ONE)
    assert got.status == 200, got
    assert got.headers["content-type"].startswith("text/csv")
    assert got.headers["content-disposition"] == 'attachment; filename="export (2024-03-26 - 2024-03-31) from PostHog.csv"'
    rows = list(csv.reader(io.StringIO(got.body.decode())))
    assert rows[0] == ["series", *want[0]["labels"]]
    assert rows[1:] == [[s["action"]["custom_name"] or s["label"], *map(str, s["data"])] for s in want]
    assert rows[1][0] == "Views"
    by_accept = request(multi.base, "POST", "/api/projects/1/insights/trend/", body=query, token=TOKEN_ONE,
                        headers={"Accept": "text/csv"})
    assert by_accept.body == got.body


# --- the query endpoint ----------------------------------------------------------------------------------


def test_query_endpoint_trends(world: dict[str, Any], multi: ServerProcess) -> None:
    want = expected(world["a"], TRENDS_QUERY, world["project"])
    got = request(multi.base, "POST", "/api/projects/1/query/", body={"query": TRENDS_QUERY, "refresh": "force_blocking"},
                  token=TOKEN_ALL)
    assert got.status == 200, got
    body = got.json()
    assert body["results"] == want
    for key in ("hasMore", "timings", "hogql", "modifiers", "error", "query_status", "resolved_date_range",
                "query_metadata", "is_cached", "last_refresh", "next_allowed_client_refresh", "cache_key",
                "cache_target_age", "calculation_trigger", "timezone"):
        assert key in body
    assert body["is_cached"] is False and body["timezone"] == "Europe/Berlin"
    assert body["resolved_date_range"] == {"date_from": "2024-03-24T00:00:00+01:00",
                                           "date_to": "2024-03-31T23:59:59.999999+02:00"}
    cached = request(multi.base, "POST", "/api/projects/1/query/", body={"query": TRENDS_QUERY}, token=TOKEN_ALL).json()
    assert cached["is_cached"] is True and cached["results"] == want and cached["cache_key"] == body["cache_key"]


def test_cache_is_keyed_by_the_resolved_range(world: dict[str, Any], multi: ServerProcess) -> None:
    """An hour later on the same day -7d resolves to the same range: a hit, and the same answer as
    computing it then. A BoldNumber's range ends at now itself: no hit."""
    later = "2024-03-31T19:00:00Z"
    path = "/api/projects/1/insights/trend/"
    q = {**PLAIN, "breakdown": "$os"}
    request(multi.base, "POST", path, body=q, params={"refresh": "1"}, token=TOKEN_ONE)
    hit = request(multi.base, "POST", path, body=q, token=TOKEN_ONE, now=later).json()
    assert hit["is_cached"] is True
    assert hit["result"] == expected(world["a"], q, world["project"], now=later)
    bold = {**PLAIN, "display": "BoldNumber"}
    request(multi.base, "POST", path, body=bold, token=TOKEN_ONE)
    miss = request(multi.base, "POST", path, body=bold, token=TOKEN_ONE, now=later).json()
    assert miss["is_cached"] is False
    assert miss["result"] == expected(world["a"], bold, world["project"], now=later)


def test_query_endpoint_actors(world: dict[str, Any], multi: ServerProcess) -> None:
    query = {"kind": "ActorsQuery", "select": ["actor", "event_count"], "limit": 5,
             "source": {"kind": "InsightActorsQuery", "day": "2024-03-30", "series": 0,
                        "source": {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}],
                                   "dateRange": {"date_from": "-7d"}}}}
    want = tc.actors(world["a"], query, project=world["project"], now=NOW)
    got = request(multi.base, "POST", "/api/projects/1/query/", body={"query": query}, token=TOKEN_ONE)
    assert got.status == 200, got
    body = got.json()
    assert body["results"] == _json(want.to_rows()) and len(body["results"]) == 5
    assert body["columns"] == list(want.columns) and body["hasMore"] == want.has_more


@pytest.mark.parametrize("kind", ["stickiness", "lifecycle"])
def test_stickiness_and_lifecycle(world: dict[str, Any], multi: ServerProcess, kind: str) -> None:
    """Answered by tc.stickiness / tc.lifecycle where this build has them, else 400 unsupported."""
    legacy = {**PLAIN, "shown_as": kind.capitalize()}
    query = {"kind": f"{kind.capitalize()}Query", "series": [{"kind": "EventsNode", "event": "$pageview"}],
             "dateRange": {"date_from": "-7d"}}
    fn = getattr(tc, kind, None)
    got_legacy = request(multi.base, "POST", "/api/projects/1/insights/trend/", body=legacy, token=TOKEN_ONE)
    got_query = request(multi.base, "POST", "/api/projects/1/query/", body={"query": query}, token=TOKEN_ONE)
    if fn is None:
        assert (got_legacy.status, got_legacy.json()["code"], got_legacy.json()["attr"]) == (400, "unsupported", "shown_as")
        assert (got_query.status, got_query.json()["code"], got_query.json()["attr"]) == (400, "unsupported", "query__kind")
    else:
        assert got_legacy.json()["result"] == _json(fn(world["a"], legacy, project=world["project"], now=NOW).to_dicts())
        assert got_query.json()["results"] == _json(fn(world["a"], query, project=world["project"], now=NOW).to_dicts())


# --- errors and tokens ----------------------------------------------------------------------------------


def _error(reply: Any, status: int, type_: str, code: str, attr: str | None = None) -> dict[str, Any]:
    assert reply.status == status, reply
    body = reply.json()
    assert list(body) == ["type", "code", "detail", "attr"]
    assert (body["type"], body["code"], body["attr"]) == (type_, code, attr), body
    assert "Traceback" not in body["detail"] and "File \"" not in body["detail"]
    return body


def test_error_statuses(world: dict[str, Any], multi: ServerProcess) -> None:
    base, trend, query = multi.base, "/api/projects/1/insights/trend/", "/api/projects/1/query/"
    bad_math = request(base, "POST", trend, body={"events": [{"id": "$pageview", "math": "daux"}]}, token=TOKEN_ONE)
    assert "'dau'" in _error(bad_math, 400, "validation_error", "invalid_input", "events__0__math")["detail"]
    _error(request(base, "POST", query, body={"query": {**TRENDS_QUERY, "interval": "fortnight"}}, token=TOKEN_ONE),
           400, "validation_error", "invalid_input", "query__interval")
    _error(request(base, "POST", trend, raw=b'{"events": [', token=TOKEN_ONE), 400, "invalid_request", "parse_error")
    _error(request(base, "GET", trend, params={"events": "[{oops"}, token=TOKEN_ONE), 400, "validation_error",
           "invalid_input", "events")
    _error(request(base, "POST", query, body={"query": {"kind": "FunnelsQuery"}}, token=TOKEN_ONE),
           400, "validation_error", "unsupported", "query__kind")
    _error(request(base, "POST", trend, body=PLAIN, token=TOKEN_ONE, now="yesterday-ish"), 400, "validation_error",
           "invalid_input", "X-Trendcalc-Now")
    _error(request(base, "POST", trend, body=PLAIN), 401, "authentication_error", "not_authenticated")
    _error(request(base, "POST", trend, body=PLAIN, token="not-a-token-at-all"), 401, "authentication_error",
           "authentication_failed")
    _error(request(base, "POST", trend, body=PLAIN, headers={"Authorization": f"Basic {TOKEN_ONE}"}), 401,
           "authentication_error", "authentication_failed")
    _error(request(base, "POST", "/api/projects/2/insights/trend/", body=PLAIN, token=TOKEN_ONE), 403,
           "authentication_error", "permission_denied")
    _error(request(base, "POST", "/api/projects/99/insights/trend/", body=PLAIN, token=TOKEN_ALL), 404,
           "invalid_request", "not_found")
    _error(request(base, "POST", "/api/projects/abc/query/", body={"query": TRENDS_QUERY}, token=TOKEN_ALL), 404,
           "invalid_request", "not_found")
    _error(request(base, "GET", query, token=TOKEN_ONE), 405, "invalid_request", "method_not_allowed")
    big = {**PLAIN, "name": "x" * (MAX_BODY + 1)}
    _error(request(base, "POST", trend, body=big, token=TOKEN_ONE), 413, "invalid_request", "request_too_large")
    _error(request(base, "POST", "/api/projects/3/insights/trend/", body=PLAIN, params={"refresh": "true"},
                   token=TOKEN_ALL), 504, "server_error", "error")
    assert "Traceback" not in multi.log()  # nothing above was an unexpected failure


def test_tokens_open_only_their_projects(world: dict[str, Any], multi: ServerProcess) -> None:
    b_project = tc.Project(timezone="UTC")
    for token, allowed in ((TOKEN_ONE, {1}), (TOKEN_ALL, {1, 2})):
        for pid, store, project in ((1, world["a"], world["project"]), (2, world["b"], b_project)):
            got = request(multi.base, "POST", f"/api/projects/{pid}/insights/trend/", body=PLAIN, token=token)
            if pid in allowed:
                assert got.status == 200, got
                assert got.json()["result"] == expected(store, PLAIN, project)
            else:
                assert got.status == 403, got
    current = request(multi.base, "POST", "/api/projects/@current/insights/trend/", body=PLAIN, token=TOKEN_ONE)
    assert current.json()["result"] == expected(world["a"], PLAIN, world["project"])
    lower = request(multi.base, "POST", "/api/environments/1/insights/trend", body=PLAIN,
                    headers={"Authorization": f"bearer {TOKEN_ONE}"})
    assert lower.status == 200, lower


# --- load, store replacement, reload signal ---------------------------------------------------------------

LOAD_QUERIES: list[tuple[str, str, Any]] = [
    ("POST", "/api/projects/1/insights/trend/", SEED_REQUEST),
    ("GET", "/api/projects/1/insights/trend/", PLAIN),
    ("POST", "/api/projects/1/insights/trend/", {"events": [{"id": "$pageview", "math": "dau"}], "breakdown": "$browser", "date_from": "-14d"}),
    ("POST", "/api/projects/1/insights/trend/", {"events": [{"id": "purchase", "math": "sum", "math_property": "revenue"}], "date_from": "-30d", "interval": "week"}),
    ("POST", "/api/projects/1/query/", TRENDS_QUERY),
    ("POST", "/api/projects/1/insights/trend/", {"events": [{"id": "sign up"}], "date_from": "-14d", "display": "ActionsLineGraphCumulative"}),
]
CLIENTS, PER_CLIENT = 8, 50


def _send(base: str, i: int, refresh: bool) -> Any:
    method, path, q = LOAD_QUERIES[i]
    params = {"refresh": "true"} if refresh and path.endswith("trend/") else {}
    if path.endswith("query/"):
        reply = request(base, "POST", path, body={"query": q, **({"refresh": True} if refresh else {})}, token=TOKEN_SINGLE)
        return reply.status, reply.json().get("results")
    if method == "GET":
        reply = request(base, "GET", path, params={**q, **params}, token=TOKEN_SINGLE)
    else:
        reply = request(base, "POST", path, body=q, params=params, token=TOKEN_SINGLE)
    return reply.status, reply.json().get("result")


def test_concurrent_load_with_a_store_swap(world: dict[str, Any], single: ServerProcess) -> None:
    """8 clients × 50 requests (a quarter forcing a recomputation) while the store directory is
    replaced: every answer is 200 and equals tc.trends on the old or the new store; then the
    new store is served."""
    before = [expected(world["a"], q, world["project"]) for _, _, q in LOAD_QUERIES]
    after = [expected(world["b"], q, world["project"]) for _, _, q in LOAD_QUERIES]
    assert all(x != y for x, y in zip(before, after))
    outcomes: list[tuple[int, int, Any]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    done = threading.Semaphore(0)

    def client(c: int) -> None:
        try:
            for k in range(PER_CLIENT):
                i = (c + k) % len(LOAD_QUERIES)
                status, result = _send(single.base, i, refresh=k % 4 == 0)
                with lock:
                    outcomes.append((i, status, result))
                done.release()
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(CLIENTS)]
    for t in threads:
        t.start()
    for _ in range(CLIENTS * PER_CLIENT // 3):  # a third of the way in, replace the store
        assert done.acquire(timeout=60), failures
    world["b"].save(world["single_path"], overwrite=True)
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures
    assert len(outcomes) == CLIENTS * PER_CLIENT
    for i, status, result in outcomes:
        assert status == 200
        assert result == before[i] or result == after[i], LOAD_QUERIES[i]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if all(_send(single.base, i, refresh=False) == (200, after[i]) for i in range(len(LOAD_QUERIES))):
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"the replaced store was not picked up:\n{single.log()}")
    assert "Traceback" not in single.log()


def test_sighup_reloads_a_replaced_store(world: dict[str, Any], multi: ServerProcess) -> None:
    """Without --watch the old store is served until SIGHUP."""
    path = "/api/projects/2/insights/trend/"
    utc = tc.Project(timezone="UTC")
    assert request(multi.base, "POST", path, body=PLAIN, token=TOKEN_ALL).json()["result"] == expected(world["b"], PLAIN, utc)
    world["a"].save(world["b_path"], overwrite=True)
    time.sleep(0.5)
    assert request(multi.base, "POST", path, body=PLAIN, token=TOKEN_ALL).json()["result"] == expected(world["b"], PLAIN, utc)
    multi.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while request(multi.base, "POST", path, body=PLAIN, token=TOKEN_ALL).json()["result"] != expected(world["a"], PLAIN, utc):
        assert time.monotonic() < deadline, multi.log()
        time.sleep(0.1)


# --- refusing to start ---------------------------------------------------------------------------------


def test_refuses_a_non_loopback_bind_without_a_token(world: dict[str, Any]) -> None:
    run = subprocess.run([sys.executable, "-m", "trendcalc", "serve", str(world["a_path"]), "--host", "0.0.0.0",
                          "--port", str(free_port())], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "refusing to listen on '0.0.0.0' without a token" in run.stderr


def test_missing_server_extra_is_a_clear_error(world: dict[str, Any]) -> None:
    code = ("import sys; sys.modules['uvicorn'] = None\n"
            "from trendcalc.cli import main\n"
            f"sys.exit(main(['serve', {str(world['a_path'])!r}, '--port', '{free_port()}']))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "pip install 'trendcalc[server]'" in run.stderr
