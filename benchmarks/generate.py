"""Deterministic, seeded generator of realistic product-analytics events → Parquet.

    python -m benchmarks.generate --events 1000000      # benchmarks/data/events_1m.parquet (+ persons)

Shape (all vectorised NumPy, same bytes for the same seed and N):
- 90 days ending at END, growing ~50% over the period, weekly and daily seasonality;
- events come in sessions (geometric length, mean 8, ~1 min apart) of one distinct_id, each
  with a ``$session_id``; ~N/20 distinct_ids; persons own 1 distinct_id, 20% of them 2-3;
- event names Zipf-like over 14 names, ``$pageview`` the most common; ``purchase`` ~1% with a
  log-normal ``revenue`` (10% of purchases without one);
- ~5,000 URLs with Zipf popularity, 15% with a query string; per-user ``$browser``, ``$os``,
  ``$geoip_country_code`` (a few events with no browser);
- persons: ``plan`` (free/pro/enterprise, some missing), ``email``, 3% test accounts ``@posthog.com``.

Columns: event, distinct_id, timestamp (timestamp[us, UTC]), person_id, properties.<key>.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data"
END = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
DAYS = 90
EVENT_NAMES = [
    "$pageview", "$autocapture", "$pageleave", "$feature_flag_called", "button_clicked",
    "search", "$identify", "added_to_cart", "signed_in", "checkout_started", "purchase",
    "signup", "invite_sent", "$exception",
]  # fmt: skip
PURCHASE_SHARE = 0.01
BROWSERS = (["Chrome", "Safari", "Firefox", "Microsoft Edge", "Samsung Internet", "Opera"],
            [0.62, 0.2, 0.07, 0.07, 0.03, 0.01])
OSES = (["Windows", "Mac OS X", "iOS", "Android", "Linux", "Chrome OS"], [0.35, 0.2, 0.2, 0.18, 0.05, 0.02])
COUNTRIES = ["US", "GB", "DE", "IN", "FR", "CA", "BR", "NL", "AU", "ES", "IT", "SE", "PL", "JP", "MX",
             "CH", "IE", "DK", "NO", "FI", "BE", "AT", "PT", "SG", "IL", "CZ", "RO", "TR", "ZA", "AR"]
SECTIONS = ["docs", "blog", "product", "pricing", "app", "handbook", "tutorials", "customers", "community"]
QUERIES = ["?utm_source=google", "?utm_source=twitter", "?ref=hn", "?utm_campaign=launch", "?q=search"]


def zipf(n: int, s: float = 1.1) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


def urls(rng: np.random.Generator, n: int = 5000) -> list[str]:
    sec = rng.choice(len(SECTIONS), n, p=zipf(len(SECTIONS), 0.8))
    out = [f"https://example.com/{SECTIONS[s]}/page-{i}" for i, s in enumerate(sec.tolist())]
    out[0], out[1], out[2] = "https://example.com/", "https://example.com/pricing", "https://example.com/docs"
    return out


def generate(n_events: int, seed: int = 7) -> tuple:
    """(events pyarrow Table, persons pyarrow Table), deterministic in (n_events, seed)."""
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    n_dids = max(n_events // 20, 10)
    # persons: 80% one distinct_id, 20% two or three
    sizes = np.where(rng.random(n_dids) < 0.2, rng.integers(2, 4, n_dids), 1)
    owner = np.repeat(np.arange(n_dids), sizes)[:n_dids]  # person index of each distinct_id
    n_persons = int(owner[-1]) + 1
    # sessions: one distinct_id each, heavy-tailed activity per distinct_id
    activity = rng.lognormal(0, 1.2, n_dids)
    n_sessions = max(n_events // 8, 1)
    sess_did = rng.choice(n_dids, n_sessions, p=activity / activity.sum())
    sess_did[: min(n_dids, n_sessions)] = rng.permutation(n_dids)[:n_sessions]  # every id is seen
    lengths = rng.geometric(1 / 8, n_sessions)
    lengths = _fit(lengths, n_events)
    keep = lengths > 0
    lengths, sess_did, n_sessions = lengths[keep], sess_did[keep], int(keep.sum())
    sess_of = np.repeat(np.arange(n_sessions), lengths)
    start = END - dt.timedelta(days=DAYS)
    day_w = np.linspace(1.0, 1.5, DAYS) * np.where((np.arange(DAYS) + start.weekday()) % 7 >= 5, 0.7, 1.0)
    day = rng.choice(DAYS, n_sessions, p=day_w / day_w.sum())
    sec = (rng.normal(15.5, 4.0, n_sessions) % 24) * 3600
    sess_start_us = (int(start.timestamp()) + day * 86400 + sec).astype(np.int64) * 1_000_000
    sess_start_us += rng.integers(0, 1_000_000, n_sessions)
    step = rng.exponential(60e6, n_events).astype(np.int64)
    first = np.zeros(n_events, bool)
    first[np.cumsum(lengths)[:-1]] = True
    first[0] = True
    step[first] = 0
    csum = np.cumsum(step)
    offset = csum - np.repeat(csum[first], lengths)
    ts = sess_start_us[sess_of] + offset
    end_us = int(END.timestamp()) * 1_000_000
    ts = np.minimum(ts, end_us - 1)
    did = sess_did[sess_of]
    ev = rng.choice(len(EVENT_NAMES), n_events, p=_event_weights())
    # per-user attributes
    browser = rng.choice(len(BROWSERS[0]), n_dids, p=BROWSERS[1])[did].astype(np.int32)
    browser[rng.random(n_events) < 0.01] = -1
    os_ = rng.choice(len(OSES[0]), n_dids, p=OSES[1])[did].astype(np.int32)
    country = rng.choice(len(COUNTRIES), n_dids, p=zipf(len(COUNTRIES), 1.3))[did].astype(np.int32)
    url_list = urls(rng)
    url = rng.choice(len(url_list), n_events, p=zipf(len(url_list), 1.05)).astype(np.int64)
    has_q = rng.random(n_events) < 0.15
    url = np.where(has_q, len(url_list) + url * len(QUERIES) + rng.integers(0, len(QUERIES), n_events), url)
    url_codes, url_inv = np.unique(url, return_inverse=True)
    url_dict = [url_list[u] if u < len(url_list) else url_list[(u - len(url_list)) // len(QUERIES)]
                + QUERIES[(u - len(url_list)) % len(QUERIES)] for u in url_codes.tolist()]
    purchase = ev == EVENT_NAMES.index("purchase")
    revenue = np.round(rng.lognormal(3.5, 0.8, n_events), 2)
    revenue_valid = purchase & (rng.random(n_events) >= 0.1)
    order = np.argsort(ts, kind="stable")  # exports come in time order

    def dict_col(codes: np.ndarray, values: list[str]) -> pa.Array:
        codes = codes[order]
        arr = pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0), pa.array(values, pa.string()))
        return arr.cast(pa.string())

    did_names = [f"d{i:07x}" for i in range(n_dids)]
    person_names = [f"p{i:07x}" for i in range(n_persons)]
    session_names = [f"s{i:08x}" for i in range(n_sessions)]
    events = pa.table({
        "event": dict_col(ev.astype(np.int32), EVENT_NAMES),
        "distinct_id": dict_col(did.astype(np.int32), did_names),
        "timestamp": pa.array(ts[order], pa.timestamp("us", "UTC")),
        "person_id": dict_col(owner[did].astype(np.int32), person_names),
        "properties.$current_url": dict_col(url_inv.astype(np.int32).reshape(-1), url_dict),
        "properties.$browser": dict_col(browser, BROWSERS[0]),
        "properties.$os": dict_col(os_, OSES[0]),
        "properties.$geoip_country_code": dict_col(country, COUNTRIES),
        "properties.$session_id": dict_col(sess_of.astype(np.int32), session_names),
        "properties.revenue": pa.array(revenue[order], mask=~revenue_valid[order]),
    })
    plan = rng.choice(3, n_persons, p=[0.7, 0.2, 0.1]).astype(np.int32)
    plan[rng.random(n_persons) < 0.05] = -1
    test = rng.random(n_persons) < 0.03
    emails = [f"user{i}@{'posthog.com' if t else 'example.com'}" for i, t in enumerate(test.tolist())]
    persons = pa.table({
        "id": pa.array(person_names, pa.string()),
        "properties.plan": pa.DictionaryArray.from_arrays(pa.array(plan, mask=plan < 0),
                                                          pa.array(["free", "pro", "enterprise"])).cast(pa.string()),
        "properties.email": pa.array(emails, pa.string()),
    })
    return events, persons


def _event_weights() -> np.ndarray:
    w = zipf(len(EVENT_NAMES), 1.0)
    p = EVENT_NAMES.index("purchase")
    w = w * (1 - PURCHASE_SHARE) / (1 - w[p])
    w[p] = PURCHASE_SHARE
    return w / w.sum()


def _fit(lengths: np.ndarray, n: int) -> np.ndarray:
    """Session lengths trimmed/extended so they add up to exactly n events."""
    c = np.cumsum(lengths)
    if c[-1] >= n:
        k = int(np.searchsorted(c, n))
        lengths = lengths[: k + 1].copy()
        lengths[-1] -= int(c[k] - n)
        return np.concatenate([lengths, np.zeros(len(c) - k - 1, lengths.dtype)])
    lengths = lengths.copy()
    lengths[-1] += n - int(c[-1])
    return lengths


def label(n: int) -> str:
    return f"{n // 1_000_000}m" if n % 1_000_000 == 0 else str(n)


def paths(n: int) -> tuple[Path, Path]:
    return DATA / f"events_{label(n)}.parquet", DATA / f"persons_{label(n)}.parquet"


def ensure(n: int, seed: int = 7) -> tuple[Path, Path]:
    """Generate the files for n events unless they exist."""
    import pyarrow.parquet as pq

    ev_path, p_path = paths(n)
    if not (ev_path.exists() and p_path.exists()):
        DATA.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        events, persons = generate(n, seed)
        pq.write_table(events, ev_path.with_suffix(".tmp"))
        pq.write_table(persons, p_path.with_suffix(".tmp"))
        ev_path.with_suffix(".tmp").replace(ev_path)
        p_path.with_suffix(".tmp").replace(p_path)
        print(f"generated {n:,} events in {time.perf_counter() - t0:.1f}s → {ev_path}")
    return ev_path, p_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    ensure(args.events, args.seed)


if __name__ == "__main__":
    main()
