"""The ASGI application (Starlette): routes, authentication, body limit, answers.

Routes (``projects`` may also be spelled ``environments``; the trailing slash is optional)::

    GET|POST /api/projects/{id}/insights/trend/[?format=json|csv]
    POST     /api/projects/{id}/query/
    GET      /_health                      {"status": "ok"} (no token needed, says nothing else)

``X-Trendcalc-Now: 2024-03-31T18:00:00Z`` pins the clock of one request (tests, reproducible
reports); without it ``now`` is the server's clock. Order of checks: token (401), project (404),
token's projects (403), body size (413), request (400), time budget (504).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import logging
import signal
from collections.abc import Mapping
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import ValidationError
from ..partition.store import PartitionedStore
from ..store import EventStore
from .config import ProjectConfig, ServerConfig, Token
from .envelope import csv_filename, dumps, legacy_body, posthog_csv, query_body
from .errors import (
    ApiError,
    authentication_failed,
    from_validation,
    method_not_allowed,
    not_authenticated,
    not_found,
    permission_denied,
    server_error,
    too_large,
)
from .requests import decode_json_body, legacy_request, query_request
from .runner import Runner
from .stores import Stores, Watcher

log = logging.getLogger("trendcalc.server")
NOW_HEADER = "x-trendcalc-now"
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_DRAIN_FACTOR = 8  # an oversized body is read (and dropped) up to this many limits, so the 413 arrives


def _json(body: bytes, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type="application/json", headers=dict(headers or {}))


def _error(exc: ApiError) -> Response:
    return _json(dumps(exc.body()), exc.status, exc.headers)


class _Server:
    """The state behind the routes: configuration, token digests, stores, runner."""

    def __init__(self, config: ServerConfig, stores: Stores):
        self.config = config
        self.stores = stores
        self.runner = Runner(config, stores)
        self.tokens = [(hashlib.sha256(t.secret.encode()).digest(), t) for t in config.tokens]

    # --- checks -----------------------------------------------------------------------------------
    def authenticate(self, request: Request) -> list[Token] | None:
        """The tokens matching the request's bearer token (None: no tokens configured)."""
        if not self.tokens:
            return None
        header = request.headers.get("authorization")
        if not header:
            raise not_authenticated()
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            raise authentication_failed()
        given = hashlib.sha256(value.encode()).digest()
        matched = []
        for digest, token in self.tokens:  # every token compared, in constant time each
            if hmac.compare_digest(given, digest):
                matched.append(token)
        if not matched:
            raise authentication_failed()
        return matched

    def project(self, text: str, tokens: list[Token] | None) -> ProjectConfig:
        if text == "@current":
            for p in self.config.projects:
                if _opens(tokens, p.id):
                    return p
            raise not_found()
        if not text.isascii() or not text.isdigit() or len(text) > 18:
            raise not_found()
        project = self.config.project(int(text))
        if project is None:
            raise not_found()
        if not _opens(tokens, project.id):
            raise permission_denied()
        return project

    async def body(self, request: Request) -> bytes:
        limit = self.config.max_body_bytes
        declared = request.headers.get("content-length", "")
        over = declared.isdigit() and int(declared) > limit
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                over = True
            if over:
                if size > limit * _DRAIN_FACTOR:
                    break
                continue
            chunks.append(chunk)
        if over:
            raise too_large(limit)
        return b"".join(chunks)

    @staticmethod
    def now(request: Request) -> dt.datetime | None:
        text = request.headers.get(NOW_HEADER)
        if text is None:
            return None
        from ..engine.trends import resolve_now

        try:
            return resolve_now(text)
        except ValidationError as exc:
            raise ValidationError(("X-Trendcalc-Now",), f"expected an ISO-8601 time: {exc.message}") from None

    # --- endpoints --------------------------------------------------------------------------------
    async def handle(self, request: Request, endpoint: str) -> Response:
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            allowed = ("GET", "POST") if endpoint == "legacy" else ("POST",)
            if request.method not in allowed:
                raise method_not_allowed(request.method)
            tokens = self.authenticate(request)
            project = self.project(request.path_params["project_id"], tokens)
            raw = await self.body(request)
            now = self.now(request)
            body = decode_json_body(raw)
            if endpoint == "legacy":
                req = legacy_request(request.query_params, body, request.headers.get("accept", ""))
            else:
                req = query_request(body)
            deadline = start + self.runner.budget(project)
            answer = await self.runner.answer(project, req, now, deadline)
        except ApiError as exc:
            return _error(exc)
        except ValidationError as exc:
            return _error(from_validation(exc))
        except Exception:
            log.exception("request failed")
            return _error(server_error())
        entry = answer.entry
        if req.endpoint == "query":
            return _json(query_body(req.kind, req.query, entry.result, is_cached=answer.is_cached,
                                    last_refresh=entry.last_refresh, timezone=answer.timezone,
                                    cache_key=answer.key, resolved=entry.resolved))  # fmt: skip
        if req.format == "csv":
            text = posthog_csv(entry.result.to_dicts())
            name = csv_filename(entry.resolved, request.query_params.get("export_name"))
            return Response(text, media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})
        return _json(legacy_body(entry.rendered["json"], is_cached=answer.is_cached,
                                 last_refresh=entry.last_refresh, timezone=answer.timezone))  # fmt: skip


