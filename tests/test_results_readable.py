"""Results that read well (issue: helpful answers): names that say which series, readable
sentinels, one summary style for the table and the HTML view, plots that never choke on data."""

from __future__ import annotations

import warnings

import pytest

import trendcalc as tc

EVENTS = [{"event": "$pageview", "distinct_id": f"u{i % 5}", "timestamp": f"2024-03-{1 + i % 20:02d}T10:00:00Z",
           "properties": {"$browser": ["$x$", "Chrome", None][i % 3]}} for i in range(60)]  # fmt: skip
STORE = tc.EventStore.from_records(EVENTS)
RANGE = {"date_from": "2024-03-01", "date_to": "2024-03-20"}


def trends(query):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tc.TrendcalcWarning)
        return tc.trends(STORE, {**RANGE, **query}, now="2024-03-21")


def test_a_one_series_breakdown_keeps_the_event_name_and_the_value_apart():
    r = trends({"events": [{"id": "$pageview", "math": "dau"}], "breakdown": "$browser"})
    assert {d["label"] for d in r.to_dicts()} == {"$x$", "Chrome", "$$_posthog_breakdown_null_$$"}  # PostHog's labels
    pytest.importorskip("pandas")
    df = r.to_pandas()
    assert set(df["series"]) == {"$pageview"}
    assert set(df["breakdown_value"]) == {"$x$", "Chrome", "$$_posthog_breakdown_null_$$"}


def test_two_series_of_one_event_are_told_apart_by_their_math():
    r = trends({"events": [{"id": "$pageview", "math": "dau"}, {"id": "$pageview", "custom_name": "Views"},
                           {"id": "$pageview"}]})
    from trendcalc.formatting import legend_names

    assert legend_names(r.series) == ["$pageview (dau)", "Views", "$pageview (total)"]


def test_table_and_html_share_the_summary_line():
    r = trends({"events": [{"id": "$pageview"}], "breakdown": "$browser"})
    assert r.summary() == "$pageview · 2024-03-01 – 2024-03-20 · day · UTC"
    assert r.table().splitlines()[0] == r.summary()
    html = r._repr_html_()
    assert "$pageview · 2024-03-01 – 2024-03-20 · day · UTC" in html
    assert ">None<" in html and "$$_posthog" not in html  # the null sentinel reads as None
    table = r.table(max_columns=6)
    assert "…" in table and "1-Mar-2024" in table and "20-Mar-2024" in table  # first and last buckets


def test_html_escapes_every_value():
    store = tc.EventStore.from_records([{"event": "<b>x</b>", "distinct_id": "u", "timestamp": "2024-03-01T00:00:00Z",
                                         "properties": {"p": "<script>"}}])
    r = tc.trends(store, {"events": [{"id": "<b>x</b>"}], "breakdown": "p", **RANGE}, now="2024-03-21")
    html = r._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html and "<b>x</b>" not in html


@pytest.mark.parametrize("display", ["ActionsLineGraph", "ActionsBar", "ActionsPie", "ActionsTable", "BoldNumber"])
def test_plots_of_null_other_and_dollar_labels(display):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    q = {"events": [{"id": "$pageview", "math": "dau"}], "breakdown": "$browser", "breakdown_limit": 1, "display": display}
    fig = trends(q).plot()
    fig.canvas.draw()  # mathtext would raise here on an unescaped "$…$"
    ax = fig.axes[0]
    if display in ("ActionsLineGraph", "ActionsBar"):
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert any("Other" in t for t in labels) and all("$$_posthog" not in t for t in labels)
        assert ax.get_ylabel() == "unique users"


def test_results_are_frozen():
    import attrs

    r = trends({"events": [{"id": "$pageview"}]})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        r.series[0].count = 0  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        r.warnings = ()  # type: ignore[misc]
