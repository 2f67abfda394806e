"""What a trendcalc server serves: projects (a store, settings, limits, a time budget) and tokens.

Two ways in, one result (``ServerConfig``): the command line (one project: ``STORE_DIR``,
``--project``, ``--project-id``, ``--token``/``--token-file``) or a ``serve.json`` file for
several projects::

    {"host": "127.0.0.1", "port": 8000, "workers": 4, "time_budget": 30,
     "max_body_bytes": 1048576, "cache_entries": 1024, "watch": 2,
     "tokens": [{"token_file": "ops.token", "projects": "*"}],
     "projects": [{"id": 1, "store": "./store", "project": "project.json",
                   "tokens": ["secret-of-project-1"], "time_budget": 10,
                   "limits": {"max_buckets": 5000}}]}

Relative paths are read against the file's directory. Everything is checked here, before the
server starts: a mistake is a ValidationError naming its path (``serve.json: $.projects[0].store``).
Importing this module needs neither starlette nor uvicorn.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from ..errors import ValidationError, brief
from ..limits import Limits
from ..project import Project

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_TIME_BUDGET = 30.0  # seconds from a request's arrival to its answer
DEFAULT_MAX_BODY_BYTES = 1 << 20
DEFAULT_CACHE_ENTRIES = 1024
ALL_PROJECTS = "*"

_TOP_KEYS = ("host", "port", "workers", "time_budget", "max_body_bytes", "cache_entries", "watch",
             "tokens", "projects")  # fmt: skip
_PROJECT_KEYS = ("id", "store", "project", "tokens", "time_budget", "limits", "executor")
EXECUTORS = (None, "processes")
"""Where a partitioned store's partitions run: this process (None) or the local process pool."""
_TOKEN_KEYS = ("token", "token_file", "projects")


@attrs.frozen
class ProjectConfig:
    """One served project: its id in URLs, where its store lives, its settings and limits."""

    id: int
    store: Path
    project: Project = attrs.field(factory=Project)
    limits: Limits = attrs.field(factory=Limits)
    time_budget: float | None = None  # None: the server's
    executor: str | None = None  # a partitioned store's: None (in process) or "processes"


@attrs.frozen
class Token:
    """A bearer token and the project ids it opens (None: all of them)."""

    secret: str = attrs.field(repr=False)
    projects: frozenset[int] | None = None


@attrs.frozen
class ServerConfig:
    """Everything ``create_app`` and ``trendcalc serve`` need; no I/O happens after this is built
    except opening the stores."""

    projects: tuple[ProjectConfig, ...]
    tokens: tuple[Token, ...] = ()
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int = attrs.field(factory=lambda: max(2, os.cpu_count() or 2))
    time_budget: float = DEFAULT_TIME_BUDGET
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    cache_entries: int = DEFAULT_CACHE_ENTRIES
    watch: float | None = None  # seconds between checks of the store directories; None: off

    @property
    def auth_required(self) -> bool:
        """With any token configured every request needs one; with none, the server must stay on
        loopback (``check_bind``)."""
        return bool(self.tokens)

    def project(self, project_id: int) -> ProjectConfig | None:
        return next((p for p in self.projects if p.id == project_id), None)


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(config: ServerConfig) -> None:
    """Refuse to listen beyond loopback without a token (ValidationError naming ``host``)."""
    if not is_loopback(config.host) and not config.auth_required:
        raise ValidationError(
            ("host",),
            f"refusing to listen on {config.host!r} without a token: anyone who can reach it could read "
            "every project; pass --token/--token-file (or tokens in serve.json), or bind 127.0.0.1",
        )


# --- parsing ---------------------------------------------------------------------------------------


