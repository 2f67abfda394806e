"""One column rule and one keyword set for every reader (issue #15)."""

from __future__ import annotations

import inspect
import json

import pytest

import trendcalc as tc
from trendcalc.cli import main as cli_main

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")

NOW = "2024-03-04T00:00:00Z"
ROWS = [
    {"user_id": "u1", "session_id": "s1", "event": "buy", "time": "2024-03-01 09:00:00", "platform": "ios", "price": 12.5},
    {"user_id": "u2", "session_id": "s2", "event": "buy", "time": "2024-03-01 23:30:00", "platform": "web", "price": 8.25},
    {"user_id": "u1", "session_id": "s1", "event": "buy", "time": "2024-03-02 10:00:00", "platform": "ios", "price": 30.75},
]
RENAME = {"user_id": "distinct_id", "time": "timestamp", "session_id": "$session_id"}
READERS = ("from_records", "from_jsonl", "from_csv", "from_pandas", "from_polars", "from_arrow", "from_parquet")


def inputs(tmp_path):
    df = pd.DataFrame(ROWS)
    (tmp_path / "e.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    df.to_csv(tmp_path / "e.csv", index=False)
    df.to_parquet(tmp_path / "e.parquet", index=False)
    return {"from_records": ROWS, "from_jsonl": tmp_path / "e.jsonl", "from_csv": tmp_path / "e.csv",
            "from_pandas": df, "from_polars": pl.from_pandas(df), "from_arrow": pa.Table.from_pandas(df, preserve_index=False),
            "from_parquet": tmp_path / "e.parquet"}


def test_every_reader_takes_the_same_keywords():
    for name in READERS:
        params = inspect.signature(getattr(tc.EventStore, name)).parameters
        assert {"persons", "groups", "rename", "errors", "progress", "timezone", "limits"} <= set(params), name


def test_no_reader_drops_a_column(tmp_path):
    answers = {}
    for name, data in inputs(tmp_path).items():
        store = getattr(tc.EventStore, name)(data, rename=RENAME)
        assert sorted(store.properties) == ["$session_id", "platform", "price"], name
        by_platform = tc.trends(store, {"events": [{"id": "buy"}], "breakdown": "platform", "display": "ActionsTable",
                                        "date_from": "2024-03-01", "date_to": "2024-03-03"}, now=NOW).to_dicts()
        revenue = tc.trends(store, {"events": [{"id": "buy", "math": "sum", "math_property": "price"}], "display": "ActionsTable",
                                    "properties": [{"key": "price", "operator": "gt", "value": 10}],
                                    "date_from": "2024-03-01", "date_to": "2024-03-03"}, now=NOW).to_dicts()
        sessions = tc.trends(store, {"events": [{"id": "buy", "math": "unique_session"}], "display": "ActionsTable",
                                     "date_from": "2024-03-01", "date_to": "2024-03-03"}, now=NOW).to_dicts()
        answers[name] = ([(s["breakdown_value"], s["aggregated_value"]) for s in by_platform],
                         revenue[0]["aggregated_value"], sessions[0]["aggregated_value"])
    assert answers["from_records"] == ([("ios", 2), ("web", 1)], 43.25, 2)
    assert all(a == answers["from_records"] for a in answers.values()), answers


def test_naive_timestamps_in_the_given_zone(tmp_path):
    for name, data in inputs(tmp_path).items():
        store = getattr(tc.EventStore, name)(data, rename=RENAME, timezone="America/New_York")
        # 2024-03-01 23:30 in New York is 2024-03-02 04:30 UTC
        assert sorted(store.ts.tolist())[1] == 1709353800 * 1_000_000, name


@pytest.mark.parametrize("name", READERS)
def test_missing_column_names_input_kind_found_columns_and_nearest(tmp_path, name):
    data = inputs(tmp_path)[name]
    with pytest.raises(tc.ValidationError) as info:
        getattr(tc.EventStore, name)(data, rename={"time": "timestamp"})
    msg = str(info.value)
    assert "'distinct_id'" in msg and "user_id" in msg and "rename={'user_id': 'distinct_id'}" in msg, msg
    kind = {"from_csv": "CSV", "from_pandas": "DataFrame", "from_polars": "DataFrame", "from_parquet": "Parquet",
            "from_arrow": "Arrow table", "from_jsonl": "record", "from_records": "record"}[name]
    assert f"the {kind}" in msg and "columns found: 'user_id', 'session_id', 'event'" in msg


def test_a_column_that_cannot_be_used_is_an_error_naming_it():
    table = pa.table({"event": ["e"], "distinct_id": ["a"], "timestamp": ["2024-03-01T00:00:00Z"],
                      "tags": pa.array([[1, 2]], pa.list_(pa.int64()))})
    with pytest.raises(tc.ValidationError) as info:
        tc.EventStore.from_arrow(table)
    assert "tags" in str(info.value)


def test_cli_renames_any_format(tmp_path, capsys):
    files = inputs(tmp_path)
    flt = json.dumps({"events": [{"id": "buy"}], "breakdown": "platform", "display": "ActionsTable",
                      "date_from": "2024-03-01", "date_to": "2024-03-03"})
    outs = []
    for name in ("from_parquet", "from_jsonl", "from_csv"):
        code = cli_main(["query", "--events", str(files[name]), "--rename", "user_id=distinct_id",
                         "--rename", "time=timestamp", "--filter", flt, "--now", NOW, "--format", "json"])
        assert code in (0, None)
        outs.append(json.loads(capsys.readouterr().out))
    assert [[(s["breakdown_value"], s["aggregated_value"]) for s in o] for o in outs] == [[("ios", 2), ("web", 1)]] * 3
