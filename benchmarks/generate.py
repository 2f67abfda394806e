"""Deterministic, seeded generator of realistic product-analytics events → Parquet, in named shapes.

    python -m benchmarks.generate --events 1000000                   # default shape, one file
    python -m benchmarks.generate --events 10000000 --shape sparse   # many persons, few active a day
    python -m benchmarks.generate --events 50000000 --files 10       # 10 files, chunk by chunk

Common to every shape (all vectorised NumPy, same bytes for the same shape, seed, N and files):
- 90 days ending at END, growing ~50% over the period, weekly and daily seasonality;
- events come in sessions (geometric length) of one distinct_id, each with a ``$session_id``;
  a session length of 1 spreads events uniformly over the users instead;
- persons own 1 distinct_id, a share of them 2-3; every distinct_id is seen at least once;
- ``purchase`` ~1% of events with a log-normal ``revenue`` (10% of purchases without one);
- URLs with Zipf popularity, 15% with a query string; per-user ``$browser``, ``$os``,
  ``$geoip_country_code`` (a few events with no browser);
- persons: ``plan`` (free/pro/enterprise, some missing), ``email``, 3% test accounts ``@posthog.com``.

The knobs (``Shape``) set how many distinct_ids per event and persons per distinct_id, how
skewed activity is (log-normal or Zipf over distinct_ids), session length, the cardinalities of
event names, URLs and browsers, and the share of the top event (``$pageview``). Shapes:
- ``default``: ~N/20 distinct_ids, 20% of persons with 2-3 of them, log-normal activity, sessions
  of mean 8, 14 event names, 5,000 URLs, 6 browsers — the project's original data, byte for byte;
- ``sparse``: the data of issue #21 — at 10 M events 500 k distinct_ids of ~400 k persons with
  Zipf-skewed activity in sessions, so only ~9.5 k persons are active on a day while a day has
  ~34 k ``$pageview`` rows; 30 event names, 5,000 URLs, 8 browsers.

``--files K`` writes K Parquet files (a directory, read as one data set by DuckDB, Polars and
``EventStore.from_parquet``), generated K day ranges at a time so memory stays bounded by one
chunk: 50 M events fit this machine. Its data is deterministic in (shape, N, seed, K) but not
the same events as the one-file output.

Columns: event, distinct_id, timestamp (timestamp[us, UTC]), person_id, properties.<key>.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import time
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).parent / "data"
END = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
DAYS = 90
EVENT_NAMES = [
    "$pageview", "$autocapture", "$pageleave", "$feature_flag_called", "button_clicked",
    "search", "$identify", "added_to_cart", "signed_in", "checkout_started", "purchase",
    "signup", "invite_sent", "$exception",
]  # fmt: skip
MORE_EVENT_NAMES = [
    "$rageclick", "$web_vitals", "$groupidentify", "page_scrolled", "video_played", "form_submitted",
    "file_uploaded", "settings_changed", "dashboard_viewed", "insight_created", "export_started",
    "comment_added", "share_clicked", "notification_opened", "subscription_renewed", "logout",
]  # fmt: skip
PURCHASE_SHARE = 0.01
BROWSERS = (["Chrome", "Safari", "Firefox", "Microsoft Edge", "Samsung Internet", "Opera"],
            [0.62, 0.2, 0.07, 0.07, 0.03, 0.01])
MORE_BROWSERS = (["Brave", "Vivaldi", "Yandex", "UC Browser"], [0.01, 0.005, 0.005, 0.003])
OSES = (["Windows", "Mac OS X", "iOS", "Android", "Linux", "Chrome OS"], [0.35, 0.2, 0.2, 0.18, 0.05, 0.02])
COUNTRIES = ["US", "GB", "DE", "IN", "FR", "CA", "BR", "NL", "AU", "ES", "IT", "SE", "PL", "JP", "MX",
             "CH", "IE", "DK", "NO", "FI", "BE", "AT", "PT", "SG", "IL", "CZ", "RO", "TR", "ZA", "AR"]
SECTIONS = ["docs", "blog", "product", "pricing", "app", "handbook", "tutorials", "customers", "community"]
QUERIES = ["?utm_source=google", "?utm_source=twitter", "?ref=hn", "?utm_campaign=launch", "?q=search"]


@dataclasses.dataclass(frozen=True)
class Shape:
    """The knobs of a data set's shape (see the module docstring)."""

    name: str
    events_per_id: int = 20  # ~N / events_per_id distinct_ids
    multi_id_share: float = 0.2  # share of person slots holding 2-3 distinct_ids
    activity: str = "lognormal"  # per distinct_id: "lognormal" (sigma = activity_param) or "zipf" (exponent)
    activity_param: float = 1.2
    session_mean: float = 8.0  # geometric session length; 1 = events uniform over users, no sessions
    n_event_names: int = 14  # the first of EVENT_NAMES + MORE_EVENT_NAMES
    top_event_share: float | None = None  # of $pageview; None = Zipf(1) over the names
    n_urls: int = 5000
    n_browsers: int = 6  # the first of BROWSERS + MORE_BROWSERS

    def event_names(self) -> list[str]:
        return (EVENT_NAMES + MORE_EVENT_NAMES)[: self.n_event_names]

    def browsers(self) -> tuple[list[str], np.ndarray]:
        if self.n_browsers == len(BROWSERS[0]):
            return BROWSERS[0], np.asarray(BROWSERS[1])
        names = (BROWSERS[0] + MORE_BROWSERS[0])[: self.n_browsers]
        w = np.asarray((BROWSERS[1] + MORE_BROWSERS[1])[: self.n_browsers])
        return names, w / w.sum()


