"""pandas and Polars DataFrames in: typed cells, datetime columns, nulls, errors with row and field."""

from __future__ import annotations

import subprocess
import sys

import pytest

import trendcalc as tc
from trendcalc.store.report import IngestWarning

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")

NOW = "2024-03-05T12:00:00Z"


def frame_data():
    return {
        "event": ["$pageview", "$pageview", "purchase"],
        "distinct_id": ["u1", "u2", "u1"],
        "timestamp": ["2024-03-01T10:00:00+01:00", "2024-03-02T10:00:00Z", "2024-03-02T11:00:00Z"],
        "$browser": ["Chrome", None, "Chrome"],
        "revenue": [None, None, 29.9],
        "seats": [1, 2, 3],
        "paid": [False, False, True],
    }


def values(store, key):
    col = store.column(key)
    return [col.value(i) for i in range(len(store))]


def check(store):
    assert len(store) == 3
    assert store.ts.tolist() == [1709283600000000, 1709373600000000, 1709377200000000]
    assert values(store, "$browser") == ["Chrome", None, "Chrome"]
    assert values(store, "revenue") == [None, None, 29.9]
    assert values(store, "seats") == [1, 2, 3] and all(type(v) is int for v in values(store, "seats"))
    assert values(store, "paid") == [False, False, True]


@pytest.mark.parametrize("ts_kind", ["text", "datetime"])
def test_pandas(ts_kind):
    df = pd.DataFrame(frame_data())
    if ts_kind == "datetime":
        df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True, format="ISO8601").dt.tz_convert("Europe/Berlin")
    before = df.copy()
    check(tc.EventStore.from_pandas(df))
    pd.testing.assert_frame_equal(df, before)


@pytest.mark.parametrize("ts_kind", ["text", "datetime"])
def test_polars(ts_kind):
    df = pl.DataFrame(frame_data())
    if ts_kind == "datetime":
        df = df.with_columns(pl.col("timestamp").str.to_datetime(time_zone="UTC"))
    check(tc.EventStore.from_polars(df))


def test_naive_datetimes_are_utc():
    df = pd.DataFrame({"event": ["e"], "distinct_id": ["d"], "timestamp": pd.to_datetime(["2024-03-01 10:00"])})
    assert tc.EventStore.from_pandas(df).ts.tolist() == [1709287200000000]
    assert tc.EventStore.from_polars(pl.from_pandas(df)).ts.tolist() == [1709287200000000]


def test_properties_column_and_rename():
    df = pd.DataFrame({"name": ["e", "e"], "user": ["a", "b"], "when": ["2024-03-01", "2024-03-02"],
                       "properties": [{"k": [1, 2]}, '{"k": "text"}']})
    store = tc.EventStore.from_pandas(df, rename={"name": "event", "user": "distinct_id", "when": "timestamp"})
    assert values(store, "k") == [[1, 2], "text"]


def test_same_numbers_as_records():
    data = frame_data()
    records = [{"event": e, "distinct_id": d, "timestamp": t, "properties": {"$browser": b} if b else {}}
               for e, d, t, b in zip(data["event"], data["distinct_id"], data["timestamp"], data["$browser"])]
    q = {"events": [{"id": "$pageview"}], "date_from": "2024-03-01", "date_to": "2024-03-03", "breakdown": "$browser"}
    want = tc.trends(tc.EventStore.from_records(records), q, now=NOW).to_dicts()
    assert tc.trends(tc.EventStore.from_pandas(pd.DataFrame(data)), q, now=NOW).to_dicts() == want
    assert tc.trends(tc.EventStore.from_polars(pl.DataFrame(data)), q, now=NOW).to_dicts() == want


def test_bad_rows_name_index_and_field():
    df = pd.DataFrame({"event": ["e", "e", None], "distinct_id": ["a", "b", "c"],
                       "timestamp": pd.to_datetime(["2024-03-01", None, "2024-03-01"])})
    with pytest.raises(tc.ValidationError) as info:
        tc.EventStore.from_pandas(df)
    assert info.value.path == ("events", 1, "timestamp")
    with pytest.warns(IngestWarning):
        store = tc.EventStore.from_polars(pl.from_pandas(df), errors="skip")
    assert [str(s) for s in store.ingest_report.skipped] == [
        "events[1]: $.timestamp: missing timestamp",
        "events[2]: $.event: expected a non-empty event name, got None",
    ]
    with pytest.raises(tc.ValidationError, match="expected a pandas DataFrame"):
        tc.EventStore.from_pandas(pl.from_pandas(df))


