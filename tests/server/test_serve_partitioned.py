"""``trendcalc serve`` over a partitioned store (``trendcalc partition``), its partitions on the
local process pool (``--executor processes``): every answer equals the single store's, and a
store or executor that do not go together stop the server at start with the path named."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

import trendcalc as tc
from trendcalc.demo import demo_records

from .harness import NOW, ServerProcess, request

pytest.importorskip("uvicorn", reason="the server extra (trendcalc[server]) is not installed")
pytest.importorskip("starlette", reason="the server extra (trendcalc[server]) is not installed")

SETTINGS = {"timezone": "Europe/Berlin", "actions": [{"id": 1, "name": "signed up", "steps": [{"event": "sign up"}]}]}
LEGACY = {"events": [{"id": "$pageview", "math": "dau"}, {"id": "purchase"}], "actions": [{"id": 1}],
          "date_from": "-14d", "breakdown": "$browser", "compare": True}
TRENDS_QUERY = {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview", "math": "weekly_active"}],
                "dateRange": {"date_from": "-7d"}, "breakdownFilter": {"breakdown": "$os", "breakdown_type": "event"}}


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("serve-parts")
    events, persons = demo_records(11, n_persons=120)
    store = tc.EventStore.from_records(events, persons=persons)
    store.save(tmp / "single")
    tc.partition(store, tmp / "parts", partitions=3, durable=False)
    (tmp / "project.json").write_text(json.dumps(SETTINGS))
    server = ServerProcess([str(tmp / "parts"), "--project", str(tmp / "project.json"), "--executor", "processes",
                            "--workers", "2"], tmp / "serve.log")
    try:
        server.wait_ready()
        yield {"tmp": tmp, "store": store, "project": tc.Project.from_dict(SETTINGS), "server": server}
    finally:
        server.stop()


def test_trends_answers_are_the_single_stores(world: Any) -> None:
    base, store, project = world["server"].base, world["store"], world["project"]
    got = request(base, "POST", "/api/projects/1/insights/trend/", body=LEGACY)
    assert got.status == 200, got
    assert got.json()["result"] == _json(tc.trends(store, LEGACY, project=project, now=NOW).to_dicts())
    got = request(base, "POST", "/api/projects/1/query/", body={"query": TRENDS_QUERY})
    assert got.status == 200, got
    assert got.json()["results"] == _json(tc.trends(store, TRENDS_QUERY, project=project, now=NOW).to_dicts())
    assert request(base, "POST", "/api/projects/1/query/", body={"query": TRENDS_QUERY}).json()["is_cached"] is True


@pytest.mark.parametrize("kind", ["stickiness", "lifecycle"])
def test_stickiness_and_lifecycle_are_the_single_stores(world: Any, kind: str) -> None:
    base, store, project = world["server"].base, world["store"], world["project"]
    query = {"kind": f"{kind.capitalize()}Query", "series": [{"kind": "EventsNode", "event": "$pageview"}],
             "dateRange": {"date_from": "-7d"}}
    got = request(base, "POST", "/api/projects/1/query/", body={"query": query})
    assert got.status == 200, got
    assert got.json()["results"] == _json(getattr(tc, kind)(store, query, project=project, now=NOW).to_dicts())


def test_actors_are_the_single_stores(world: Any) -> None:
    base, store, project = world["server"].base, world["store"], world["project"]
    query = {"kind": "ActorsQuery", "select": ["actor", "event_count"], "limit": 5,
             "source": {"kind": "InsightActorsQuery", "day": "2024-03-30", "series": 0,
                        "source": {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}],
                                   "dateRange": {"date_from": "-7d"}}}}
    want = tc.actors(store, query, project=project, now=NOW)
    got = request(base, "POST", "/api/projects/1/query/", body={"query": query})
    assert got.status == 200, got
    assert got.json()["results"] == _json(want.to_rows()) and len(want.to_rows()) == 5


def _fails_to_start(args: list[str]) -> str:
    done = subprocess.run([sys.executable, "-m", "trendcalc", "serve", *args, "--port", "1"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2, done
    return done.stderr


def test_an_executor_needs_a_partitioned_store(world: Any) -> None:
    err = _fails_to_start([str(world["tmp"] / "single"), "--executor", "processes"])
    assert err.startswith("trendcalc: error: $.projects[1].executor: executor 'processes' runs the partitions of a "
                          "partitioned store") and err.count("\n") == 1
    (world["tmp"] / "serve.json").write_text(json.dumps({"projects": [
        {"id": 1, "store": "parts", "executor": "threads"}]}))
    err = _fails_to_start(["--config", str(world["tmp"] / "serve.json")])
    assert err == ("trendcalc: error: $.serve.json.projects[0].executor: expected null or \"processes\" (a partitioned "
                   "store's partitions on a local process pool), got 'threads'\n")


def test_sighup_serves_a_store_partitioned_again(tmp_path: Any) -> None:
    """Partitioned again over its directory (other data), the store is served after SIGHUP: a new
    version, and answers from the new partitions."""
    events, persons = demo_records(12, n_persons=60)
    first = tc.EventStore.from_records(events, persons=persons)
    second = tc.EventStore.from_records(events[: len(events) // 2], persons=persons)
    tc.partition(first, tmp_path / "parts", partitions=2, durable=False)
    server = ServerProcess([str(tmp_path / "parts"), "--executor", "processes"], tmp_path / "serve.log")
    query = {"events": [{"id": "$pageview", "math": "dau"}], "date_from": "-14d"}
    try:
        server.wait_ready()
        before = request(server.base, "POST", "/api/projects/1/insights/trend/", body=query).json()["result"]
        assert before == _json(tc.trends(first, query, now=NOW).to_dicts())
        tc.partition(second, tmp_path / "parts", partitions=3, durable=False, overwrite=True)
        server.proc.send_signal(signal.SIGHUP)
        want = _json(tc.trends(second, query, now=NOW).to_dicts())
        assert want != before
        for _ in range(100):
            after = request(server.base, "POST", "/api/projects/1/insights/trend/", body=query).json()["result"]
            if after == want:
                break
            time.sleep(0.1)
        assert after == want
    finally:
        server.stop()
