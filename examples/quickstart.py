# %% [markdown]
# # trendcalc quickstart: from a CSV of events to a plot
#
# This notebook is generated, with its outputs, from `examples/quickstart.py` by
# `python examples/build_notebook.py` (run it after editing the script; the tests check the
# notebook is current). Install from a checkout with `pip install -e '.[pandas,plot]'`.
#
# We first write a small CSV of events, as you would export one from PostHog or your warehouse:
# one row per event with `event`, `distinct_id`, `timestamp`, and one column per property.

# %%
import csv
import json

import trendcalc as tc
from trendcalc.demo import DEMO_NOW, demo_records

events, persons = demo_records()
columns = ["$browser", "$os", "$pathname", "$session_id", "revenue"]
with open("events.csv", "w", newline="") as fh:
    out = csv.writer(fh)
    out.writerow(["event", "distinct_id", "timestamp", *columns])
    for e in events:
        p = e["properties"]
        out.writerow([e["event"], e["distinct_id"], e["timestamp"], *(p.get(c, "") for c in columns)])
with open("persons.jsonl", "w") as fh:
    fh.writelines(json.dumps(p) + "\n" for p in persons)
with open("events.csv") as fh:
    print("".join(fh.readlines()[:3]))

# %% [markdown]
# ## Load it
#
# Every column other than `event`, `distinct_id`, `timestamp` becomes an event property (an empty
# cell is an absent property). Persons say which distinct_ids are one user. A malformed row raises
# a `ValidationError` naming the file, line and field; `errors="skip"` leaves such rows out and
# lists them in `store.ingest_report`.

# %%
store = tc.EventStore.from_csv("events.csv", persons="persons.jsonl")
print(store)
print(store.ingest_report)

# %% [markdown]
# ## Ask a Trends question
#
# The query is PostHog's filter (the same JSON the Trends insight sends). Relative dates such as
# `-14d` count back from `now`, which freezes the clock so the answer is reproducible. Leave it
# out and it is the current time: on an export of past events, pass `now=` (for instance
# `store.time_range()[1]`, the last event's time) or absolute `date_from`/`date_to`.

# %%
project = tc.Project(timezone="Europe/Berlin")
dau = tc.trends(store, {"events": [{"id": "$pageview", "math": "dau"}], "date_from": "-14d"},
                project=project, now=DEMO_NOW)
dau  # noqa: B018 - in Jupyter, a compact table

# %%
df = dau.to_pandas()  # long form: series, order, breakdown_value, compare_label, date, value
print(df.tail())

# %% [markdown]
# ## Plot it
#
# `plot()` returns a matplotlib Figure drawn the way the display asks (lines, bars, a pie, a big
# number). It needs no GUI: `savefig` works anywhere.

# %%
fig = dau.plot(title="Daily active users, last 14 days")
fig.savefig("dau.png")
fig  # noqa: B018 - in Jupyter, the picture

# %%
weekly = tc.trends(store, {"events": [{"id": "$pageview"}], "breakdown": "$browser", "interval": "week",
                           "date_from": "-30d", "display": "ActionsBar"}, project=project, now=DEMO_NOW)
print(weekly.table())
fig = weekly.plot(title="Pageviews per week by browser")
fig.savefig("weekly.png")
fig  # noqa: B018 - in Jupyter, the picture

# %%
users = tc.trends(store, {"events": [{"id": "$pageview", "math": "dau"}], "date_from": "-30d",
                          "display": "BoldNumber"}, project=project, now=DEMO_NOW)
print("unique users, last 30 days:", users[0]["aggregated_value"])
fig = users.plot()
fig.savefig("users.png")
fig  # noqa: B018 - in Jupyter, the picture

# %% [markdown]
# ## Keep the store
#
# `save` writes the store atomically; `load` memory-maps it back, so a large store opens in well
# under a second and answers exactly as before.

# %%
store.save("store", overwrite=True)
again = tc.EventStore.load("store")
assert tc.trends(again, {"events": [{"id": "$pageview", "math": "dau"}], "date_from": "-14d"},
                 project=project, now=DEMO_NOW).to_dicts() == dau.to_dicts()
print(again)
