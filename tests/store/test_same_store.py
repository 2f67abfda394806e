"""Every reader builds the same store, byte for byte, from the same events (issue #15).

The store is compared as saved (``store.save``: every column, dictionary and the manifest), so a
difference anywhere — a code, a dictionary order, a value's type — fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import trendcalc as tc
from trendcalc.store import columnar

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")

BROWSERS = ["Chrome", "Safari", "Firefox"]


def rows(n: int = 60) -> list[dict]:
    """Flat events: text, integer, float, boolean, date-like text, sparse and missing values."""
    out = []
    for i in range(n):
        r = {"event": ["$pageview", "purchase", "signup"][i % 3], "distinct_id": f"u{i % 7}",
             "timestamp": f"2024-03-{1 + i % 9:02d}T{i % 24:02d}:{i % 60:02d}:05Z",
             "$browser": BROWSERS[i % 3], "qty": i % 5, "price": round(9.5 + (i % 4) * 10.25, 2),
             "paid": i % 2 == 0, "signed_up": f"2024-02-{1 + i % 20:02d}"}
        if i % 4 == 0:
            r["coupon"] = "SPRING" if i % 8 == 0 else "WELCOME"
        if i % 6 == 0:
            del r["qty"]
        out.append(r)
    return out


def nested(r: dict) -> dict:
    fixed = ("event", "distinct_id", "timestamp")
    return {**{k: r[k] for k in fixed}, "properties": {k: v for k, v in r.items() if k not in fixed}}


def csv_cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def saved(store: tc.EventStore, path: Path) -> dict[str, bytes]:
    store.save(path)
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


@pytest.fixture
def files(tmp_path):
    data = rows()
    cols = ["event", "distinct_id", "timestamp", "$browser", "qty", "price", "paid", "signed_up", "coupon"]
    (tmp_path / "e.jsonl").write_text("".join(json.dumps(nested(r)) + "\n" for r in data))
    (tmp_path / "e.csv").write_text(",".join(cols) + "\n" + "".join(
        ",".join(csv_cell(r.get(c)) for c in cols) + "\n" for r in data))
    df = pd.DataFrame([{c: r.get(c) for c in cols} for r in data])
    df["qty"] = df["qty"].astype("Int64")
    df.to_parquet(tmp_path / "e.parquet", index=False)
    return tmp_path, data, df


def builds(tmp_path: Path, data: list[dict], df) -> dict[str, tc.EventStore]:
    return {
        "records (nested)": tc.EventStore.from_records([nested(r) for r in data]),
        "records (flat)": tc.EventStore.from_records(data),
        "jsonl": tc.EventStore.from_jsonl(tmp_path / "e.jsonl"),
        "csv": tc.EventStore.from_csv(tmp_path / "e.csv"),
        "pandas": tc.EventStore.from_pandas(df),
        "polars": tc.EventStore.from_polars(pl.from_pandas(df)),
        "arrow": tc.EventStore.from_arrow(pa.Table.from_pandas(df, preserve_index=False)),
        "parquet": tc.EventStore.from_parquet(tmp_path / "e.parquet"),
    }


def test_every_reader_builds_the_same_store(files):
    tmp_path, data, df = files
    # the files take the columnar path (else this would compare the row readers twice)
    assert columnar.jsonl_table(tmp_path / "e.jsonl") is not None
    assert columnar.csv_table(tmp_path / "e.csv", None, ",") is not None
    stores = builds(tmp_path, data, df)
    want = saved(stores["records (nested)"], tmp_path / "ref")
    assert len(stores["records (nested)"].properties) == 6
    for name, store in stores.items():
        got = saved(store, tmp_path / name.replace(" ", "_"))
        assert got.keys() == want.keys(), name
        assert [f for f in want if got[f] != want[f]] == [], name


def test_row_readers_build_the_same_store_without_pyarrow(files, monkeypatch):
    """The fallback (no pyarrow: the row readers and frames row by row) builds the same bytes."""
    tmp_path, data, df = files
    want = saved(tc.EventStore.from_jsonl(tmp_path / "e.jsonl"), tmp_path / "columnar")
    monkeypatch.setattr(columnar, "have_pyarrow", lambda: False)
    for name, store in {"records": tc.EventStore.from_records([nested(r) for r in data]),
                        "records (flat)": tc.EventStore.from_records(data),
                        "jsonl": tc.EventStore.from_jsonl(tmp_path / "e.jsonl"),
                        "csv": tc.EventStore.from_csv(tmp_path / "e.csv"),
                        "pandas": tc.EventStore.from_pandas(df)}.items():
        got = saved(store, tmp_path / f"rows_{name}")
        assert [f for f in want if got[f] != want[f]] == [], name


def test_whole_floats_keep_their_json_spelling(tmp_path):
    """JSON ``10`` and ``10.0`` are different texts; Arrow keeps one number: the columnar path
    finds the integer spellings, and the store is the row reader's, byte for byte."""
    lines = [{"event": "e", "distinct_id": "a", "timestamp": "2024-03-01T00:00:00Z", "properties": {"x": v}}
             for v in (10, 10.0, 2.5, 3, 10, 3.0)]
    path = tmp_path / "w.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines) + "\n")
    table, int_rows = columnar.jsonl_table(path)
    assert int_rows["x"].tolist() == [0, 3, 4]
    store = tc.EventStore.from_jsonl(path)
    assert [store.properties["x"].value(i) for i in range(6)] == [10, 10.0, 2.5, 3, 10, 3.0]
    assert [type(store.properties["x"].value(i)) for i in range(6)] == [int, float, float, int, int, float]
    assert columnar.records_table(lines)[1]["x"].tolist() == [0, 3, 4]
    got = saved(store, tmp_path / "columnar")
    for name, built in (("records", tc.EventStore.from_records(lines)), ("rows", _rows(lambda: tc.EventStore.from_records(lines)))):
        want = saved(built, tmp_path / name)
        assert [f for f in want if got[f] != want[f]] == [], name


