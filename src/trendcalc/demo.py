"""A small, realistic generated product (30 days of a SaaS app) and a tour of trend queries.

``python -m trendcalc demo`` prints the tables; ``demo_store()`` gives the store to play with.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from .api import trends
from .project import Project
from .store import EventStore

DEMO_NOW = "2024-03-31T18:00:00Z"
_START = dt.datetime(2024, 3, 2, tzinfo=dt.timezone.utc)
_BROWSERS = ("Chrome", "Safari", "Firefox", "Edge")
_OSES = ("Mac OS X", "Windows", "iOS", "Android", "Linux")
_PAGES = ("/", "/pricing", "/docs", "/docs/getting-started", "/blog", "/signup", "/app", "/app/settings")


def demo_records(seed: int = 7, n_persons: int = 400) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(events, persons): persons with 1–3 distinct_ids, pageviews, sign ups, purchases."""
    rng = np.random.default_rng(seed)
    persons, events = [], []
    for p in range(n_persons):
        dids = [f"user-{p}"] + [f"anon-{p}-{k}" for k in range(int(rng.integers(0, 3)))]
        plan = str(rng.choice(["free", "free", "free", "pro", "enterprise"]))
        email = f"user{p}@{'posthog.com' if p % 25 == 0 else 'example.com'}"
        persons.append({"distinct_ids": dids, "properties": {"plan": plan, "email": email}})
        browser = str(rng.choice(_BROWSERS, p=[0.55, 0.25, 0.12, 0.08]))
        os_ = str(rng.choice(_OSES))
        first_day = int(rng.integers(0, 30))
        activity = float(rng.uniform(0.1, 0.9))
        for day in range(first_day, 30):
            if rng.random() > activity:
                continue
            session = f"s-{p}-{day}"
            base = _START + dt.timedelta(days=day, seconds=int(rng.integers(6 * 3600, 22 * 3600)))
            for k in range(int(rng.integers(1, 8))):
                ts = base + dt.timedelta(seconds=30 * k + int(rng.integers(0, 30)))
                page = str(rng.choice(_PAGES))
                events.append(
                    {
                        "event": "$pageview",
                        "distinct_id": str(rng.choice(dids)),
                        "timestamp": ts.isoformat(),
                        "properties": {
                            "$browser": browser,
                            "$os": os_,
                            "$current_url": f"https://app.example.com{page}",
                            "$pathname": page,
                            "$session_id": session,
                        },
                    }
                )
            if day == first_day:
                events.append({"event": "sign up", "distinct_id": dids[0], "timestamp": base.isoformat(),
                               "properties": {"$browser": browser, "$session_id": session}})
            if rng.random() < 0.08:
                revenue = float(rng.choice([9.0, 29.0, 99.0]))
                events.append({"event": "purchase", "distinct_id": dids[0],
                               "timestamp": (base + dt.timedelta(minutes=5)).isoformat(),
                               "properties": {"revenue": revenue, "$browser": browser, "$session_id": session}})
    return events, persons


def demo_store(seed: int = 7) -> EventStore:
    events, persons = demo_records(seed)
    return EventStore.from_records(events, persons=persons)


DEMO_QUERIES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("Pageviews per day, last 14 days", {"events": [{"id": "$pageview"}], "date_from": "-14d"}),
    ("Daily active users vs sign ups, last 14 days",
     {"events": [{"id": "$pageview", "math": "dau"}, {"id": "sign up"}], "date_from": "-14d"}),
    ("Pageviews by browser, weekly, this month",
     {"events": [{"id": "$pageview"}], "date_from": "mStart", "interval": "week", "breakdown": "$browser"}),
    ("Unique users over the last 30 days (one number)",
     {"events": [{"id": "$pageview", "math": "dau"}], "date_from": "-30d", "display": "BoldNumber"}),
    ("Cumulative sign ups, last 14 days",
     {"events": [{"id": "sign up"}], "date_from": "-14d", "display": "ActionsLineGraphCumulative"}),
)


def run_demo(out: Any = None) -> None:
    """Print the store and a table per demo query."""
    import sys

    out = out or sys.stdout
    store = demo_store()
    project = Project(timezone="Europe/Berlin")
    print(f"{store}\nproject timezone: {project.timezone}, now = {DEMO_NOW}\n", file=out)
    for title, query in DEMO_QUERIES:
        result = trends(store, query, project=project, now=DEMO_NOW)
        print(f"== {title}\n   filter: {query}\n{result.table(max_columns=8)}\n", file=out)
