"""Element filters (selector, tag_name, href, text) over the elements chain, and actions."""

from __future__ import annotations

import pytest

import trendcalc as tc
from trendcalc.engine.predicates.elements import (
    chain_href,
    chain_texts,
    elements_to_chain,
    parse_chain,
)
from trendcalc.query.selectors import parse_selector, selector_matches

from .helpers import events_of, mask

T, F = True, False
BUY = ('button.btn.primary:attr__class="btn primary"attr_id="buy"href="/checkout"nth-child="1"nth-of-type="1"'
       'text="Buy now";form.checkout:nth-child="2"nth-of-type="1";'
       'div.container:attr__data-attr="main"nth-child="1"nth-of-type="1"')  # fmt: skip
DOCS = 'a:href="https://x.com/a"nth-child="1"nth-of-type="1"text="Docs";nav:nth-child="1"nth-of-type="1"'
QUOTE = 'span:nth-child="1"nth-of-type="1"text="say \\"hi\\"; now"'
ROWS = [{"$elements_chain": BUY}, {"$elements_chain": DOCS}, {}]


def el(key, value, operator=None):
    d = {"key": key, "value": value, "type": "element"}
    if operator:
        d["operator"] = operator
    return [d]


def test_chain_parsing_and_derived_columns():
    els = parse_chain(BUY)
    assert [e.tag for e in els] == ["button", "form", "div"]
    assert els[0].classes == {"btn", "primary"}
    assert els[0].attributes["text"] == "Buy now"
    assert els[2].attributes["attr__data-attr"] == "main"
    assert chain_href(BUY) == "/checkout" and chain_href("div:nth-child=\"1\"") == ""
    assert chain_texts(BUY + ";" + DOCS) == ["Buy now", "Docs"]
    quoted = parse_chain(QUOTE)
    assert len(quoted) == 1 and quoted[0].attributes["text"] == 'say "hi"; now'


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("button", [T, F, F]),
        ("button.btn", [T, F, F]),
        (".btn.secondary", [F, F, F]),
        ("form > button", [T, F, F]),
        ("div button", [T, F, F]),
        ("div > button", [F, F, F]),
        ("#buy", [T, F, F]),
        ("[id='buy']", [T, F, F]),
        ("[data-attr='main']", [T, F, F]),
        ('div[data-attr="main"] button.primary', [T, F, F]),
        ("nav a", [F, T, F]),
        ("nav>a", [F, T, F]),
        ("a:nth-child(1)", [F, T, F]),
        ("form", [T, F, F]),  # any element of the chain, as upstream's regex search
        ("*", [T, T, F]),
    ],
)
def test_selector(selector, expected):
    assert mask(ROWS, el("selector", selector)) == expected
    assert mask(ROWS, el("selector", selector, "is_not")) == [not x for x in expected]


def test_selector_parse_errors():
    with pytest.raises(tc.ValidationError):
        parse_selector("div >", ("x",))
    with pytest.raises(tc.ValidationError) as e:
        tc.parse_filter({"events": [{"id": "e"}], "properties": el("selector", "div:hover")})
    assert e.value.path == ("properties", 0, "value")
    parts = parse_selector("div > a.x", ("x",))
    assert selector_matches(parts, parse_chain('a.x:nth-child="1";div:nth-child="1"'))
    assert not selector_matches(parts, parse_chain('a.x:nth-child="1";p:nth-child="1";div:nth-child="1"'))


def test_tag_name_href_text():
    assert mask(ROWS, el("tag_name", "button")) == [T, F, F]
    assert mask(ROWS, el("tag_name", "a")) == [F, T, F]
    assert mask(ROWS, el("tag_name", "but")) == [F, F, F]
    assert mask(ROWS, el("href", "/checkout")) == [T, F, F]
    assert mask(ROWS, el("href", "/checkout", "is_not")) == [F, T, T]  # "" without elements, not NULL
    assert mask(ROWS, el("href", "X.COM", "icontains")) == [F, T, F]
    assert mask(ROWS, el("href", "^https", "regex")) == [F, T, F]
    assert mask(ROWS, el("text", "Docs")) == [F, T, F]
    assert mask(ROWS, el("text", "Docs", "is_not")) == [T, F, F]  # no texts → FALSE
    assert mask(ROWS, el("text", "buy", "icontains")) == [T, F, F]
    assert mask(ROWS, el("text", ["Docs", "Buy now"])) == [T, T, F]
    assert mask(ROWS, el("text", ["Docs", "Buy now"], "is_not")) == [F, F, F]


def test_element_operator_restrictions():
    with pytest.raises(tc.ValidationError) as e:
        tc.parse_filter({"events": [{"id": "e"}], "properties": el("selector", "a", "icontains")})
    assert e.value.path == ("properties", 0, "operator")
    with pytest.raises(tc.ValidationError) as e:
        tc.parse_filter({"events": [{"id": "e"}], "properties": el("attr_id", "a")})
    assert e.value.path == ("properties", 0, "key")
    for key in ("selector", "href", "text"):  # upstream: or() of no member fails
        with pytest.raises(tc.ValidationError) as e:
            tc.parse_filter({"events": [{"id": "e"}], "properties": el(key, [], "is_not")})
        assert e.value.path == ("properties", 0, "value")


