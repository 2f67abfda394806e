"""Regression tests for issue #19 outside saved stores (those are in tests/store/test_store_hardening.py):
Arrow timestamps that wrapped, exceptions other than ValidationError, CSV formula injection, plot
labels read as mathtext, CLI tracebacks, breakdown_limit below 1, a non-UTF-8 CSV row."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import trendcalc as tc
from trendcalc.cli import main
from trendcalc.store.columns import BREAKDOWN_NULL
from trendcalc.store.report import IngestWarning

NOW = "2024-01-03T00:00:00Z"
RANGE = {"date_from": "2023-12-30", "date_to": "2024-01-02"}


def one_event_store(**props: object) -> tc.EventStore:
    return tc.EventStore.from_records([{"event": "a", "distinct_id": "x", "timestamp": "2024-01-01T00:00:00Z",
                                        "properties": props}])


# --- item 2: Arrow timestamps are range-checked before they are scaled --------------------------------
pa = pytest.importorskip("pyarrow")


def arrow_events(ts: object) -> object:
    return pa.table({"event": ["a"] * len(ts), "distinct_id": ["x"] * len(ts), "timestamp": ts})


@pytest.mark.parametrize(
    "ts",
    [
        pa.array([2**62, 1710237600], pa.timestamp("s")),  # µs = s * 10**6 overflowed to 1970
        pa.array([-(2**62), 1710237600], pa.timestamp("s")),
        pa.array([2**62, 1710237600], pa.timestamp("ms")),
        pa.array([2**62, 1710237600], pa.timestamp("s", "UTC")),
        pa.array([2**62, 1710237600], pa.date64()),  # escaped as ArrowInvalid
        pa.array([2**31 - 1, 19700], pa.date32()),
        pa.array([-(2**31), 19700], pa.date32()),
        pa.array([2**62, 1710237600], pa.int64()),  # epoch seconds
        pa.array([2**64 - 1, 1710237600], pa.uint64()),
    ],
)
def test_out_of_range_arrow_timestamps_do_not_wrap(ts: object) -> None:
    with pytest.raises(tc.ValidationError, match=r"events\[0\]\.timestamp: .*years 1900\.\.2299"):
        tc.EventStore.from_arrow(arrow_events(ts))


@pytest.mark.parametrize(
    "ts, first",
    [
        (pa.array([-2208988800, 10413791999], pa.timestamp("s")), "1900-01-01T00:00:00+00:00"),  # the edges hold
        (pa.array([-25567, 120529], pa.date32()), "1900-01-01T00:00:00+00:00"),
        (pa.array([2**63 - 1], pa.timestamp("ns")), "2262-04-11T23:47:16.854775+00:00"),  # all of ns fits
    ],
)
def test_arrow_timestamps_at_the_edges_are_kept(ts: object, first: str) -> None:
    store = tc.EventStore.from_arrow(arrow_events(ts))
    assert store.time_range()[0].isoformat() == first


def test_arrow_person_created_at_is_range_checked() -> None:
    persons = pa.table({"distinct_ids": [["x"]], "created_at": pa.array([2**62], pa.timestamp("s"))})
    with pytest.raises(tc.ValidationError, match=r"persons\[0\]\.created_at: .*outside years"):
        tc.EventStore.from_arrow(arrow_events(pa.array([1710237600], pa.timestamp("s"))), persons=persons)


# --- item 4: only ValidationError escapes ----------------------------------------------------------
@pytest.mark.parametrize(
    "expr, value",
    [
        ("substring(properties.p, 99999999999999999999, 2)", ""),
        ("substring(properties.p, -99999999999999999999, 2)", "he"),
        ("substring(properties.p, 2, 99999999999999999999)", "ello"),
        ("toString(round(1.5, 'inf'))", None),  # int(inf) raised OverflowError
        ("toString(round(1.25, 99999999999999999999))", "1.25"),
    ],
)
def test_hogql_int64_arguments_saturate(expr: str, value: str | None) -> None:
    r = tc.trends(one_event_store(p="hello"), {"events": [{"id": "a"}], "breakdown": expr, "breakdown_type": "hogql",
                                               **RANGE}, now=NOW)
    expected = BREAKDOWN_NULL if value in (None, "") else value
    assert [s["breakdown_value"] for s in r.to_dicts()] == [expected]


def test_frame_array_cells_are_lists() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"event": ["a"], "distinct_id": ["x"], "timestamp": ["2024-01-01"], "p": [np.array([1, 2])]})
    store = tc.EventStore.from_pandas(df)
    assert store.column("p").dictionary.values == ([1, 2],)


def test_frame_lone_surrogate_is_a_validation_error() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"event": ["a"], "distinct_id": ["x"], "timestamp": ["2024-01-01"],
                       "p": pd.Series(["\ud800"], dtype=object)})
    with pytest.raises(tc.ValidationError, match=r"events\[0\]\.properties\.p: string is not valid Unicode"):
        tc.EventStore.from_pandas(df)


@pytest.mark.parametrize("defs", [np.array([1, 2]), np.array([]), "abc", {"a": 1}])
def test_property_definitions_must_be_a_list(defs: object) -> None:
    with pytest.raises(tc.ValidationError, match="property_definitions: expected a list of objects"):
        tc.Project(property_definitions=defs)


# --- item 6: CSV formula injection ----------------------------------------------------------------
INJECTIONS = ["=HYPERLINK(A1)", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)"]
HARMLESS = ["-3", "+1.5e3", "plain", "a=b"]


def test_csv_cells_that_spreadsheets_run_are_neutralised() -> None:
    values = INJECTIONS + HARMLESS
    store = tc.EventStore.from_records([{"event": "a", "distinct_id": f"u{i}", "timestamp": "2024-01-01T00:00:00Z",
                                         "properties": {"p": v}} for i, v in enumerate(values)])
    result = tc.trends(store, {"events": [{"id": "a"}], "breakdown": "p", **RANGE}, now=NOW)
    assert {s["label"] for s in result.to_dicts()} == set(values)
    for opt_in, out in ((True, result.to_csv()), (False, result.to_csv(neutralize_formulas=False))):
        rows = list(csv.reader(io.StringIO(out)))[1:]
        assert all(r[0] == r[1] for r in rows)
        expected = {("'" + v if opt_in and v in INJECTIONS else v) for v in values}
        assert {r[0] for r in rows} == expected


@pytest.mark.parametrize("name", ["\tcmd", "\rcmd", "=1", "@x"])
def test_csv_series_names_are_neutralised_too(name: str) -> None:
    store = tc.EventStore.from_records([{"event": name, "distinct_id": "x", "timestamp": "2024-01-01T00:00:00Z"}])
    result = tc.trends(store, {"events": [{"id": name}], **RANGE}, now=NOW)
    assert result.to_dicts()[0]["label"] == name
    assert list(csv.reader(io.StringIO(result.to_csv(), newline="")))[1][0] == "'" + name
    assert list(csv.reader(io.StringIO(result.to_csv(neutralize_formulas=False), newline="")))[1][0] == name


def test_csv_neutralisation_keeps_numbers_and_totals() -> None:
    result = tc.trends(one_event_store(p="=1+1"), {"events": [{"id": "a"}], "breakdown": "p", **RANGE}, now=NOW)
    rows = list(csv.reader(io.StringIO(result.to_csv())))
    assert rows[1][:2] == ["'=1+1", "'=1+1"] and rows[1][3:] == ["0", "0", "1", "0", "1"]


# --- item 7: plot labels are text, not mathtext ------------------------------------------------------
@pytest.mark.parametrize("display", ["ActionsLineGraph", "ActionsPie", "ActionsBar", "ActionsBarValue", "BoldNumber"])
def test_plot_labels_with_dollars(display: str) -> None:
    pytest.importorskip("matplotlib")
    values = ["$x$", "$\\frac{1}{0}", "a$b", None]
    store = tc.EventStore.from_records([{"event": "a", "distinct_id": f"u{i}", "timestamp": "2024-01-01T00:00:00Z",
                                         "properties": {} if v is None else {"p": v}} for i, v in enumerate(values)])
    result = tc.trends(store, {"events": [{"id": "a"}], "breakdown": "p", "breakdown_limit": 3, "display": display,
                               **RANGE}, now=NOW)
    fig = result.plot()
    fig.savefig(io.BytesIO(), format="png")  # raised mathtext's ParseException
    assert result.plot()._repr_png_().startswith(b"\x89PNG")
    ax = fig.axes[0]
    texts = ax.get_legend().get_texts() if ax.get_legend() else [*ax.texts, *ax.get_yticklabels()]
    shown = []
    for t in texts:
        s, math = t._preprocess_math(t.get_text())  # what matplotlib will draw, and whether as math
        assert not math, t.get_text()
        shown.append(s)
    assert any("$x$" in s for s in shown) or display == "BoldNumber"
    assert not any("$$_posthog" in s for s in shown)
    if display in ("ActionsLineGraph", "ActionsBar", "ActionsPie"):
        assert any(s.startswith("Other") for s in shown)


def test_plot_names_the_null_sentinel() -> None:
    pytest.importorskip("matplotlib")
    store = tc.EventStore.from_records([{"event": "a", "distinct_id": "x", "timestamp": "2024-01-01T00:00:00Z"}])
    result = tc.trends(store, {"events": [{"id": "a"}], "breakdown": "p", **RANGE}, now=NOW)
    assert [t.get_text() for t in result.plot().axes[0].get_legend().get_texts()] == ["None"]


# --- item 9: the CLI prints one line and exits 2 ---------------------------------------------------------
@pytest.fixture
def events_csv(tmp_path: Path) -> Path:
    p = tmp_path / "events.csv"
    p.write_text("event,distinct_id,timestamp,p\na,x,2024-01-01T00:00:00Z,hello\n")
    return p


def cli(capsys: pytest.CaptureFixture, *argv: object) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_cli_filter_file_not_utf8_or_too_deep(capsys, tmp_path: Path, events_csv: Path) -> None:
    bad = tmp_path / "f.json"
    bad.write_bytes(b'{"events": [{"id": "a\xff"}]}')
    assert cli(capsys, "query", "--events", events_csv, "--filter", bad) == (2, f"trendcalc: error: --filter {bad}: not UTF-8 text (byte 21)\n")
    bad.write_text("[" * 100_000 + "]" * 100_000)
    assert cli(capsys, "query", "--events", events_csv, "--filter", bad) == (2, "trendcalc: error: --filter: JSON nested too deeply\n")


def test_cli_plot_path_checked_before_the_query(capsys, tmp_path: Path, events_csv: Path) -> None:
    pytest.importorskip("matplotlib")
    q = json.dumps({"events": [{"id": "a"}], **RANGE})
    code, err = cli(capsys, "query", "--events", events_csv, "--filter", q, "--now", NOW, "--plot", tmp_path / "no" / "x.png")
    assert code == 2 and "does not exist" in err
    code, err = cli(capsys, "query", "--events", events_csv, "--filter", q, "--now", NOW, "--plot", tmp_path / "x.xyz")
    assert code == 2 and "unknown image format '.xyz'" in err
    code, err = cli(capsys, "query", "--events", events_csv, "--filter", q, "--now", NOW, "--plot", tmp_path / "x.svg")
    assert code == 0 and (tmp_path / "x.svg").read_text().startswith("<?xml")


def test_cli_save_where_it_cannot_write(capsys, tmp_path: Path, events_csv: Path) -> None:
    code, err = cli(capsys, "save", "--events", events_csv, "--no-progress", "--out", events_csv / "store")
    assert code == 2 and err == f"trendcalc: error: {events_csv}: not a directory\n"


def test_cli_hogql_with_a_huge_offset(capsys, events_csv: Path) -> None:
    q = json.dumps({"events": [{"id": "a"}], "breakdown": "substring(properties.p, 99999999999999999999, 2)",
                    "breakdown_type": "hogql", **RANGE})
    assert main(["query", "--events", str(events_csv), "--filter", q, "--now", NOW, "--format", "json"]) == 0


def test_cli_internal_error_is_one_line(capsys, events_csv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import trendcalc.api

    def broken(*a: object, **k: object) -> None:
        raise TypeError("a bug")

    monkeypatch.setattr(trendcalc.api, "trends", broken)
    code, err = cli(capsys, "query", "--events", events_csv, "--filter", '{"events": [{"id": "a"}]}')
    assert code == 1 and err.startswith("trendcalc: internal error: TypeError: a bug (please report it")


# --- item 10: breakdown_limit, and a CSV row that is not UTF-8 --------------------------------------------
@pytest.mark.parametrize("limit", [0, -1, "-5"])
def test_breakdown_limit_below_one(limit: object) -> None:
    with pytest.raises(tc.ValidationError, match=r"\$\.breakdown_limit: expected a breakdown_limit of at least 1"):
        tc.trends(one_event_store(p="x"), {"events": [{"id": "a"}], "breakdown": "p", "breakdown_limit": limit}, now=NOW)
    with pytest.raises(tc.ValidationError, match="breakdown_limit"):
        tc.trends(one_event_store(p="x"), {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "a"}],
                                           "breakdownFilter": {"breakdown": "p", "breakdown_limit": limit}}, now=NOW)


def test_csv_row_not_utf8_is_reported_at_its_line(tmp_path: Path) -> None:
    p = tmp_path / "e.csv"
    good = "a,x,2024-01-01T00:00:00Z,ok\n" * 600  # more than one decoding chunk before the bad row
    p.write_bytes(b"event,distinct_id,timestamp,p\n" + good.encode() + b"a,x,2024-01-01T00:00:00Z,b\xffd\n")
    with pytest.raises(tc.InputRowError, match=r"e\.csv, line 602: .*not valid UTF-8 \(byte 0xff\)"):
        tc.EventStore.from_csv(p)
    with pytest.warns(IngestWarning):
        store = tc.EventStore.from_csv(p, errors="skip")
    assert len(store) == 600 and [s.row for s in store.ingest_report.skipped] == [602]
    p.write_bytes(b"ev\xffent,distinct_id,timestamp\n")
    with pytest.raises(tc.InputRowError, match=r"line 1: .*not valid UTF-8"):
        tc.EventStore.from_csv(p)


# --- item 2 in the DataFrame readers: the same wrap, and Polars' panic -----------------------------------
def test_pandas_datetime_seconds_do_not_wrap() -> None:
    pd = pytest.importorskip("pandas")
    ts = pd.Series(np.array([2**62, 1710237600], dtype="datetime64[s]"))
    df = pd.DataFrame({"event": ["a", "a"], "distinct_id": ["x", "y"], "timestamp": ts})
    with pytest.raises(tc.ValidationError, match=r"events\[0\]\.timestamp: timestamp outside years 1900\.\.2299"):
        tc.EventStore.from_pandas(df)
    with pytest.warns(IngestWarning):
        store = tc.EventStore.from_pandas(df, errors="skip")
    assert store.time_range()[0].isoformat() == "2024-03-12T10:00:00+00:00" and len(store) == 1


@pytest.mark.parametrize("unit", ["ms", "us", "ns"])
def test_polars_datetimes_out_of_range(unit: str) -> None:
    pl = pytest.importorskip("polars")
    big = pl.Series([-(2**62), 1710237600 * {"ms": 10**3, "us": 10**6, "ns": 10**9}[unit]]).cast(pl.Datetime(unit))
    df = pl.DataFrame({"event": ["a", "a"], "distinct_id": ["x", "y"], "timestamp": big})
    with pytest.raises(tc.ValidationError, match=r"events\[0\]\.timestamp: timestamp outside years"):
        tc.EventStore.from_polars(df)  # Polars panicked (a BaseException) converting it for Python
    prop = df.rename({"timestamp": "when"}).with_columns(timestamp=pl.lit("2024-03-12T10:00:00Z"))
    with pytest.raises(tc.ValidationError, match=r"events\[0\]\.properties\.when: expected a JSON value"):
        tc.EventStore.from_polars(prop)
    persons = pl.DataFrame({"distinct_ids": [["x"]], "created_at": big[:1]})
    with pytest.raises(tc.ValidationError, match=r"persons\[0\]\.created_at"):
        tc.EventStore.from_polars(prop.drop("when"), persons=persons)


def test_polars_date_out_of_range() -> None:
    pl = pytest.importorskip("polars")
    ts = pl.Series([2**31 - 1, 19794], dtype=pl.Int32).cast(pl.Date)
    df = pl.DataFrame({"event": ["a", "a"], "distinct_id": ["x", "y"], "timestamp": ts})
    with pytest.raises(tc.ValidationError, match=r"events\[0\]\.timestamp: timestamp outside years"):
        tc.EventStore.from_polars(df)
    assert tc.EventStore.from_polars(df[1:]).time_range()[0].isoformat() == "2024-03-12T00:00:00+00:00"


_ARRAY = np.array([1, 2])  # (``==`` on it answers an array, and ``if`` on that raises ValueError)
_ONE_EVENT = [{"event": "e", "distinct_id": "u", "timestamp": "2024-03-10T10:00:00Z"}]


@pytest.mark.parametrize(("call", "path"), [
    (lambda s: tc.trends(s, {"kind": _ARRAY, "series": []}, now="2024-03-11"), "$.kind"),
    (lambda s: tc.trends(s, {"events": [{"id": "e"}], "shown_as": _ARRAY}, now="2024-03-11"), "$.shown_as"),
    (lambda s: tc.trends(s, {"kind": "InsightVizNode", "source": {"kind": _ARRAY}}, now="2024-03-11"), "$.source.kind"),
    (lambda s: tc.stickiness(s, {"kind": _ARRAY}, now="2024-03-11"), "$.kind"),
    (lambda s: tc.lifecycle(s, {"kind": _ARRAY}, now="2024-03-11"), "$.kind"),
    (lambda s: tc.actors(s, {"kind": _ARRAY}, now="2024-03-11", day="2024-03-10"), "$.kind"),
    (lambda s: tc.actors(s, {"kind": "ActorsQuery", "search": _ARRAY, "source": {}}, now="2024-03-11"), "$.search"),
    (lambda s: tc.actors(s, {"kind": "ActorsQuery", "source": {"kind": _ARRAY}}, now="2024-03-11"), "$.source.kind"),
])
def test_an_array_where_the_insight_is_told_apart_is_a_validation_error(call: Any, path: str) -> None:
    """Telling Trends, Stickiness, Lifecycle and actors requests apart reads ``kind``,
    ``shown_as`` and ``insight`` before the filter is parsed; a NumPy array there (a notebook's
    value, found by the long fuzz profile) raised NumPy's "truth value of an array is ambiguous"
    ValueError instead of naming the field."""
    with pytest.raises(tc.ValidationError, match=re.escape(f"{path}: expected a JSON value, got ndarray")):
        call(tc.EventStore.from_records(_ONE_EVENT))


def test_an_insight_actors_query_over_a_parsed_filter_still_answers() -> None:
    """The request fields are checked as JSON values one by one, not the whole request: an
    InsightActorsQuery whose source is a parsed ``TrendsFilter`` (not JSON) answers as before."""
    store = tc.EventStore.from_records(_ONE_EVENT)
    filt = tc.parse_filter({"events": [{"id": "e"}], "date_from": "2024-03-09", "date_to": "2024-03-11"})
    rows = tc.actors(store, {"kind": "InsightActorsQuery", "source": filt, "day": "2024-03-10"}, now="2024-03-11").to_dicts()
    assert [r["event_distinct_ids"] for r in rows] == [["u"]]
