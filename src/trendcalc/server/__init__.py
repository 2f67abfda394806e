"""trendcalc's HTTP server: PostHog's Trends API (``insights/trend/`` and ``query/``) over the
stores of one or more projects. Needs the optional extra ``trendcalc[server]`` (Starlette, uvicorn).

    trendcalc serve ./store --project project.json           # the command line, see docs/serving.md

    from trendcalc.server import ServerConfig, ProjectConfig, create_app
    app = create_app(ServerConfig(projects=(ProjectConfig(id=1, store=Path("./store")),)))
    # mount ``app`` in any ASGI server, or:  uvicorn.run(app)

Importing this package needs neither Starlette nor uvicorn; ``create_app`` imports them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import ProjectConfig, ServerConfig, Token, config_from_args, parse_config

if TYPE_CHECKING:
    from starlette.applications import Starlette


def create_app(config: ServerConfig, **kwargs: Any) -> Starlette:
    """The ASGI app serving ``config`` (see ``trendcalc.server.app.create_app``)."""
    from .app import create_app as _create_app

    return _create_app(config, **kwargs)


__all__ = ["ProjectConfig", "ServerConfig", "Token", "config_from_args", "create_app", "parse_config"]
