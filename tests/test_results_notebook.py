"""TrendsResult in notebooks: to_pandas/to_polars long form, plot() to a PNG, _repr_html_."""

from __future__ import annotations

import datetime as dt
import io

import attrs
import pytest

import trendcalc as tc
from trendcalc.results import SeriesResult, TrendsResult

NOW = "2024-03-04T12:00:00Z"
EVENTS = [
    {"event": "$pageview", "distinct_id": "u1", "timestamp": "2024-03-01T10:00:00Z", "properties": {"$browser": "Chrome"}},
    {"event": "$pageview", "distinct_id": "u1", "timestamp": "2024-03-01T11:00:00Z", "properties": {"$browser": "Chrome"}},
    {"event": "$pageview", "distinct_id": "u2", "timestamp": "2024-03-02T10:00:00Z", "properties": {"$browser": "<b>Safari</b>"}},
    {"event": "sign up", "distinct_id": "u2", "timestamp": "2024-03-03T10:00:00Z"},
]
RANGE = {"date_from": "2024-03-01", "date_to": "2024-03-03"}


@pytest.fixture(scope="module")
def store():
    return tc.EventStore.from_records(EVENTS)


def run(store, **q):
    return tc.trends(store, {"events": [{"id": "$pageview"}], **RANGE, **q}, now=NOW)


def compare_result() -> TrendsResult:
    """compare=True output (built by hand: compare is another issue's engine work)."""
    def series(period, data):
        return SeriesResult(label="$pageview", order=0, action=None, filter={"display": "ActionsLineGraph"},
                            data=data, labels=["1-Mar-2024", "2-Mar-2024"], days=["2024-03-01", "2024-03-02"],
                            count=sum(data), compare_label=period)
    return TrendsResult([series("current", [2, 1]), series("previous", [0, 4])])


# --- DataFrames -----------------------------------------------------------------------------------
def test_to_pandas_long_form(store):
    pd = pytest.importorskip("pandas")
    df = run(store, breakdown="$browser").to_pandas()
    assert list(df.columns) == ["series", "order", "breakdown_value", "compare_label", "date", "value"]
    assert df["date"].dtype.kind == "M" and df["value"].dtype == "int64"
    got = {(r.breakdown_value, r.date.date().isoformat()): r.value for r in df.itertuples()}
    assert got == {("Chrome", "2024-03-01"): 2, ("Chrome", "2024-03-02"): 0, ("Chrome", "2024-03-03"): 0,
                   ("<b>Safari</b>", "2024-03-01"): 0, ("<b>Safari</b>", "2024-03-02"): 1, ("<b>Safari</b>", "2024-03-03"): 0}
    assert df["compare_label"].isna().all()
    assert isinstance(df, pd.DataFrame)


def test_to_pandas_total_value_and_two_series_with_one_label(store):
    pytest.importorskip("pandas")
    r = tc.trends(store, {"events": [{"id": "$pageview"}, {"id": "$pageview", "math": "dau"}], **RANGE,
                          "display": "ActionsPie"}, now=NOW)
    df = r.to_pandas()
    # the two series of one event are told apart by their math (PostHog labels both "$pageview")
    assert df[["series", "order", "value"]].values.tolist() == [["$pageview (total)", 0, 3], ["$pageview (dau)", 1, 2]]
    assert df["date"].isna().all()


def test_to_polars_matches_pandas(store):
    pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    r = run(store, breakdown="$browser")
    df = r.to_polars()
    assert isinstance(df, pl.DataFrame)
    assert df.columns == ["series", "order", "breakdown_value", "compare_label", "date", "value"]
    assert df.schema["date"] == pl.Datetime("us") and df.schema["value"] == pl.Int64
    assert df.rows() == [tuple(None if v is None else v for v in row) for row in r.to_pandas().astype(object)
                         .where(r.to_pandas().notna(), None).itertuples(index=False, name=None)]
    assert df.row(0)[4] == dt.datetime(2024, 3, 1)


def test_compare_rows_are_labelled():
    pytest.importorskip("pandas")
    df = compare_result().to_pandas()
    assert df["compare_label"].tolist() == ["current", "current", "previous", "previous"]
    assert df["value"].tolist() == [2, 1, 0, 4]


def test_float_values_stay_floats():
    pytest.importorskip("pandas")
    r = compare_result()
    r = attrs.evolve(r, series=[attrs.evolve(r.series[0], data=[1.5, 2]), *r.series[1:]])  # results are frozen
    assert r.to_pandas()["value"].dtype == "float64"