def _opens(tokens: list[Token] | None, project_id: int) -> bool:
    return tokens is None or any(t.projects is None or project_id in t.projects for t in tokens)


async def _not_found(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException) and exc.status_code == 405:
        return _error(method_not_allowed(request.method))
    return _error(not_found("Not found."))


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error", exc_info=exc)
    return _error(server_error())


def create_app(
    config: ServerConfig,
    *,
    stores: Mapping[int, EventStore | PartitionedStore] | None = None,
    reload_on_sighup: bool = False,
) -> Starlette:
    """The ASGI app serving ``config``'s projects, for ``trendcalc serve`` or any ASGI server.

    ``stores`` gives in-memory stores by project id instead of opening ``ProjectConfig.store``
    (those are never reloaded). ``reload_on_sighup`` re-reads replaced store directories on
    SIGHUP (only where the app owns the process's signals, as ``trendcalc serve`` does); with
    ``config.watch`` a thread checks the directories every ``watch`` seconds. Stores are opened
    here, so a broken store fails now, not on the first request."""
    server = _Server(config, Stores(config, preloaded=dict(stores or {})))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        watcher = Watcher(server.stores, config.watch) if config.watch else None
        if watcher is not None:
            watcher.start()
        loop = asyncio.get_running_loop()
        if reload_on_sighup and hasattr(signal, "SIGHUP"):
            loop.add_signal_handler(signal.SIGHUP, lambda: loop.run_in_executor(None, server.stores.reload))
        try:
            yield
        finally:
            if reload_on_sighup and hasattr(signal, "SIGHUP"):
                loop.remove_signal_handler(signal.SIGHUP)
            if watcher is not None:
                watcher.stop()
            server.runner.close()

    async def legacy(request: Request) -> Response:
        return await server.handle(request, "legacy")

    async def query(request: Request) -> Response:
        return await server.handle(request, "query")

    async def health(request: Request) -> Response:
        return _json(b'{"status":"ok"}')

    routes = [Route("/_health", health, methods=["GET", "HEAD"])]
    for scope in ("projects", "environments"):
        for slash in ("/", ""):
            routes.append(Route(f"/api/{scope}/{{project_id}}/insights/trend{slash}", legacy, methods=_ALL_METHODS))
            routes.append(Route(f"/api/{scope}/{{project_id}}/query{slash}", query, methods=_ALL_METHODS))
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: _not_found, 405: _not_found, Exception: _server_error},
    )
    app.state.trendcalc = server
    return app