def _rows(build):
    """``build()`` with the columnar paths off (the row readers only)."""
    real = columnar.have_pyarrow
    columnar.have_pyarrow = lambda: False
    try:
        return build()
    finally:
        columnar.have_pyarrow = real


def test_date_like_json_text_stays_text(tmp_path):
    """Arrow's JSON reader would make ``"2024-02-01"`` a timestamp; the store keeps the text."""
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"event": "e", "distinct_id": "a", "timestamp": "2024-03-01 10:00:00",
                                "properties": {"signed_up": "2024-02-01", "at": "2024-02-01 10:00:00"}}) + "\n")
    assert columnar.jsonl_table(path) is not None
    store = tc.EventStore.from_jsonl(path)
    assert store.properties["signed_up"].value(0) == "2024-02-01"
    assert store.properties["at"].value(0) == "2024-02-01 10:00:00"


def test_zero_and_minus_zero_stay_two_values_on_every_path():
    """-0.0 and 0.0 are equal numbers but two JSON values (``-0.0`` renders as such): the
    records path kept them apart, while a DataFrame's object column holding other numbers too
    (interned value by value) stored 0.0 as the -0.0 seen first — found by the long fuzz profile."""
    pd = pytest.importorskip("pandas")
    from trendcalc.store.columns import intern_key

    assert intern_key(0.0) != intern_key(-0.0) and intern_key(1.5) == intern_key(1.5)
    cells = [2**63 - 1, -0.0, 0.0, -0.0, 1]
    records = [{"event": "e", "distinct_id": f"u{i}", "timestamp": "2024-03-10T10:00:00Z", "properties": {"p": v}}
               for i, v in enumerate(cells)]
    frame = pd.DataFrame({"event": ["e"] * 5, "distinct_id": [f"u{i}" for i in range(5)],
                          "timestamp": pd.to_datetime(["2024-03-10T10:00:00Z"] * 5), "p": pd.Series(cells, dtype=object)})
    for store in (tc.EventStore.from_records(records), tc.EventStore.from_pandas(frame)):
        col = store.column("p")
        got = [col.dictionary.values[c] for c in col.codes.tolist()]
        assert [json.dumps(v) for v in got] == ["9223372036854775807", "-0.0", "0.0", "-0.0", "1"]


def test_a_dataframe_column_of_mixed_cells_is_never_coerced():
    """Arrow converts an object column by one inferred type: beside a datetime, the ints 0 and 5
    became the times 1970-01-01T00:00:00 and …00.000005, and beside 1.5 the int 1 became 1.0
    (found by the long fuzz profile). Such frames now go through the row path: it keeps each
    number's own value, and a datetime cell among other values is refused with its path (a
    DataFrame cell is a JSON value, or a whole datetime column), never stored as something else."""
    import datetime as dt

    pd = pytest.importorskip("pandas")
    base = {"event": ["e"] * 4, "distinct_id": list("abcd"), "timestamp": pd.to_datetime(["2024-03-10T10:00:00Z"] * 4)}
    store = tc.EventStore.from_pandas(pd.DataFrame({**base, "n": pd.Series([1, 1.5, None, 2], dtype=object)}))
    n = store.column("n")
    assert [json.dumps(n.value(i)) for i in range(4)] == ["1", "1.5", "null", "2"]
    mixed = pd.DataFrame({**base, "t": pd.Series([dt.datetime(2020, 1, 1), 0, 5, None], dtype=object)})
    with pytest.raises(tc.ValidationError, match=r"\$\.events\[0\]\.properties\.t: expected a JSON value, got datetime"):
        tc.EventStore.from_pandas(mixed)