SHAPES: dict[str, Shape] = {
    "default": Shape("default"),
    "sparse": Shape("sparse", multi_id_share=1 / 6, activity="zipf", activity_param=0.9, session_mean=8.0,
                    n_event_names=30, top_event_share=0.27, n_urls=5000, n_browsers=8),
}


def shape_of(name: str) -> Shape:
    if name not in SHAPES:
        raise SystemExit(f"unknown shape {name!r}; known: {', '.join(SHAPES)}")
    return SHAPES[name]


def zipf(n: int, s: float = 1.1) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


def urls(rng: np.random.Generator, n: int = 5000) -> list[str]:
    sec = rng.choice(len(SECTIONS), n, p=zipf(len(SECTIONS), 0.8))
    out = [f"https://example.com/{SECTIONS[s]}/page-{i}" for i, s in enumerate(sec.tolist())]
    out[0], out[1], out[2] = "https://example.com/", "https://example.com/pricing", "https://example.com/docs"
    return out


# --- pieces shared by the one-file and the chunked generators ---------------------------------


def _population(rng: np.random.Generator, n_events: int, shape: Shape) -> tuple[int, np.ndarray, int, np.ndarray]:
    """(number of distinct_ids, person index of each, number of persons, activity weights)."""
    n_dids = max(n_events // shape.events_per_id, 10)
    sizes = np.where(rng.random(n_dids) < shape.multi_id_share, rng.integers(2, 4, n_dids), 1)
    owner = np.repeat(np.arange(n_dids), sizes)[:n_dids]
    n_persons = int(owner[-1]) + 1
    if shape.activity == "lognormal":
        activity = rng.lognormal(0, shape.activity_param, n_dids)
    else:  # Zipf over a random ranking of the distinct_ids
        activity = 1.0 / (rng.permutation(n_dids) + 1.0) ** shape.activity_param
    return n_dids, owner, n_persons, activity / activity.sum()


def _day_weights() -> np.ndarray:
    start = END - dt.timedelta(days=DAYS)
    return np.linspace(1.0, 1.5, DAYS) * np.where((np.arange(DAYS) + start.weekday()) % 7 >= 5, 0.7, 1.0)


def _sessions(
    rng: np.random.Generator, n_events: int, shape: Shape, p_did: np.ndarray, days: tuple[int, int],
    forced: np.ndarray | None, session_base: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Timestamps (µs), distinct_id index and session index (from ``session_base``) of
    ``n_events`` events in sessions starting on ``days`` [lo, hi); ``forced``: distinct_ids
    that get the first sessions (None: a permutation of all, drawn here)."""
    n_dids = len(p_did)
    n_sessions = max(int(n_events // shape.session_mean), 1)
    sess_did = rng.choice(n_dids, n_sessions, p=p_did)
    if forced is None:
        forced = rng.permutation(n_dids)
    k = min(len(forced), n_sessions)
    sess_did[:k] = forced[:k]  # every id is seen
    lengths = _fit(rng.geometric(1 / shape.session_mean, n_sessions), n_events)
    keep = lengths > 0
    lengths, sess_did, n_sessions = lengths[keep], sess_did[keep], int(keep.sum())
    sess_of = np.repeat(np.arange(n_sessions), lengths)
    start = END - dt.timedelta(days=DAYS)
    day_w = _day_weights()[days[0]:days[1]]
    day = days[0] + rng.choice(len(day_w), n_sessions, p=day_w / day_w.sum())
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
    return ts, sess_did[sess_of], sess_of + session_base, n_sessions


def _urls_of_events(rng: np.random.Generator, url_list: list[str], n_events: int) -> tuple[np.ndarray, list[str]]:
    """(code per event, dictionary) of URLs with Zipf popularity, 15% with a query string."""
    url = rng.choice(len(url_list), n_events, p=zipf(len(url_list), 1.05)).astype(np.int64)
    has_q = rng.random(n_events) < 0.15
    url = np.where(has_q, len(url_list) + url * len(QUERIES) + rng.integers(0, len(QUERIES), n_events), url)
    url_codes, url_inv = np.unique(url, return_inverse=True)
    url_dict = [url_list[u] if u < len(url_list) else url_list[(u - len(url_list)) // len(QUERIES)]
                + QUERIES[(u - len(url_list)) % len(QUERIES)] for u in url_codes.tolist()]
    return url_inv.astype(np.int32).reshape(-1), url_dict


def _revenue(rng: np.random.Generator, ev: np.ndarray, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    n_events = len(ev)
    purchase = ev == names.index("purchase")
    revenue = np.round(rng.lognormal(3.5, 0.8, n_events), 2)
    return revenue, purchase & (rng.random(n_events) >= 0.1)


def _events_table(order: np.ndarray, cols: dict[str, Any], ts: np.ndarray, revenue: np.ndarray,
                  revenue_valid: np.ndarray) -> Any:
    """The events table in ``order``; ``cols``: name → (codes, dictionary) string columns."""
    import pyarrow as pa

    def dict_col(codes: np.ndarray, values: list[str]) -> pa.Array:
        codes = codes[order]
        arr = pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0), pa.array(values, pa.string()))
        return arr.cast(pa.string())

    out = {}
    for name, (codes, values) in cols.items():
        out[name] = dict_col(codes, values)
        if name == "distinct_id":
            out["timestamp"] = pa.array(ts[order], pa.timestamp("us", "UTC"))
    out["properties.revenue"] = pa.array(revenue[order], mask=~revenue_valid[order])
    return pa.table(out)


def _persons_table(rng: np.random.Generator, n_persons: int) -> Any:
    import pyarrow as pa

    plan = rng.choice(3, n_persons, p=[0.7, 0.2, 0.1]).astype(np.int32)
    plan[rng.random(n_persons) < 0.05] = -1
    test = rng.random(n_persons) < 0.03
    emails = [f"user{i}@{'posthog.com' if t else 'example.com'}" for i, t in enumerate(test.tolist())]
    return pa.table({
        "id": pa.array(_names("p", 7, n_persons), pa.string()),
        "properties.plan": pa.DictionaryArray.from_arrays(pa.array(plan, mask=plan < 0),
                                                          pa.array(["free", "pro", "enterprise"])).cast(pa.string()),
        "properties.email": pa.array(emails, pa.string()),
    })


def _names(prefix: str, width: int, n: int, base: int = 0) -> list[str]:
    return [f"{prefix}{i:0{width}x}" for i in range(base, base + n)]


# --- one file ---------------------------------------------------------------------------------


def generate(n_events: int, seed: int = 7, shape: Shape | str = "default") -> tuple:
    """(events pyarrow Table, persons pyarrow Table), deterministic in (n_events, seed, shape)."""
    shape = shape_of(shape) if isinstance(shape, str) else shape
    rng = np.random.default_rng(seed)
    n_dids, owner, n_persons, p_did = _population(rng, n_events, shape)
    ts, did, sess_of, n_sessions = _sessions(rng, n_events, shape, p_did, (0, DAYS), None)
    names = shape.event_names()
    ev = rng.choice(len(names), n_events, p=_event_weights(shape))
    # per-user attributes
    b_names, b_w = shape.browsers()
    browser = rng.choice(len(b_names), n_dids, p=b_w)[did].astype(np.int32)
    browser[rng.random(n_events) < 0.01] = -1
    os_ = rng.choice(len(OSES[0]), n_dids, p=OSES[1])[did].astype(np.int32)
    country = rng.choice(len(COUNTRIES), n_dids, p=zipf(len(COUNTRIES), 1.3))[did].astype(np.int32)
    url_codes, url_dict = _urls_of_events(rng, urls(rng, shape.n_urls), n_events)
    revenue, revenue_valid = _revenue(rng, ev, names)
    order = np.argsort(ts, kind="stable")  # exports come in time order
    events = _events_table(order, {
        "event": (ev.astype(np.int32), names),
        "distinct_id": (did.astype(np.int32), _names("d", 7, n_dids)),
        "person_id": (owner[did].astype(np.int32), _names("p", 7, n_persons)),
        "properties.$current_url": (url_codes, url_dict),
        "properties.$browser": (browser, b_names),
        "properties.$os": (os_, OSES[0]),
        "properties.$geoip_country_code": (country, COUNTRIES),
        "properties.$session_id": (sess_of.astype(np.int32), _names("s", 8, n_sessions)),
    }, ts, revenue, revenue_valid)
    return events, _persons_table(rng, n_persons)


# --- many files, chunk by chunk ----------------------------------------------------------------


def generate_files(n_events: int, files: int, out_dir: Path, persons_path: Path, seed: int = 7,
                   shape: Shape | str = "default") -> None:
    """Write ``files`` Parquet files of ``n_events`` in total into ``out_dir`` (and the persons
    file), one day range at a time: memory is that of the population plus one chunk."""
    import pyarrow.parquet as pq

    shape = shape_of(shape) if isinstance(shape, str) else shape
    files = max(1, min(int(files), DAYS))
    rng = np.random.default_rng([seed, files, 0])
    n_dids, owner, n_persons, p_did = _population(rng, n_events, shape)
    names = shape.event_names()
    b_names, b_w = shape.browsers()
    browser_of = rng.choice(len(b_names), n_dids, p=b_w).astype(np.int32)
    os_of = rng.choice(len(OSES[0]), n_dids, p=OSES[1]).astype(np.int32)
    country_of = rng.choice(len(COUNTRIES), n_dids, p=zipf(len(COUNTRIES), 1.3)).astype(np.int32)
    url_list = urls(rng, shape.n_urls)
    forced_all = rng.permutation(n_dids)
    pq.write_table(_persons_table(rng, n_persons), persons_path.with_suffix(".tmp"))
    # chunk k: the sessions starting on its days, events in proportion to the days' weights
    bounds = np.linspace(0, DAYS, files + 1).round().astype(int)
    w = _day_weights()
    share = np.array([w[a:b].sum() for a, b in zip(bounds[:-1], bounds[1:])]) / w.sum()
    n_chunk = np.diff(np.round(np.cumsum(np.concatenate(([0.0], share))) * n_events).astype(np.int64))
    forced_split = np.array_split(forced_all, files)
    did_names_all: list[str] | None = None
    session_base = 0
    out_dir.mkdir(parents=True, exist_ok=True)
    for k in range(files):
        crng = np.random.default_rng([seed, files, k + 1])
        n = int(n_chunk[k])
        if n == 0:
            continue
        ts, did, sess_of, n_sessions = _sessions(crng, n, shape, p_did, (int(bounds[k]), int(bounds[k + 1])),
                                                 forced_split[k], session_base)
        ev = crng.choice(len(names), n, p=_event_weights(shape))
        browser = browser_of[did]
        browser[crng.random(n) < 0.01] = -1
        url_codes, url_dict = _urls_of_events(crng, url_list, n)
        revenue, revenue_valid = _revenue(crng, ev, names)
        order = np.argsort(ts, kind="stable")
        if did_names_all is None:
            did_names_all = _names("d", 7, n_dids)
        used, did_code = np.unique(did, return_inverse=True)
        pids, pid_code = np.unique(owner[did], return_inverse=True)
        events = _events_table(order, {
            "event": (ev.astype(np.int32), names),
            "distinct_id": (did_code.astype(np.int32).reshape(-1), [did_names_all[i] for i in used.tolist()]),
            "person_id": (pid_code.astype(np.int32).reshape(-1), [f"p{i:07x}" for i in pids.tolist()]),
            "properties.$current_url": (url_codes, url_dict),
            "properties.$browser": (browser, b_names),
            "properties.$os": (os_of[did], OSES[0]),
            "properties.$geoip_country_code": (country_of[did], COUNTRIES),
            "properties.$session_id": ((sess_of - session_base).astype(np.int32),
                                       _names("s", 8, n_sessions, session_base)),
        }, ts, revenue, revenue_valid)
        session_base += n_sessions
        pq.write_table(events, out_dir / f"part-{k:03d}.parquet")
        del events, ts, did, sess_of, ev, browser, url_codes, revenue, revenue_valid, order


def _event_weights(shape: Shape | None = None) -> np.ndarray:
    """Event name probabilities: Zipf(1) (or the top event's share, Zipf(1) over the rest), with
    ``purchase`` at PURCHASE_SHARE."""
    shape = shape or SHAPES["default"]
    names = shape.event_names()
    w = zipf(len(names), 1.0)
    p = names.index("purchase")
    if shape.top_event_share is not None:
        rest = w.copy()
        rest[0] = rest[p] = 0.0
        w = rest * (1 - shape.top_event_share - PURCHASE_SHARE) / rest.sum()
        w[0] = shape.top_event_share
    else:
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


def stem(n: int, shape: str = "default", files: int = 1) -> str:
    """The name part of a data set's files: shape, size and (when more than one) file count."""
    return f"{shape}_{label(n)}" + (f"_f{files}" if files > 1 else "")


def paths(n: int, shape: str = "default", files: int = 1) -> tuple[Path, Path]:
    """(events: a file, or a directory of ``files`` files; persons file)."""
    s = stem(n, shape, files)
    ev = DATA / (f"events_{s}" if files > 1 else f"events_{s}.parquet")
    return ev, DATA / f"persons_{s}.parquet"


def parquet_glob(path: Path) -> str:
    """What DuckDB's read_parquet and Polars' read_parquet take for a file or a directory of files."""
    return str(path / "*.parquet") if path.is_dir() else str(path)


def ensure(n: int, seed: int = 7, shape: str = "default", files: int = 1) -> tuple[Path, Path]:
    """Generate the files for n events of ``shape`` unless they exist."""
    import pyarrow.parquet as pq

    shape_of(shape)
    ev_path, p_path = paths(n, shape, files)
    if not (ev_path.exists() and p_path.exists()):
        DATA.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        if files > 1:
            tmp_dir = ev_path.with_name(ev_path.name + ".tmp")
            generate_files(n, files, tmp_dir, p_path, seed, shape)
            if ev_path.exists():
                import shutil

                shutil.rmtree(ev_path)
            tmp_dir.replace(ev_path)
        else:
            events, persons = generate(n, seed, shape)
            pq.write_table(events, ev_path.with_suffix(".tmp"))
            pq.write_table(persons, p_path.with_suffix(".tmp"))
            ev_path.with_suffix(".tmp").replace(ev_path)
            del events, persons
        p_path.with_suffix(".tmp").replace(p_path)
        print(f"generated {n:,} events ({shape}, {files} file(s)) in {time.perf_counter() - t0:.1f}s → {ev_path}")
    return ev_path, p_path


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--shape", default="default", choices=sorted(SHAPES))
    ap.add_argument("--files", type=int, default=1, help="write K Parquet files, generated chunk by chunk")
    args = ap.parse_args()
    ensure(args.events, args.seed, args.shape, args.files)


if __name__ == "__main__":
    main()