def test_persons_as_dataframe():
    events = pd.DataFrame({"event": ["e", "e"], "distinct_id": ["a", "b"], "timestamp": ["2024-03-01", "2024-03-02"]})
    persons = pd.DataFrame({"distinct_ids": [["a", "b"]], "properties": [{"plan": "pro"}]})
    store = tc.EventStore.from_pandas(events, persons=persons)
    assert len(store.persons) == 1 and store.persons.column("plan").value(0) == "pro"
    store = tc.EventStore.from_polars(pl.from_pandas(events), persons=pl.DataFrame({"distinct_ids": [["a", "b"]]}))
    assert len(store.persons) == 1


def test_import_trendcalc_imports_no_optional_library():
    code = ("import sys, trendcalc, trendcalc.store.eventstore; "
            "print([m for m in ('pandas', 'polars', 'pyarrow', 'matplotlib', 'tqdm') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_pandas_int_cells_past_int64_are_kept_as_records_keep_them():
    """Found by the long fuzz profile: an object column holding an int past int64 made Arrow's
    conversion raise OverflowError out of from_pandas; the frame now goes row by row and keeps
    the integers exactly, as from_records does."""
    cells = [2**63, 1, -(2**63) - 1]
    df = pd.DataFrame({"event": ["e"] * 3, "distinct_id": ["u1", "u2", "u3"], "timestamp": ["2024-03-01T10:00:00Z"] * 3,
                       "n": pd.Series(cells, dtype=object)})
    store = tc.EventStore.from_pandas(df)
    records = tc.EventStore.from_records([{"event": "e", "distinct_id": f"u{i + 1}", "timestamp": "2024-03-01T10:00:00Z",
                                           "properties": {"n": c}} for i, c in enumerate(cells)])
    assert values(store, "n") == cells == values(records, "n")


def test_pandas_datetimes_past_python_datetime_name_their_row():
    """Found by the long fuzz profile: a zoned datetime column holding an instant past year 9999
    made pandas raise NotImplementedError (converting the column to Python datetimes) instead of
    the row's ValidationError; under errors="skip" the row is skipped and the others kept."""
    import numpy as np

    raw = np.array([1_700_000_000, 300_000_000_000], dtype=np.int64).view("datetime64[s]")  # 2023, year 11476
    ts = pd.Series(raw).dt.tz_localize("UTC").dt.tz_convert("America/New_York")
    df = pd.DataFrame({"event": ["e", "e"], "distinct_id": ["u1", "u2"], "timestamp": ts, "p": ["x", "y"]})
    with pytest.raises(tc.ValidationError) as err:
        tc.EventStore.from_pandas(df)
    assert err.value.path == ("events", 1, "timestamp") and "outside years 1900..2299" in err.value.message
    with pytest.warns(IngestWarning, match="skipped 1 malformed row"):
        store = tc.EventStore.from_pandas(df, errors="skip")
    assert store.ts.tolist() == [1_700_000_000_000_000] and values(store, "p") == ["x"]


@pytest.mark.parametrize("tz", [None, "America/New_York"])
def test_pandas_datetime_properties_are_the_same_text_on_every_path(tz):
    """A datetime property column is stored as the Arrow path stores it (ISO text, ``Z`` when
    zoned) also when the frame goes row by row — another column Arrow cannot convert, or
    errors="skip" — where every row used to fail with "expected a JSON value, got Timestamp".
    Outside years 1900..2299 the row is refused, naming it; a persons frame's datetimes still
    read as instants."""
    import numpy as np

    ms = np.array([1_700_000_000_123, 1_600_000_000_000, 300_000_000_000_000], dtype=np.int64).view("datetime64[ms]")
    signup = pd.Series(ms)
    if tz:
        signup = signup.dt.tz_localize("UTC").dt.tz_convert(tz)
    base = {"event": ["e"] * 3, "distinct_id": ["u1", "u2", "u3"], "timestamp": ["2024-03-01T10:00:00Z"] * 3, "signup": signup}
    z = "Z" if tz else ""
    want = [f"2023-11-14T22:13:20.123{z}", f"2020-09-13T12:26:40.000{z}"]
    arrow = tc.EventStore.from_pandas(pd.DataFrame(base).iloc[:2])
    rows = tc.EventStore.from_pandas(pd.DataFrame({**base, "mixed": pd.Series([1, "x", 2], dtype=object)}).iloc[:2])
    assert values(arrow, "signup") == want == values(rows, "signup")
    refusals = []
    for frame in (pd.DataFrame(base), pd.DataFrame({**base, "mixed": pd.Series([1, "x", 2], dtype=object)})):
        with pytest.raises(tc.ValidationError) as err:
            tc.EventStore.from_pandas(frame)  # (the Arrow path, then row by row)
        refusals.append((err.value.path, err.value.message))
    assert refusals == [(("events", 2, "properties", "signup"),
                         "expected a JSON value: a datetime within years 1900..2299")] * 2
    with pytest.warns(IngestWarning, match="skipped 1 malformed row"):
        skipped = tc.EventStore.from_pandas(pd.DataFrame(base), errors="skip")
    assert values(skipped, "signup") == want
    persons = pd.DataFrame({"distinct_ids": [["u1"]], "created_at": signup.iloc[:1]})  # (a datetime column there too)
    store = tc.EventStore.from_pandas(pd.DataFrame(base).iloc[:1], persons=persons)
    assert store.persons.created_at.tolist() == [1_700_000_000_123_000]


@pytest.mark.parametrize("unit", ["ms", "us", "ns"])
@pytest.mark.parametrize("tz", [None, "America/New_York"])
def test_polars_datetime_and_date_properties_are_the_same_text_on_every_path(unit, tz):
    """Polars Datetime and Date property columns: the Arrow path's text also row by row
    (errors="skip" used to skip every row: Python datetimes are no JSON value), and a zoned
    nanosecond column in UTC (it printed its local wall clock with a ``Z``)."""
    import datetime as dt

    signup = pl.Series([dt.datetime(2023, 11, 14, 22, 13, 20, 123000), dt.datetime(2020, 9, 13, 12, 26, 40)]).cast(pl.Datetime(unit))
    if tz:
        signup = signup.dt.replace_time_zone("UTC").dt.convert_time_zone(tz)
    df = pl.DataFrame({"event": ["e", "e"], "distinct_id": ["u1", "u2"], "timestamp": ["2024-03-01T10:00:00Z"] * 2,
                       "signup": signup, "day": [dt.date(2020, 1, 1), dt.date(2021, 1, 1)]})
    digits = "123" if unit == "ms" else "123000"
    z = "Z" if tz else ""
    want = [f"2023-11-14T22:13:20.{digits}{z}", f"2020-09-13T12:26:40.{'0' * len(digits)}{z}"]
    for store in (tc.EventStore.from_polars(df), tc.EventStore.from_polars(df, errors="skip"),
                  tc.EventStore.from_pandas(df.to_pandas())):
        assert values(store, "signup") == want
    assert values(tc.EventStore.from_polars(df, errors="skip"), "day") == ["2020-01-01", "2021-01-01"]


def test_polars_temporal_cells_out_of_range_are_refused_as_the_arrow_path_refuses_them():
    """A Polars Date or Datetime property cell outside years 1900..2299: the same message on the
    Arrow path and row by row (which used to say "got OutOfRangeTime"); errors="skip" skips it."""
    import datetime as dt

    df = pl.DataFrame({"event": ["e", "e"], "distinct_id": ["u1", "u2"], "timestamp": ["2024-03-01T10:00:00Z"] * 2,
                       "day": [dt.date(2020, 1, 1), dt.date(1850, 1, 1)]})
    refusals = []
    for frame in (df, df.with_columns(mixed=pl.Series([1, "x"], dtype=pl.Object))):  # (Arrow, then row by row)
        with pytest.raises(tc.ValidationError) as err:
            tc.EventStore.from_polars(frame)
        refusals.append((err.value.path, err.value.message))
    assert refusals == [(("events", 1, "properties", "day"), "expected a JSON value: a datetime within years 1900..2299")] * 2
    with pytest.warns(IngestWarning, match="skipped 1 malformed row"):
        assert values(tc.EventStore.from_polars(df, errors="skip"), "day") == ["2020-01-01"]
