"""The ten benchmark queries, each as a trendcalc filter and as DuckDB SQL and a Polars plan with
the same semantics (PostHog's time axis written out as literal UTC bounds).

Every engine's answer is normalised to ``{series key: [value per bucket]}`` so they can be
compared; a breakdown's key is its value (top 25 by total, then Other), a plain series' key its
name. ``NOW`` is frozen at 2026-10-31T18:00:00Z; the data ends 2026-11-01T00:00:00Z.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import attrs

NOW = "2026-10-31T18:00:00Z"
NULL = "$$_posthog_breakdown_null_$$"
OTHER = "$$_posthog_breakdown_other_$$"
DAY_US, HOUR_US = 86_400_000_000, 3_600_000_000
TEST_ACCOUNTS = [{"key": "email", "value": "@posthog.com", "operator": "not_icontains", "type": "person"}]


def _t(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s)


# PostHog's axes for NOW, written out (UTC project unless said otherwise):
D30_LO, D30_HI, D30_N = _t("2026-10-01 00:00:00"), _t("2026-10-31 23:59:59"), 31  # -30d, day
W90_LO, W90_HI, W90_N = _t("2026-08-02 00:00:00"), _t("2026-10-31 23:59:59"), 13  # -90d, week (Sunday)
WAU_LO = _t("2026-09-24 00:00:00")  # date_from − 7 days
H7_LO, H7_HI, H7_N = _t("2026-10-24 07:00:00"), _t("2026-10-31 18:59:59"), 180  # -7d, hour, Los Angeles


@attrs.frozen
class BenchQuery:
    name: str
    title: str
    filter: dict[str, Any]
    project: dict[str, Any]
    duckdb: Callable[[Any], list[tuple]]  # con → rows (key, bucket index, value)
    polars: Callable[[Any, Any], Any]  # (events, persons) → DataFrame (key, bucket, value)
    n_buckets: int
    breakdown_limit: int | None = None  # rank keys by total, keep top N, fold the rest into Other


def _pv(**extra: Any) -> dict[str, Any]:
    return {"events": [{"id": "$pageview", "type": "events", **extra}], "date_from": "-30d", "interval": "day"}


# --- DuckDB -----------------------------------------------------------------------------------
# events(event, distinct_id, ts TIMESTAMP (UTC), person_id, url, browser, os, country, session_id, revenue)
# persons(id, plan, email)

D30 = f"ts >= TIMESTAMP '{D30_LO}' AND ts <= TIMESTAMP '{D30_HI}'"
DAY_B = f"datediff('day', TIMESTAMP '{D30_LO}', date_trunc('day', ts))"


def dq(sql: str) -> Callable[[Any], list[tuple]]:
    return lambda con: con.execute(sql).fetchall()


DUCK = {
    "Q1": dq(f"SELECT '$pageview', {DAY_B}, count(*) FROM events WHERE event = '$pageview' AND {D30} GROUP BY 2"),
    "Q2": dq(f"SELECT '$pageview', {DAY_B}, count(DISTINCT person_id) FROM events "
             f"WHERE event = '$pageview' AND {D30} GROUP BY 2"),
    "Q3": dq(f"SELECT coalesce(nullif(browser, ''), '{NULL}'), {DAY_B}, count(*) FROM events "
             f"WHERE event = '$pageview' AND {D30} GROUP BY 1, 2"),
    "Q4": dq(f"SELECT coalesce(nullif(url, ''), '{NULL}'), {DAY_B}, count(*) FROM events "
             f"WHERE event = '$pageview' AND {D30} GROUP BY 1, 2"),
    "Q5": dq(f"SELECT '$pageview', {DAY_B}, count(*) FROM events WHERE event = '$pageview' AND {D30} "
             "AND url ILIKE '%docs%' AND browser = 'Chrome' GROUP BY 2"),
    "Q6": dq(f"""
        SELECT s, datediff('week', TIMESTAMP '{W90_LO}', w), v FROM (
          SELECT date_trunc('week', ts + INTERVAL 1 DAY) - INTERVAL 1 DAY AS w,
                 coalesce(sum(revenue), 0) AS sum, coalesce(quantile_cont(revenue, 0.9), 0) AS p90
          FROM events WHERE event = 'purchase' AND ts >= TIMESTAMP '{W90_LO}' AND ts <= TIMESTAMP '{W90_HI}'
          GROUP BY 1) UNPIVOT (v FOR s IN (sum, p90))"""),
    "Q7": dq(f"""
        WITH a AS (SELECT {DAY_B} AS b, count(*) AS n FROM events WHERE event = 'purchase' AND {D30} GROUP BY 1),
             d AS (SELECT {DAY_B} AS b, count(DISTINCT person_id) AS n FROM events
                   WHERE event = '$pageview' AND {D30} GROUP BY 1)
        SELECT 'A/B', d.b, CASE WHEN d.n = 0 THEN 0 ELSE coalesce(a.n, 0) / d.n END
        FROM d LEFT JOIN a USING (b)"""),
    "Q8": dq(f"SELECT '$pageview', {DAY_B}, count(*) FROM events e JOIN persons p ON e.person_id = p.id "
             f"WHERE e.event = '$pageview' AND {D30} AND p.plan = 'pro' "
             "AND NOT coalesce(p.email ILIKE '%@posthog.com%', false) GROUP BY 2"),
    "Q9": dq(f"""
        WITH d AS (SELECT DISTINCT person_id, date_trunc('day', ts) AS day FROM events
                   WHERE event = '$pageview' AND ts >= TIMESTAMP '{WAU_LO}' AND ts <= TIMESTAMP '{D30_HI}'),
             b AS (SELECT unnest(generate_series(TIMESTAMP '{D30_LO}', TIMESTAMP '{D30_HI}', INTERVAL 1 DAY)) AS b)
        SELECT '$pageview', datediff('day', TIMESTAMP '{D30_LO}', b.b), count(DISTINCT d.person_id)
        FROM b JOIN d ON d.day > b.b - INTERVAL 7 DAY AND d.day <= b.b GROUP BY 2"""),
    # Los Angeles has whole-hour offsets, so local hour buckets are UTC hour buckets
    "Q10": dq(f"SELECT 'All events', datediff('hour', TIMESTAMP '{H7_LO}', date_trunc('hour', ts)), count(*) "
              f"FROM events WHERE ts >= TIMESTAMP '{H7_LO}' AND ts <= TIMESTAMP '{H7_HI}' GROUP BY 2"),
}


# --- Polars -----------------------------------------------------------------------------------


def _polars() -> dict[str, Callable[[Any, Any], Any]]:
    import polars as pl

    c = pl.col
    d30 = c("ts").is_between(D30_LO, D30_HI)
    day_b = ((c("ts").dt.truncate("1d") - pl.lit(D30_LO)).dt.total_days()).alias("b")
    pv = c("event") == "$pageview"

    def q1(ev, _):
        return ev.lazy().filter(pv & d30).group_by(day_b).agg(pl.len().alias("v")).with_columns(k=pl.lit("$pageview")).collect()

    def q2(ev, _):
        return (ev.lazy().filter(pv & d30).group_by(day_b).agg(c("person_id").n_unique().alias("v"))
                .with_columns(k=pl.lit("$pageview")).collect())

    def bd(col):
        def q(ev, _):
            key = pl.when(c(col).is_null() | (c(col) == "")).then(pl.lit(NULL)).otherwise(c(col)).alias("k")
            return ev.lazy().filter(pv & d30).group_by(key, day_b).agg(pl.len().alias("v")).collect()
        return q

    def q5(ev, _):
        return (ev.lazy().filter(pv & d30 & c("url").str.to_lowercase().str.contains("docs", literal=True)
                                 & (c("browser") == "Chrome"))
                .group_by(day_b).agg(pl.len().alias("v")).with_columns(k=pl.lit("$pageview")).collect())

    def q6(ev, _):
        week = ((c("ts") + pl.duration(days=1)).dt.truncate("1w") - pl.duration(days=1))
        wb = ((week - pl.lit(W90_LO)).dt.total_days() // 7).alias("b")
        g = (ev.lazy().filter((c("event") == "purchase") & c("ts").is_between(W90_LO, W90_HI)).group_by(wb)
             .agg(c("revenue").sum().fill_null(0).alias("sum"),
                  c("revenue").quantile(0.9, interpolation="linear").fill_null(0).alias("p90")))
        return g.unpivot(index="b", variable_name="k", value_name="v").collect()

    def q7(ev, _):
        base = ev.lazy().filter(d30)
        a = base.filter(c("event") == "purchase").group_by(day_b).agg(pl.len().alias("a"))
        d = base.filter(pv).group_by(day_b).agg(c("person_id").n_unique().alias("d"))
        return (d.join(a, on="b", how="left")
                .select(pl.lit("A/B").alias("k"), "b",
                        pl.when(c("d") == 0).then(0.0).otherwise(c("a").fill_null(0) / c("d")).alias("v"))
                .collect())

    def q8(ev, persons):
        ok = persons.lazy().filter((c("plan") == "pro")
                                   & ~c("email").str.to_lowercase().str.contains("@posthog.com", literal=True)
                                   .fill_null(False)).select(c("id").alias("person_id"))
        return (ev.lazy().filter(pv & d30).join(ok, on="person_id", how="semi").group_by(day_b)
                .agg(pl.len().alias("v")).with_columns(k=pl.lit("$pageview")).collect())

    def q9(ev, _):
        days = (ev.lazy().filter(pv & c("ts").is_between(WAU_LO, D30_HI))
                .select("person_id", ((c("ts").dt.truncate("1d") - pl.lit(D30_LO)).dt.total_days()).alias("d"))
                .unique())
        shifted = pl.concat([days.with_columns(b=c("d") + k) for k in range(7)])
        return (shifted.filter(c("b").is_between(0, D30_N - 1)).group_by("b")
                .agg(c("person_id").n_unique().alias("v")).with_columns(k=pl.lit("$pageview")).collect())

    def q10(ev, _):
        hb = ((c("ts").dt.truncate("1h") - pl.lit(H7_LO)).dt.total_hours()).alias("b")
        return (ev.lazy().filter(c("ts").is_between(H7_LO, H7_HI)).group_by(hb).agg(pl.len().alias("v"))
                .with_columns(k=pl.lit("All events")).collect())

    return {"Q1": q1, "Q2": q2, "Q3": bd("browser"), "Q4": bd("url"), "Q5": q5, "Q6": q6, "Q7": q7,
            "Q8": q8, "Q9": q9, "Q10": q10}


def queries() -> list[BenchQuery]:
    pol = _polars()
    la = {"timezone": "America/Los_Angeles"}
    specs = [
        ("Q1", "count of $pageview per day, last 30 days", _pv(), {}, D30_N, None),
        ("Q2", "DAU of $pageview per day", _pv(math="dau"), {}, D30_N, None),
        ("Q3", "Q1 broken down by $browser", {**_pv(), "breakdown": "$browser", "breakdown_type": "event"}, {}, D30_N, 25),
        ("Q4", "Q1 broken down by $current_url (top 25 + Other)",
         {**_pv(), "breakdown": "$current_url", "breakdown_type": "event", "breakdown_limit": 25}, {}, D30_N, 25),
        ("Q5", "Q1 where $current_url icontains 'docs' and $browser = Chrome",
         {**_pv(), "properties": [{"key": "$current_url", "value": "docs", "operator": "icontains", "type": "event"},
                                  {"key": "$browser", "value": "Chrome", "operator": "exact", "type": "event"}]},
         {}, D30_N, None),
        ("Q6", "sum and p90 of purchase revenue per week, last 90 days",
         {"events": [{"id": "purchase", "type": "events", "math": "sum", "math_property": "revenue"},
                     {"id": "purchase", "type": "events", "math": "p90", "math_property": "revenue"}],
          "date_from": "-90d", "interval": "week"}, {}, W90_N, None),
        ("Q7", "formula purchases / DAU of $pageview per day",
         {"events": [{"id": "purchase", "type": "events", "order": 0},
                     {"id": "$pageview", "type": "events", "math": "dau", "order": 1}],
          "formula": "A/B", "date_from": "-30d", "interval": "day"}, {}, D30_N, None),
        ("Q8", "Q1 for persons with plan = pro, test accounts filtered out",
         {**_pv(), "properties": [{"key": "plan", "value": "pro", "operator": "exact", "type": "person"}],
          "filter_test_accounts": True}, {"test_account_filters": TEST_ACCOUNTS}, D30_N, None),
        ("Q9", "weekly active users of $pageview per day", _pv(math="weekly_active"), {}, D30_N, None),
        ("Q10", "hourly count of all events, last 7 days, America/Los_Angeles",
         {"events": [{"id": None, "type": "events"}], "date_from": "-7d", "interval": "hour"}, la, H7_N, None),
    ]
    return [BenchQuery(n, t, f, p, DUCK[n], pol[n], nb, lim) for n, t, f, p, nb, lim in specs]


# --- normalisation ----------------------------------------------------------------------------


def dense(rows: list[tuple], n_buckets: int, limit: int | None) -> dict[str, list[float]]:
    """(key, bucket, value) rows → {key: values per bucket}; with ``limit``, PostHog's ranking:
    non-null keys by total desc then value asc, the null marker last, the rest summed as Other."""
    out: dict[str, list[float]] = {}
    for k, b, v in rows:
        if b is None or not 0 <= int(b) < n_buckets:
            continue
        out.setdefault(str(k), [0.0] * n_buckets)[int(b)] += float(v or 0)
    if limit is not None and len(out) > limit:
        order = sorted(out, key=lambda k: (k == NULL, -sum(out[k]), k))
        kept = {k: out[k] for k in order[:limit]}
        other = [0.0] * n_buckets
        for k in order[limit:]:
            other = [a + b for a, b in zip(other, out[k])]
        kept[OTHER] = other
        out = kept
    return out


def trendcalc_dense(result: Any, q: BenchQuery) -> dict[str, list[float]]:
    out = {}
    for s in result.series:
        if s.has_breakdown:
            key = str(s.breakdown_value)
        elif q.name == "Q6":
            key = ("sum", "p90")[s.order]
        else:
            key = s.label if q.name != "Q7" else "A/B"
        out[key] = [float(x) for x in s.data]
    return out


def agree(a: dict[str, list[float]], b: dict[str, list[float]], rel: float = 1e-9) -> str | None:
    """None when equal (floats to ``rel``), else a short description of the first difference."""
    if set(a) != set(b):
        return f"keys differ: {sorted(set(a) ^ set(b))[:5]}"
    for k in a:
        for i, (x, y) in enumerate(zip(a[k], b[k])):
            if abs(x - y) > rel * max(1.0, abs(x), abs(y)):
                return f"{k}[{i}]: {x} != {y}"
        if len(a[k]) != len(b[k]):
            return f"{k}: {len(a[k])} buckets != {len(b[k])}"
    return None
