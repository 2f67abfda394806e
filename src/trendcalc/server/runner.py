"""Running one request's query: the insight dispatch table, the thread pool, the time budget, the cache.

Queries run on a fixed thread pool (NumPy releases the GIL in the heavy parts) over the shared,
immutable stores. Each request has a deadline (arrival + time budget); past it the answer is a 504
while the computation, if it already started, finishes in the background and lands in the cache
(a retry is then a hit). Identical requests arriving together share one computation.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import datetime as dt
import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

import attrs

from ..errors import UnsupportedError, ValidationError
from .cache import AnswerCache, Entry, cache_key, settings_fingerprint
from .config import ProjectConfig, ServerConfig
from .envelope import dumps, result_payload
from .errors import ApiError, from_validation, server_error, timed_out
from .requests import InsightRequest
from .stores import Stores

log = logging.getLogger("trendcalc.server")


def _trends() -> Callable[..., Any] | None:
    from .. import trends

    return trends


def _stickiness() -> Callable[..., Any] | None:
    from .. import stickiness

    return stickiness


def _lifecycle() -> Callable[..., Any] | None:
    from .. import lifecycle

    return lifecycle


def _actors() -> Callable[..., Any] | None:
    from .. import actors

    return actors


@attrs.frozen
class Insight:
    """One kind of answer the server gives, and the public trendcalc function computing it."""

    function: str  # its name in the ``trendcalc`` namespace, for messages
    title: str
    resolve: Callable[[], Callable[..., Any] | None]  # the function, None when this build lacks it


# Insight kind -> public function. A function this build lacks answers 400 ``unsupported``.
INSIGHTS: dict[str, Insight] = {
    "trends": Insight("trends", "Trends", _trends),
    "stickiness": Insight("stickiness", "Stickiness", _stickiness),
    "lifecycle": Insight("lifecycle", "Lifecycle", _lifecycle),
    "actors": Insight("actors", "Actors", _actors),
}


def insight_function(req: InsightRequest) -> Callable[..., Any]:
    """The public function answering ``req.kind``; UnsupportedError when this build lacks it."""
    insight = INSIGHTS[req.kind]
    fn = insight.resolve()
    if fn is None:
        if req.endpoint == "query":
            path: tuple[str, ...] = ("query", "kind")
        else:
            path = ("shown_as",) if req.query.get("shown_as") else ("insight",)
        raise UnsupportedError(path, f"{insight.title} insights are not available in this trendcalc build "
                                     f"(trendcalc.{insight.function} is missing)")
    return fn


@attrs.frozen
class Answer:
    """A computed or cached answer and how it was obtained."""

    entry: Entry
    is_cached: bool
    key: str | None
    timezone: str


class _Flight:
    """One computation shared by the requests waiting for it."""

    def __init__(self, future: cf.Future):
        self.future = future
        self.waiters = 0


class Runner:
    """Answers requests for the configured projects (see the module docstring)."""

    def __init__(self, config: ServerConfig, stores: Stores):
        self.config = config
        self.stores = stores
        self.cache = AnswerCache(config.cache_entries)
        self.executor = cf.ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="trendcalc-query")
        self._settings = {p.id: settings_fingerprint(p.project, p.limits) for p in config.projects}
        self._flights: dict[str, _Flight] = {}
        self._lock = threading.Lock()

    def budget(self, project: ProjectConfig) -> float:
        return project.time_budget if project.time_budget is not None else self.config.time_budget

    async def answer(self, project: ProjectConfig, req: InsightRequest, now: dt.datetime | None, deadline: float) -> Answer:
        """The answer to ``req`` on ``project``'s current store, by ``deadline`` (loop time)."""
        loop = asyncio.get_running_loop()
        fn = insight_function(req)
        loaded = self.stores.get(project.id)  # this request's store, whatever reloads happen meanwhile
        clock = now or dt.datetime.now(dt.timezone.utc)
        key, resolved = cache_key(
            project_id=project.id, store_version=loaded.version, settings=self._settings[project.id],
            kind=req.kind, query=req.query, project=project.project, limits=project.limits, now=clock,
        )  # fmt: skip
        timezone = project.project.timezone
        if key is not None and not req.refresh:
            hit = self.cache.get(key)
            if hit is not None:
                return Answer(hit, True, key, timezone)

        def compute() -> Entry:
            result = fn(loaded.store, req.query, project=project.project, now=clock, limits=project.limits,
                        **({"executor": project.executor} if project.executor is not None else {}))
            payload = dumps(result_payload(req.kind, result))
            return Entry(result, dt.datetime.now(dt.timezone.utc), resolved, {"json": payload})

        flight = self._join(key, compute, share=not req.refresh)
        try:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError
            entry = await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(flight.future)), timeout=remaining)
        except (TimeoutError, asyncio.TimeoutError):
            self._leave(flight)
            raise timed_out(self.budget(project)) from None
        except ValidationError as exc:
            raise from_validation(exc, req.error_prefix) from None
        except ApiError:
            raise
        except Exception:
            log.exception("query failed: project %s, %s", project.id, req.kind)
            raise server_error() from None
        finally:
            flight.waiters -= 1
        return Answer(entry, False, key, timezone)

    def _join(self, key: str | None, compute: Callable[[], Entry], *, share: bool) -> _Flight:
        with self._lock:
            flight = self._flights.get(key) if key is not None and share else None
            fresh = flight is None
            if flight is None:
                flight = _Flight(self.executor.submit(compute))
                if key is not None:
                    self._flights[key] = flight
            flight.waiters += 1
        if fresh and key is not None:  # outside the lock: a finished future calls back at once
            flight.future.add_done_callback(functools.partial(self._landed, key, flight))
        return flight

    def _landed(self, key: str, flight: _Flight, fut: cf.Future) -> None:
        with self._lock:
            if self._flights.get(key) is flight:
                del self._flights[key]
        if not fut.cancelled() and fut.exception() is None:
            self.cache.put(key, fut.result())

    def _leave(self, flight: _Flight) -> None:
        """A waiter gave up: a computation nobody waits for and that has not started is dropped."""
        if flight.waiters <= 1:  # waiters change on the event loop only
            flight.future.cancel()  # calls _landed (which takes the lock) when it cancels

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