# --- plot -------------------------------------------------------------------------------------------
def png_size(fig) -> tuple[int, int, bytes]:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    data = buf.getvalue()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return width, height, data


@pytest.mark.parametrize("display", ["ActionsLineGraph", "ActionsAreaGraph", "ActionsLineGraphCumulative", "ActionsBar",
                                     "ActionsUnstackedBar", "ActionsPie", "ActionsBarValue", "ActionsTable", "BoldNumber"])
def test_plot_renders_a_png_of_the_expected_size(store, display):
    pytest.importorskip("matplotlib")
    fig = run(store, breakdown="$browser", display=display).plot(title=display)
    width, height, data = png_size(fig)
    assert (width, height) == (800, 450)
    assert len(data) > 5_000  # drawn, not blank


def test_plot_kind_follows_the_display(store):
    pytest.importorskip("matplotlib")
    ax = run(store, breakdown="$browser").plot().axes[0]
    assert [line.get_ydata().tolist() for line in ax.get_lines()] == [[2, 0, 0], [0, 1, 0]]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Chrome", "<b>Safari</b>"]
    ax = run(store, breakdown="$browser", display="ActionsAreaGraph").plot().axes[0]
    assert [line.get_ydata().tolist() for line in ax.get_lines()] == [[2, 0, 0], [2, 1, 0]]  # stacked
    ax = run(store, breakdown="$browser", display="ActionsStackedBar").plot().axes[0]
    assert [round(p.get_height()) for p in ax.patches] == [2, 0, 0, 0, 1, 0]
    assert [round(p.get_y()) for p in ax.patches][3:] == [2, 0, 0]  # stacked on Chrome
    ax = run(store, breakdown="$browser", display="ActionsPie").plot().axes[0]
    assert sorted(t.get_text() for t in ax.texts if "(" in t.get_text()) == ["<b>Safari</b> (1)", "Chrome (2)"]
    ax = run(store, display="BoldNumber", date_from="-7d").plot().axes[0]
    assert ax.texts[0].get_text() == "3"


def test_plot_compare_is_dotted_in_the_same_colour():
    pytest.importorskip("matplotlib")
    ax = compare_result().plot().axes[0]
    current, previous = ax.get_lines()
    assert current.get_linestyle() == "-" and previous.get_linestyle() == ":"
    assert current.get_color() == previous.get_color()
    assert previous.get_xdata().tolist() == current.get_xdata().tolist() == [0, 1]


def test_figure_shows_itself_in_jupyter(store):
    pytest.importorskip("matplotlib")
    png = run(store).plot()._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(png[16:20], "big") == 800


def test_plot_into_given_axes_and_empty_result(store):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    assert run(store).plot(ax=ax) is fig
    assert png_size(TrendsResult([]).plot())[:2] == (800, 450)


def test_plot_does_not_touch_pyplot(store):
    pytest.importorskip("matplotlib")
    import sys

    had = "matplotlib.pyplot" in sys.modules
    run(store).plot()
    assert ("matplotlib.pyplot" in sys.modules) == had


# --- HTML ---------------------------------------------------------------------------------------------
def test_repr_html_is_a_compact_escaped_table(store):
    html = run(store, breakdown="$browser")._repr_html_()
    assert "<b>Safari</b>" not in html and "&lt;b&gt;Safari&lt;/b&gt;" in html
    assert html.count("<tr>") == 3  # header + two series
    assert ">1-Mar-2024</th>" in html and ">total</th>" in html and ">breakdown</th>" in html


def test_repr_html_cuts_long_results():
    data = list(range(30))
    s = SeriesResult(label="x", order=0, action=None, filter={}, data=data, labels=[f"d{i}" for i in range(30)],
                     days=[f"2024-01-{i + 1:02d}" for i in range(30)], count=sum(data))
    html = TrendsResult([s] * 40)._repr_html_()
    assert html.count("<tr>") == 1 + 20  # header + 14 + "…" + 5
    assert ">d0</th>" in html and ">d29</th>" in html and ">d10</th>" not in html
    assert ">…</th>" in html and ">435</td>" in html


def test_repr_html_total_value(store):
    html = run(store, display="BoldNumber", date_from="-7d")._repr_html_()
    assert ">value</th>" in html and ">3</td>" in html and "BoldNumber" in html