def test_elements_chain_as_an_event_property():
    assert mask(ROWS, [{"key": "$elements_chain", "operator": "icontains", "value": "form.checkout"}]) == [T, F, F]
    assert mask(ROWS, [{"key": "$elements_chain", "operator": "is_not_set"}]) == [F, F, F]  # a non-NULL column


def test_posthog_js_elements_list_is_serialised():
    elements = [{"tag_name": "button", "$el_text": "Go", "attr__class": "btn big", "attr__href": "/go", "nth_child": 2},
                {"tag_name": "div", "attr__id": "root"}]
    chain = elements_to_chain(elements)
    assert chain.startswith('button.big.btn:attr__class="btn big"attr__href="/go"href="/go"nth-child="2"')
    rows = [{"$elements": elements}, {"$elements": elements, "$elements_chain": DOCS}]
    assert mask(rows, el("selector", "#root button.btn")) == [T, F]  # $elements_chain wins
    assert mask(rows, el("text", "Go")) == [T, F]


# --- actions ---------------------------------------------------------------------------------------

EVENTS = [
    ("$pageview", {"$current_url": "https://posthog.com/pricing"}),
    ("$pageview", {"$current_url": "https://PostHog.com/Pricing"}),
    ("$pageview", {}),
    ("$autocapture", {"$current_url": "https://posthog.com/checkout", "$elements_chain": BUY}),
    ("$autocapture", {"$elements_chain": DOCS}),
    ("signed up", {"plan": "pro"}),
]


def _store():
    return tc.EventStore.from_records(
        [{"event": e, "distinct_id": "u", "timestamp": f"2020-01-01T00:00:0{i}Z", "properties": p} for i, (e, p) in enumerate(EVENTS)]
    )


def count(steps, action_id=1):
    project = tc.Project(actions=[{"id": 1, "name": "a", "steps": steps}])
    q = {"actions": [{"id": action_id}], "date_from": "2020-01-01", "date_to": "2020-01-01", "display": "ActionsTable"}
    out = tc.trends(_store(), q, project=project, now="2020-01-02").to_dicts()
    return out[0]["aggregated_value"] if out else None


def test_action_url_matching():
    assert count([{"event": "$pageview", "url": "posthog.com/pricing"}]) == 1  # contains: case-sensitive
    assert count([{"event": "$pageview", "url": "posthog.com/_ricing"}]) == 1  # LIKE wildcard
    assert count([{"event": "$pageview", "url": "https://posthog.com/pricing", "url_matching": "exact"}]) == 1
    assert count([{"event": "$pageview", "url": "(?i)pricing$", "url_matching": "regex"}]) == 2
    assert count([{"url": "checkout"}]) == 1  # no event: any event


def test_action_steps_are_ored_conditions_anded():
    steps = [{"event": "$pageview", "url": "pricing"}, {"event": "signed up", "properties": [{"key": "plan", "value": "pro"}]}]
    assert count(steps) == 2
    assert count(steps + [{"event": "$pageview", "url": "pricing"}]) == 2  # a union, not a sum
    assert count([{"event": "signed up", "properties": [{"key": "plan", "value": "free"}]}]) == 0


def test_action_element_conditions_only_on_autocapture():
    assert count([{"event": "$autocapture", "selector": "form > button", "text": "buy", "text_matching": "contains"}]) == 1
    assert count([{"event": "$autocapture", "href": "x.com", "href_matching": "contains"}]) == 1
    assert count([{"event": "$autocapture", "href": "/checkout"}]) == 1
    assert count([{"event": "$autocapture", "text": "Buy now"}]) == 1
    assert count([{"event": "$autocapture", "tag_name": "a"}]) == 1
    assert count([{"event": "$autocapture", "text": "^D", "text_matching": "regex"}]) == 1
    assert count([{"event": "$pageview", "selector": "button"}]) == 3  # ignored off $autocapture


def test_action_without_steps_matches_every_event_and_unknown_action_is_dropped():
    assert count([]) == 6
    assert count([{}]) == 6
    assert count([{"event": "$pageview"}], action_id=99) is None


def test_action_errors_name_the_step():
    with pytest.raises(tc.ValidationError) as e:
        count([{"event": "$pageview", "url": "(", "url_matching": "regex"}])
    assert e.value.path[:5] == ("project", "actions", 1, "steps", 0)
    with pytest.raises(tc.ValidationError) as e:
        count([{"event": "$autocapture", "selector": "a:hover"}])
    assert e.value.path == ("project", "actions", 1, "steps", 0, "selector")
    with pytest.raises(tc.ValidationError):
        count([{"event": "$pageview", "bogus": 1}])


def test_action_series_is_a_union_of_slices():
    from trendcalc.engine.context import QueryContext
    from trendcalc.engine.predicates.actions import action_rows

    store = _store()
    project = tc.Project(actions=[{"id": 1, "steps": [{"event": "signed up"}, {"event": "$pageview", "url": "Pricing"}]}])
    ctx = QueryContext(store, tc.parse_filter({"events": [{"id": "e"}]}), project, None, tc.Limits(), None)
    rows = action_rows(ctx, 1, 0, 2**62)
    assert sorted(store.event_names[store.event[r]] for r in rows) == ["$pageview", "signed up"]
    assert list(rows) == sorted(rows)


def test_events_of_helper_is_ordered():
    assert [e["distinct_id"] for e in events_of([{}, {}])] == ["d0", "d1"]
