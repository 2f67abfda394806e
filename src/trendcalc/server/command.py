"""``trendcalc serve``: its arguments and running uvicorn. Imports starlette/uvicorn only in ``run``."""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Any

SERVE_EXAMPLES = """\
examples:
  trendcalc serve ./store                                   # project 1 on http://127.0.0.1:8000
  trendcalc serve ./store --project project.json --port 8080 --watch 2
  trendcalc serve ./store --host 0.0.0.0 --token-file api.token   # beyond loopback: a token is required
  trendcalc serve --config serve.json                        # several projects, stores and tokens
  trendcalc serve ./parts --executor processes               # a partitioned store, on every core

  curl -s -X POST http://127.0.0.1:8000/api/projects/1/insights/trend/ \\
       -H 'Content-Type: application/json' -d '{"events": [{"id": "$pageview"}], "date_from": "-7d"}'

SIGHUP (or --watch) re-reads replaced store directories; requests in flight finish on the old one.
Needs the optional extra: pip install 'trendcalc[server]'. See docs/serving.md.
"""


def add_serve_parser(sub: Any) -> None:
    """The ``serve`` subcommand's arguments."""
    s = sub.add_parser("serve", help="answer PostHog's Trends API over HTTP (needs trendcalc[server])",
                       epilog=SERVE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("store", nargs="?", metavar="STORE_DIR",
                   help="a saved store directory (trendcalc save), or a partitioned store (trendcalc partition)")
    s.add_argument("--config", metavar="SERVE_JSON", help="several projects, each with its store, settings and tokens")
    s.add_argument("--project", metavar="FILE_OR_JSON", help="project settings (timezone, actions, cohorts, ...)")
    s.add_argument("--project-id", type=int, default=1, help="the project id in URLs (default: 1)")
    s.add_argument("--host", help="address to listen on (default: 127.0.0.1; others need a token)")
    s.add_argument("--port", type=int, help="port (default: 8000)")
    tok = s.add_mutually_exclusive_group()
    tok.add_argument("--token", help="require 'Authorization: Bearer TOKEN' (prefer --token-file)")
    tok.add_argument("--token-file", metavar="FILE", help="read the token from a file")
    s.add_argument("--workers", type=int, help="query threads (default: the number of cores, at least 2)")
    s.add_argument("--time-budget", type=float, metavar="SECONDS", help="per request; past it the answer is 504 (default: 30)")
    s.add_argument("--max-body-bytes", type=int, help="larger request bodies get 413 (default: 1048576)")
    s.add_argument("--executor", choices=("processes",),
                   help="run a partitioned store's partitions on a local process pool (every core; default: in "
                        "the serving process)")
    s.add_argument("--watch", type=float, metavar="SECONDS", help="check the store directories for replacement this often")
    s.add_argument("--log-level", default="warning", choices=("critical", "error", "warning", "info", "debug"))
    s.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Build the configuration, open the stores, serve until interrupted."""
    from .config import check_bind, config_from_args

    config = config_from_args(
        args.store, config_file=args.config, project=args.project, project_id=args.project_id, host=args.host,
        port=args.port, token=args.token, token_file=args.token_file, workers=args.workers,
        time_budget=args.time_budget, max_body_bytes=args.max_body_bytes, watch=args.watch, executor=args.executor,
    )  # fmt: skip
    check_bind(config)
    try:
        import uvicorn

        from .app import create_app
    except ImportError as exc:
        raise ImportError(
            f"`trendcalc serve` needs the optional server extra ({exc.name or exc} is missing): "
            "pip install 'trendcalc[server]'"
        ) from None
    # Queries run on worker threads; the event loop hands each one over and takes the answer
    # back. With Python's default 5 ms GIL switch interval each handoff can wait that long.
    sys.setswitchinterval(0.0005)
    # Each answer's advice (tc.TrendcalcWarning: unknown event, range past the data, ...) is the
    # caller's, not the server log's; and a long-running process must not remember every distinct
    # message in warnings' registries.
    from ..errors import TrendcalcWarning

    warnings.simplefilter("ignore", TrendcalcWarning)
    app = create_app(config, reload_on_sighup=True)
    server = app.state.trendcalc
    listing = ", ".join(f"project {p.id}: {p.store} (store {server.stores.get(p.id).version})" for p in config.projects)
    auth = "token required" if config.auth_required else "no token (loopback only)"
    print(f"trendcalc serve: http://{config.host}:{config.port} ({auth}); {listing}", file=sys.stderr, flush=True)
    uv = uvicorn.Server(uvicorn.Config(app, host=config.host, port=config.port, log_level=args.log_level,
                                       access_log=args.log_level in ("info", "debug"), lifespan="on",
                                       server_header=False))  # fmt: skip
    uv.run()
    return 0 if uv.started else 1