def _read_json(path: Path, where: tuple) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(where, f"cannot read {path}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValidationError(where, f"{path}: invalid JSON: {exc}") from None


def _number(v: Any, path: tuple, *, integer: bool = False, lo: float = 0, allow_zero: bool = False) -> Any:
    ok_type = isinstance(v, int) if integer else isinstance(v, (int, float))
    if not ok_type or isinstance(v, bool) or v < lo or (v == lo and not allow_zero):
        kind = "an integer" if integer else "a number"
        raise ValidationError(path, f"expected {kind} > {lo}, got {brief(v)}")
    return v


def read_token_file(path: Path, where: tuple) -> str:
    """The token in a file: its text without surrounding whitespace (one line, not empty)."""
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(where, f"cannot read token file {path}: {getattr(exc, 'strerror', exc)}") from None
    _check_secret(secret, where)
    return secret


def _check_secret(secret: Any, where: tuple) -> None:
    if not isinstance(secret, str) or not secret or any(c.isspace() for c in secret):
        raise ValidationError(where, "expected a non-empty token without whitespace")
    if len(secret) < 8:
        raise ValidationError(where, "a token needs at least 8 characters")


def load_project_settings(value: Any, base: Path, where: tuple) -> Project:
    """A Project from a dict, or from a JSON file named relative to ``base``."""
    if value is None:
        return Project()
    if isinstance(value, str):
        value = _read_json(base / value, where)
    if not isinstance(value, Mapping):
        raise ValidationError(where, "expected project settings: an object or a JSON file name")
    try:
        return Project.from_dict(value)
    except ValidationError as exc:
        raise exc.prefixed(where) from None


def _limits(value: Any, where: tuple) -> Limits:
    if value is None:
        return Limits()
    if not isinstance(value, Mapping):
        raise ValidationError(where, "expected an object of tc.Limits fields")
    names = [a.name for a in attrs.fields(Limits)]
    for k in value:
        if k not in names:
            from ..query.suggest import suggest

            raise ValidationError((*where, k), f"unknown limit{suggest(str(k), names)}")
    try:
        return Limits(**value)
    except ValueError as exc:
        raise ValidationError(where, str(exc)) from None


def _project_id(v: Any, path: tuple) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise ValidationError(path, f"expected a project id (an integer >= 0), got {brief(v)}")
    return v


def _unknown_keys(d: Mapping, known: Sequence[str], where: tuple) -> None:
    from ..query.suggest import suggest

    for k in d:
        if k not in known:
            raise ValidationError((*where, k), f"unknown setting{suggest(str(k), known)}")


def parse_config(data: Any, base: Path, *, name: str = "serve.json") -> ServerConfig:
    """A ServerConfig from the parsed ``serve.json`` (paths relative to ``base``)."""
    root: tuple = (name,)
    if not isinstance(data, Mapping):
        raise ValidationError(root, "expected a JSON object")
    _unknown_keys(data, _TOP_KEYS, root)
    raw_projects = data.get("projects")
    if not isinstance(raw_projects, list) or not raw_projects:
        raise ValidationError((*root, "projects"), "expected a non-empty list of projects")
    projects: list[ProjectConfig] = []
    tokens: list[Token] = []
    for i, p in enumerate(raw_projects):
        where = (*root, "projects", i)
        if not isinstance(p, Mapping):
            raise ValidationError(where, "expected an object with id and store")
        _unknown_keys(p, _PROJECT_KEYS, where)
        pid = _project_id(p.get("id"), (*where, "id"))
        if any(q.id == pid for q in projects):
            raise ValidationError((*where, "id"), f"project {pid} is listed twice")
        store = p.get("store")
        if not isinstance(store, str) or not store:
            raise ValidationError((*where, "store"), "expected the path of a saved store directory")
        budget = p.get("time_budget")
        executor = _executor(p.get("executor"), (*where, "executor"))
        projects.append(
            ProjectConfig(
                id=pid,
                store=(base / store),
                project=load_project_settings(p.get("project"), base, (*where, "project")),
                limits=_limits(p.get("limits"), (*where, "limits")),
                time_budget=None if budget is None else float(_number(budget, (*where, "time_budget"))),
                executor=executor,
            )
        )
        own = p.get("tokens", [])
        if not isinstance(own, list):
            raise ValidationError((*where, "tokens"), "expected a list of tokens")
        for j, t in enumerate(own):
            tokens.append(_token({"token": t} if isinstance(t, str) else t, base, (*where, "tokens", j), default=[pid]))
    shared = data.get("tokens", [])
    if not isinstance(shared, list):
        raise ValidationError((*root, "tokens"), "expected a list of {token | token_file, projects}")
    for j, t in enumerate(shared):
        tok = _token(t, base, (*root, "tokens", j), default=None)
        known = {p.id for p in projects}
        for pid in sorted(tok.projects or ()):
            if pid not in known:
                raise ValidationError((*root, "tokens", j, "projects"), f"no project {pid} is configured")
        tokens.append(tok)
    kw: dict[str, Any] = {}
    if "host" in data:
        if not isinstance(data["host"], str) or not data["host"]:
            raise ValidationError((*root, "host"), "expected a host name or address")
        kw["host"] = data["host"]
    if "port" in data:
        kw["port"] = _port(data["port"], (*root, "port"))
    for key, integer in (("workers", True), ("time_budget", False), ("max_body_bytes", True), ("cache_entries", True)):
        if key in data:
            kw[key] = _number(data[key], (*root, key), integer=integer, allow_zero=key == "cache_entries")
    if data.get("watch") is not None:
        kw["watch"] = float(_number(data["watch"], (*root, "watch")))
    return ServerConfig(projects=tuple(projects), tokens=tuple(tokens), **kw)


def _port(v: Any, path: tuple) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 65535:
        raise ValidationError(path, f"expected a port number 0..65535, got {brief(v)}")
    return v


def _token(t: Any, base: Path, where: tuple, *, default: list[int] | None) -> Token:
    if not isinstance(t, Mapping):
        raise ValidationError(where, "expected a token string or {token | token_file, projects}")
    _unknown_keys(t, _TOKEN_KEYS, where)
    if ("token" in t) == ("token_file" in t):
        raise ValidationError(where, "expected exactly one of token, token_file")
    if "token" in t:
        secret = t["token"]
        _check_secret(secret, (*where, "token"))
    else:
        if not isinstance(t["token_file"], str):
            raise ValidationError((*where, "token_file"), "expected a file name")
        secret = read_token_file(base / t["token_file"], (*where, "token_file"))
    scope = t.get("projects", default if default is not None else ALL_PROJECTS)
    if scope == ALL_PROJECTS:
        return Token(secret, None)
    if not isinstance(scope, list) or not scope:
        raise ValidationError((*where, "projects"), 'expected a list of project ids or "*"')
    return Token(secret, frozenset(_project_id(v, (*where, "projects", k)) for k, v in enumerate(scope)))


def _executor(value: Any, where: tuple) -> str | None:
    if value not in EXECUTORS:
        raise ValidationError(where, f"expected null or \"processes\" (a partitioned store's partitions on a local "
                                     f"process pool), got {value!r}")
    return value  # type: ignore[no-any-return]


def config_from_args(
    store: str | None,
    *,
    config_file: str | None = None,
    project: str | None = None,
    project_id: int = 1,
    host: str | None = None,
    port: int | None = None,
    token: str | None = None,
    token_file: str | None = None,
    workers: int | None = None,
    time_budget: float | None = None,
    max_body_bytes: int | None = None,
    watch: float | None = None,
    executor: str | None = None,
) -> ServerConfig:
    """The command line's ServerConfig: ``--config`` (then STORE_DIR/--project are refused), or
    one project from STORE_DIR. Flags given on the command line win over the file's values."""
    if config_file is not None:
        if store is not None or project is not None or executor is not None:
            raise ValidationError(("--config",), "STORE_DIR, --project and --executor go in serve.json's projects when "
                                                 "--config is given")
        path = Path(config_file)
        cfg = parse_config(_read_json(path, (config_file,)), path.resolve().parent, name=path.name)
    else:
        if store is None:
            raise ValidationError(("STORE_DIR",), "expected a store directory (or --config serve.json)")
        settings: Any = project
        if project is not None and project.lstrip().startswith("{"):
            try:
                settings = json.loads(project)
            except ValueError as exc:
                raise ValidationError(("--project",), f"invalid JSON: {exc}") from None
        cfg = ServerConfig(projects=(ProjectConfig(
            id=_project_id(project_id, ("--project-id",)),
            store=Path(store),
            project=load_project_settings(settings, Path.cwd(), ("--project",)),
            executor=_executor(executor, ("--executor",)),
        ),))  # fmt: skip
    if token is not None and token_file is not None:
        raise ValidationError(("--token",), "give --token or --token-file, not both")
    extra: list[Token] = []
    if token is not None:
        _check_secret(token, ("--token",))
        extra.append(Token(token, None))
    if token_file is not None:
        extra.append(Token(read_token_file(Path(token_file), ("--token-file",)), None))
    changes: dict[str, Any] = {"tokens": cfg.tokens + tuple(extra)}
    if host is not None:
        changes["host"] = host
    if port is not None:
        changes["port"] = _port(port, ("--port",))
    for key, value in (("workers", workers), ("max_body_bytes", max_body_bytes)):
        if value is not None:
            changes[key] = _number(value, (f"--{key.replace('_', '-')}",), integer=True)
    if time_budget is not None:
        changes["time_budget"] = float(_number(time_budget, ("--time-budget",)))
    if watch is not None:
        changes["watch"] = float(_number(watch, ("--watch",)))
    return attrs.evolve(cfg, **changes)
