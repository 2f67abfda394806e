import datetime as dt
import io

import pytest

import trendcalc as tc
from trendcalc.demo import DEMO_NOW, DEMO_QUERIES, demo_store, run_demo

EVENTS = [
    {"event": "$pageview", "distinct_id": d, "timestamp": ts, "properties": {"$browser": b}}
    for d, ts, b in [
        ("p1", "2020-01-09T12:00:00Z", "Chrome"), ("p1", "2020-01-11T12:00:00Z", "Chrome"),
        ("p1-alias", "2020-01-12T12:00:00Z", "Chrome"), ("p2", "2020-01-12T12:00:00Z", "Firefox"),
        ("p3", "2020-01-12T12:00:00Z", "Edge"), ("p2", "2020-01-15T12:00:00Z", None),
    ]
]
PERSONS = [{"distinct_ids": ["p1", "p1-alias"]}, {"distinct_ids": ["p2"]}]
RANGE = {"date_from": "2020-01-09", "date_to": "2020-01-15"}


@pytest.fixture(scope="module")
def store():
    return tc.EventStore.from_records(EVENTS, persons=PERSONS)


def test_total_and_dau(store):
    r = tc.trends(store, {**RANGE, "events": [{"id": "$pageview"}, {"id": "$pageview", "math": "dau"}]}).to_dicts()
    assert r[0]["data"] == [1, 0, 1, 3, 0, 0, 1] and r[0]["count"] == 6.0
    assert r[1]["data"] == [1, 0, 1, 3, 0, 0, 1]
    assert r[0]["days"][0] == "2020-01-09" and r[0]["labels"][-1] == "15-Jan-2020"
    assert r[1]["label"] == "$pageview" and r[1]["order"] == 1


def test_total_value_dau_is_distinct_over_range(store):
    r = tc.trends(store, {**RANGE, "events": [{"id": "$pageview", "math": "dau"}], "display": "ActionsTable"}).to_dicts()
    assert r[0]["aggregated_value"] == 3 and r[0]["data"] == [] and r[0]["days"] == [] and r[0]["count"] == 0
    assert "labels" not in r[0]


def test_cumulative_dau_counts_new_people(store):
    r = tc.trends(store, {**RANGE, "events": [{"id": "$pageview", "math": "dau"}], "display": "ActionsLineGraphCumulative"})
    assert r.to_dicts()[0]["data"] == [1, 1, 1, 3, 3, 3, 3]
    assert r.to_dicts()[0]["count"] == 3


def test_breakdown_ranks_values_and_null_last(store):
    r = tc.trends(store, {**RANGE, "events": [{"id": "$pageview"}], "breakdown": "$browser"}).to_dicts()
    assert [s["breakdown_value"] for s in r] == ["Chrome", "Edge", "Firefox", "$$_posthog_breakdown_null_$$"]
    assert [s["count"] for s in r] == [3.0, 1.0, 1.0, 1.0]
    limited = tc.trends(store, {**RANGE, "events": [{"id": "$pageview"}], "breakdown": "$browser", "breakdown_limit": 1}).to_dicts()
    assert [s["breakdown_value"] for s in limited] == ["Chrome", "$$_posthog_breakdown_other_$$"]
    assert limited[1]["data"] == [0, 0, 0, 2, 0, 0, 1]


def test_results_are_fresh_objects_and_csv(store):
    res = tc.trends(store, {**RANGE, "events": [{"id": "$pageview"}]})
    a = res.to_dicts()
    a[0]["data"][0] = 99
    assert res.to_dicts()[0]["data"][0] == 1
    csv_text = res.to_csv().splitlines()
    assert csv_text[0].startswith("series,breakdown_value,compare_label,2020-01-09")
    assert csv_text[1] == "$pageview,,,1,0,1,3,0,0,1,6"


def test_now_forms_and_project_dict(store):
    q = {"events": [{"id": "$pageview"}], "date_from": "-3d"}
    a = tc.trends(store, q, now="2020-01-15T12:00:00Z").to_dicts()
    b = tc.trends(store, q, now=dt.datetime(2020, 1, 15, 12, tzinfo=dt.timezone.utc), project={"timezone": "UTC"}).to_dicts()
    assert a[0]["data"] == b[0]["data"] == [3, 0, 0, 1]
    with pytest.raises(tc.ValidationError) as exc:
        tc.trends(store, q, project={"timezone": "Mars/Olympus"})
    assert exc.value.path == ("timezone",)
    with pytest.raises(tc.ValidationError) as exc:
        tc.trends(store, q, now="soon")
    assert exc.value.path == ("now",)


def test_timezone_moves_events_between_days(store):
    q = {**RANGE, "events": [{"id": "$pageview"}]}
    tokyo = tc.trends(store, q, project=tc.Project(timezone="Asia/Tokyo")).to_dicts()
    assert tokyo[0]["data"] == [1, 0, 1, 3, 0, 0, 1]  # 12:00Z is 21:00 in Tokyo, same day
    honolulu = tc.trends(store, q, project=tc.Project(timezone="Pacific/Kiritimati")).to_dicts()
    assert honolulu[0]["data"] == [0, 1, 0, 1, 3, 0, 0]  # UTC+14: next local day


def test_no_series_is_an_empty_answer_but_a_formula_needs_its_series(store):
    assert tc.trends(store, {"events": []}).to_dicts() == []
    with pytest.raises(tc.ValidationError) as exc:
        tc.trends(store, {"events": [], "formula": "A"})
    assert exc.value.path == ("formula",) and "only 0 series exist" in exc.value.message


def test_demo_runs_every_query():
    out = io.StringIO()
    run_demo(out)
    text = out.getvalue()
    assert all(title in text for title, _ in DEMO_QUERIES)
    store = demo_store()
    assert len(store) > 10_000
    bold = tc.trends(store, DEMO_QUERIES[3][1], now=DEMO_NOW).to_dicts()[0]
    assert 0 < bold["aggregated_value"] <= 400
