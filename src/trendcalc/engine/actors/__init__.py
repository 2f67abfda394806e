"""The actors behind one data point of a Trends result: PostHog's InsightActorsQuery over a
TrendsQuery, run through an ActorsQuery.

Semantics follow posthog/hogql_queries/insights/trends/trends_actors_query_builder.py (which
events count for a point), insight_actors_query_runner.py (persons or groups),
actors_query_runner.py (columns, ordering, the join with the persons/groups table) and
actor_strategies.py (what an actor dict holds), with HogQLHasMorePaginator's paging:

- The point's events are the series' event/action rows passing the query's filters (test
  accounts, global and series properties, the group-key filter of group maths, sampling) inside
  the point's window, and carrying the requested breakdown value.
- The window is ``[day, day + interval)`` in the project timezone (``day`` taken literally, as
  PostHog does); the previous period shifts ``day`` back by date_from's relative delta (or by
  the gap between the periods' starts for ``compare_to`` and absolute/"all" ranges); explicit
  dates clamp the window to the query range. Total-value displays take no ``day``: the window is
  the whole range ``[date_from, date_to]``, resolved with the query's interval. Weekly/monthly
  active users look back 6/29 more days (from date_to on total-value displays).
- Actors are persons, or groups of ``$group_N`` for dau/unique_group/weekly/monthly active with a
  group type index; ``event_count`` is the number of the point's events per actor.

Everything is vectorised over rows; Python loops only over the page of returned actors (to build
their dicts) and over each dictionary or person once per store (id texts, cached).
"""

from __future__ import annotations

from .columns import COLUMNS
from .run import run_actors
from .window import point_window

__all__ = ["COLUMNS", "point_window", "run_actors"]
