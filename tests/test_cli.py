"""The command line: query over each file kind, formats, plot, save/--store, one-line errors, exit 2."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from trendcalc.cli import main

EVENTS = [
    {"event": "$pageview", "distinct_id": "u1", "timestamp": "2024-03-01T10:00:00Z", "properties": {"$browser": "Chrome"}},
    {"event": "$pageview", "distinct_id": "u2", "timestamp": "2024-03-02T23:30:00Z", "properties": {"$browser": "Safari"}},
    {"event": "$pageview", "distinct_id": "anon", "timestamp": "2024-03-02T11:00:00Z"},
]
PERSONS = [{"distinct_ids": ["u1", "anon"], "properties": {"plan": "pro"}}]
FILTER = {"events": [{"id": "$pageview", "math": "dau"}], "date_from": "2024-03-01", "date_to": "2024-03-03"}
NOW = "2024-03-05T00:00:00Z"


@pytest.fixture
def files(tmp_path):
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in EVENTS))
    (tmp_path / "events.json").write_text(json.dumps(EVENTS))
    with open(tmp_path / "events.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["event", "distinct_id", "timestamp", "$browser"])
        for e in EVENTS:
            w.writerow([e["event"], e["distinct_id"], e["timestamp"], e.get("properties", {}).get("$browser", "")])
    (tmp_path / "persons.jsonl").write_text(json.dumps(PERSONS[0]) + "\n")
    (tmp_path / "filter.json").write_text(json.dumps(FILTER))
    return tmp_path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", ["events.jsonl", "events.json", "events.csv"])
def test_query_each_events_format(files, capsys, name):
    code, out, err = run(capsys, "query", "--events", files / name, "--persons", files / "persons.jsonl",
                         "--filter", files / "filter.json", "--now", NOW, "--format", "json")
    assert code == 0, err
    assert json.loads(out)[0]["data"] == [1, 2, 0]  # u1 and anon are one person


def test_formats_and_inline_filter(files, capsys):
    inline = json.dumps({**FILTER, "events": [{"id": "$pageview"}]})
    code, out, _ = run(capsys, "query", "--events", files / "events.jsonl", "--filter", inline, "--now", NOW)
    assert code == 0
    assert out.splitlines()[0].startswith("$pageview · ")  # the summary line
    assert out.splitlines()[2].split() == ["$pageview", "1", "2", "0", "3"]
    code, out, _ = run(capsys, "query", "--events", files / "events.jsonl", "--filter", inline, "--now", NOW, "--format", "csv")
    assert list(csv.reader(io.StringIO(out)))[1] == ["$pageview", "", "", "1", "2", "0", "3"]


def test_timezone_and_project(files, capsys):
    inline = json.dumps({**FILTER, "events": [{"id": "$pageview"}]})
    argv = ["query", "--events", files / "events.jsonl", "--filter", inline, "--now", NOW, "--format", "json"]
    assert json.loads(run(capsys, *argv, "--timezone", "Asia/Tokyo")[1])[0]["data"] == [1, 1, 1]  # 23:30Z is the 3rd there
    (files / "project.json").write_text('{"timezone": "Asia/Tokyo"}')
    assert json.loads(run(capsys, *argv, "--project", files / "project.json")[1])[0]["data"] == [1, 1, 1]


def test_plot(files, capsys):
    pytest.importorskip("matplotlib")
    png = files / "out.png"
    code, _, err = run(capsys, "query", "--events", files / "events.csv", "--filter", files / "filter.json",
                       "--now", NOW, "--plot", png)
    assert code == 0 and "plot written" in err
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(data[16:20], "big") == 800


def test_rename_csv_columns(files, capsys):
    (files / "mine.csv").write_text("user,what,when\nu1,$pageview,2024-03-01T10:00:00Z\nu2,$pageview,2024-03-02T10:00:00Z\n")
    argv = ["query", "--events", files / "mine.csv", "--filter", files / "filter.json", "--now", NOW, "--format", "json"]
    code, _, err = run(capsys, *argv)
    assert code == 2 and "the CSV has no 'event', 'distinct_id', 'timestamp' column" in err
    code, out, err = run(capsys, *argv, "--rename", "user=distinct_id", "--rename", "what=event", "--rename", "when=timestamp")
    assert code == 0, err
    assert json.loads(out)[0]["data"] == [1, 1, 0]
    code, _, err = run(capsys, *argv, "--rename", "user")
    assert code == 2 and "expected YOURS=OURS" in err


def test_save_then_query_store(files, capsys):
    code, _, err = run(capsys, "save", "--events", files / "events.jsonl", "--persons", files / "persons.jsonl",
                       "--out", files / "store")
    assert code == 0 and "saved to" in err
    code, out, _ = run(capsys, "query", "--store", files / "store", "--filter", files / "filter.json", "--now", NOW,
                       "--format", "json")
    assert json.loads(out)[0]["data"] == [1, 2, 0]
    code, _, err = run(capsys, "save", "--events", files / "events.jsonl", "--out", files / "store")
    assert code == 2 and "overwrite" in err


def test_validation_error_is_one_line_exit_2(files, capsys):
    bad = json.dumps({"events": [{"id": "$pageview", "math": "dauu"}]})
    code, out, err = run(capsys, "query", "--events", files / "events.jsonl", "--filter", bad)
    assert code == 2 and out == ""
    assert err == "trendcalc: error: $.events[0].math: unknown math 'dauu'; did you mean 'dau'?\n"


def test_bad_row_names_file_and_line(files, capsys):
    (files / "bad.jsonl").write_text(json.dumps(EVENTS[0]) + "\n" + json.dumps({**EVENTS[1], "timestamp": "soon"}) + "\n")
    code, _, err = run(capsys, "query", "--events", files / "bad.jsonl", "--filter", files / "filter.json")
    assert code == 2
    assert err == f"trendcalc: error: {files / 'bad.jsonl'}, line 2: $.timestamp: unparsable timestamp 'soon': expected ISO-8601\n"
    code, out, err = run(capsys, "query", "--events", files / "bad.jsonl", "--filter", files / "filter.json",
                         "--now", NOW, "--skip-bad-rows")
    assert code == 0 and "1 skipped" in err and "line 2: $.timestamp" in err


@pytest.mark.parametrize("argv, message", [
    (["--events", "missing.jsonl", "--filter", "{}"], "missing.jsonl: no such file"),
    (["--events", "events.txt", "--filter", "{}"], "unknown events format '.txt'"),
    (["--events", "events.jsonl", "--filter", "nope.json"], "--filter nope.json: No such file"),
    (["--events", "events.jsonl", "--filter", "{oops"], "--filter: invalid JSON"),
    (["--events", "events.jsonl", "--filter", "{}", "--timezone", "Mars/Base"], "$.timezone: unknown timezone"),
    (["--store", "events.jsonl", "--filter", "{}"], "not a directory"),
    (["--store", ".", "--persons", "p.jsonl", "--filter", "{}"], "go with --events"),
])
def test_input_errors(files, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(files)
    (files / "events.txt").write_text("")
    code, _, err = run(capsys, "query", *argv)
    assert code == 2 and message in err and err.count("\n") == 1


def test_help_has_examples():
    out = subprocess.run([sys.executable, "-m", "trendcalc", "query", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "examples:" in out.stdout and "trendcalc save" in out.stdout and "--skip-bad-rows" in out.stdout


def test_demo_still_runs(capsys):
    code, out, _ = run(capsys, "demo")
    assert code == 0 and "Pageviews per day" in out


def test_partition_then_query_on_every_core(files, capsys):
    """``trendcalc partition`` streams files by person; ``query --store`` opens the partitioned
    store (same answer as the file), ``--executor processes`` runs its partitions in a pool."""
    code, _, err = run(capsys, "partition", "--events", files / "events.csv", "--persons", files / "persons.jsonl",
                       "--out", files / "parts", "--partitions", 2)
    assert code == 0, err
    assert "2 partitions" in err and "--executor processes" in err
    want = json.loads(run(capsys, "query", "--events", files / "events.csv", "--persons", files / "persons.jsonl",
                          "--filter", files / "filter.json", "--now", NOW, "--format", "json")[1])
    assert want[0]["data"] == [1, 2, 0]
    for extra in ((), ("--executor", "none"), ("--executor", "processes")):
        code, out, err = run(capsys, "query", "--store", files / "parts", "--filter", files / "filter.json", "--now", NOW,
                             "--format", "json", *extra)
        assert code == 0, err
        assert json.loads(out) == want
    code, out, err = run(capsys, "query", "--store", files / "parts", "--now", NOW, "--format", "json", "--filter",
                         json.dumps({"kind": "LifecycleQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}],
                                     "dateRange": {"date_from": "2024-03-01", "date_to": "2024-03-03"}}))
    assert code == 0, err
    assert [d["status"] for d in json.loads(out)] == ["new", "returning", "resurrecting", "dormant"]
    code, _, err = run(capsys, "save", "--events", files / "events.csv", "--out", files / "store")
    assert code == 0, err
    code, _, err = run(capsys, "partition", "--events", files / "store", "--out", files / "parts2", "--partitions", 3)
    assert code == 0, err
    total = json.dumps({**FILTER, "display": "BoldNumber"})  # distinct persons over the range
    code, out, err = run(capsys, "query", "--store", files / "parts", "--filter", total, "--now", NOW, "--format", "json")
    assert code == 0, err
    assert json.loads(out)[0]["aggregated_value"] == 2  # u1 and anon are one person
    code, out, err = run(capsys, "query", "--store", files / "parts2", "--filter", total, "--now", NOW,
                         "--format", "json", "--executor", "processes")
    assert code == 0, err
    assert json.loads(out)[0]["aggregated_value"] == 3  # saved without persons: anon is a person of its own


@pytest.mark.parametrize(("argv", "message"), [
    (["query", "--events", "{d}/events.csv", "--executor", "processes"],
     "--executor processes runs the partitions of a partitioned store"),
    (["partition", "--events", "{d}/events.csv", "--out", "{d}/p", "--partitions", "0"], "--partitions 0: expected at least 1"),
    (["partition", "--events", "{d}/nothing-*.csv", "--out", "{d}/p", "--partitions", "2"], "no file matches"),
    (["partition", "--events", "{d}/events.csv", "--out", "{d}/p", "--partitions", "2", "--rename", "ts"],
     "--rename 'ts': expected YOURS=OURS"),
])
def test_partition_and_executor_input_errors(files, capsys, argv, message):
    argv = [a.format(d=files) for a in argv]
    if argv[0] == "query":
        argv += ["--filter", str(files / "filter.json")]
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1


def test_partitioning_a_saved_store_takes_no_ingest_options(files, capsys):
    assert run(capsys, "save", "--events", files / "events.csv", "--out", files / "store")[0] == 0
    code, _, err = run(capsys, "partition", "--events", files / "store", "--persons", files / "persons.jsonl",
                       "--out", files / "p", "--partitions", 2)
    assert code == 2
    assert "a saved store is partitioned on its own" in err
    assert not (files / "p").exists()


def test_the_source_may_be_given_without_its_flag(files, capsys):
    """``trendcalc query FILE_OR_DIR``: a file is --events, a directory --store."""
    want = run(capsys, "query", "--events", files / "events.csv", "--filter", files / "filter.json", "--now", NOW,
               "--format", "json")[1]
    assert run(capsys, "query", files / "events.csv", "--filter", files / "filter.json", "--now", NOW,
               "--format", "json")[1] == want
    assert run(capsys, "save", "--events", files / "events.csv", "--out", files / "store")[0] == 0
    assert run(capsys, "query", files / "store", "--filter", files / "filter.json", "--now", NOW,
               "--format", "json")[1] == want
    with pytest.raises(SystemExit):  # both: argparse refuses, as for --events with --store
        main(["query", str(files / "events.csv"), "--events", str(files / "events.csv"), "--filter", "{}"])


def test_a_partitioned_store_is_not_saved_or_partitioned_again(files, capsys):
    assert run(capsys, "partition", "--events", files / "events.csv", "--out", files / "parts", "--partitions", 2)[0] == 0
    for argv, words in ((["save", "--events", files / "parts", "--out", files / "s"], "it is saved already"),
                        (["partition", "--events", files / "parts", "--out", files / "p2", "--partitions", 3],
                         "partition its input files again")):
        code, out, err = run(capsys, *argv)
        assert code == 2 and out == ""
        assert err == f"trendcalc: error: {files / 'parts'} is a partitioned store: " + err.split(": ", 3)[3] and words in err
