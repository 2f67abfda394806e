"""Command line: ``trendcalc query`` (run a Trends filter over a file of events), ``trendcalc save``
(build a store once, query it many times), ``trendcalc partition`` (split events by person into
a partitioned store, queried on all cores), ``trendcalc serve`` (the HTTP API, see server/) and
``trendcalc demo``. Bad input prints one line with
where it is (file and line, or the JSON path) and exits with status 2."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

EXAMPLES = """\
examples:
  trendcalc query --events events.csv --filter '{"events": [{"id": "$pageview", "math": "dau"}], "date_from": "-30d"}'
  trendcalc query --events export.jsonl --persons persons.jsonl --project project.json \\
                  --filter query.json --now 2024-03-31T12:00:00Z --format csv
  trendcalc query --events shop.csv --rename user_id=distinct_id --rename created_at=timestamp \\
                  --timezone Europe/Berlin --plot weekly.png \\
                  --filter '{"events": [{"id": "sign up"}], "interval": "week", "date_from": "-90d"}'
  trendcalc save  --events export.jsonl.gz --out ./store      # ingest once ...
  trendcalc query --store ./store --filter query.json         # ... query many times (memory-mapped)
  trendcalc query --store ./store --filter '{"shown_as": "Stickiness", "events": [{"id": "$pageview"}]}'
  trendcalc partition --events 'exports/*.parquet' --out ./parts --partitions 8   # by person, streamed
  trendcalc query --store ./parts --executor processes --filter query.json        # ... on every core
  trendcalc serve ./store --project project.json             # PostHog's Trends API over HTTP
  trendcalc demo

events files by extension: .jsonl/.ndjson (JSON lines), .json (an array, or PostHog's
{"results": [...]}), .csv (header: event, distinct_id, timestamp, then properties as JSON text
and/or one column per property), .parquet; a .gz suffix is decompressed. --persons and --groups
take JSON lines or a JSON array. Exit status: 0 ok, 2 bad input (one line on stderr saying where).
"""


EXECUTORS: dict[str, str | None] = {"none": None, "processes": "processes"}
"""``query --executor``: where a partitioned store's partitions run (``tc.trends``' executor)."""


class InputError(Exception):
    """A command-line input problem, reported as one line (exit status 2)."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    from .errors import ValidationError

    try:
        if args.command == "demo":
            from .demo import run_demo

            run_demo()
            return 0
        return args.run(args)
    except ValidationError as exc:
        kind = "unsupported" if type(exc).__name__ == "UnsupportedError" else "error"
        print(f"trendcalc: {kind}: {exc}", file=sys.stderr)
    except (InputError, FileExistsError, ImportError) as exc:
        print(f"trendcalc: error: {exc}", file=sys.stderr)
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # a path that cannot be read or written: say which, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"trendcalc: error: {where}{exc.strerror or exc}", file=sys.stderr)
    except Exception as exc:  # noqa: BLE001 - a bug: one line (TRENDCALC_DEBUG=1 shows the traceback)
        if os.environ.get("TRENDCALC_DEBUG"):
            raise
        print(f"trendcalc: internal error: {type(exc).__name__}: {exc} (please report it; "
              "TRENDCALC_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trendcalc",
        description="PostHog Trends semantics over an in-memory event store.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{query,save,partition,serve,demo}")

    q = sub.add_parser("query", help="run a Trends filter over events and print the result", epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    src = q.add_mutually_exclusive_group(required=True)
    src.add_argument("source", nargs="?", metavar="FILE_OR_DIR",
                     help="an events file (as --events) or a store directory (as --store)")
    src.add_argument("--events", metavar="FILE", help="events file (.jsonl, .json, .csv, .parquet; .gz ok)")
    src.add_argument("--store", metavar="DIR", help="a store written by `trendcalc save` or EventStore.save, or a "
                                                 "partitioned store written by `trendcalc partition` or tc.partition")
    _ingest_args(q)
    q.add_argument("--executor", choices=EXECUTORS, default="none",
                   help="where a partitioned store's partitions run: none (this process, one after another; the "
                        "default) or processes (a local process pool, every core)")
    q.add_argument("--filter", required=True, metavar="FILE_OR_JSON",
                   help="the query: a legacy filter (shown_as 'Stickiness' or 'Lifecycle' too), a TrendsQuery, "
                        "StickinessQuery or LifecycleQuery, as a JSON file, inline JSON, or - for stdin; the kind is inferred")
    q.add_argument("--project", metavar="FILE_OR_JSON", help="project settings (timezone, week_start_day, actions, ...)")
    q.add_argument("--timezone", metavar="TZ", help="project timezone (overrides --project's)")
    q.add_argument("--now", help="the frozen clock, ISO-8601 (default: the current time)")
    q.add_argument("--format", choices=("table", "json", "csv"), default="table", help="output (default: table)")
    q.add_argument("--plot", metavar="PNG", help="also draw the result to this image (needs matplotlib)")
    q.add_argument("--strict", action="store_true",
                   help="treat the query's warnings (unknown event or property, range outside the data, ...) as errors: exit 2")
    q.set_defaults(run=_query)

    s = sub.add_parser("save", help="ingest events once into a store directory (memory-mapped on load)",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("--events", required=True, metavar="FILE", help="events file (.jsonl, .json, .csv, .parquet; .gz ok)")
    _ingest_args(s)
    s.add_argument("--out", required=True, metavar="DIR", help="the store directory to write")
    s.add_argument("--overwrite", action="store_true", help="replace an existing store at --out")
    s.set_defaults(run=_save)

    pt = sub.add_parser("partition", help="split events by person into a partitioned store (streamed from files)",
                        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    pt.add_argument("--events", required=True, action="append", metavar="FILE_OR_GLOB",
                    help="events files (JSON lines, CSV or Parquet, all one format; .gz ok), a glob pattern (quote "
                         "it), repeatable: read as one input in that order; or one saved store directory")
    pt.add_argument("--persons", metavar="FILE", help="persons: JSON lines or array of {distinct_ids, properties, ...}")
    pt.add_argument("--groups", metavar="FILE", help="groups: JSON lines or array of {group_type_index, group_key, ...}")
    pt.add_argument("--rename", action="append", default=[], metavar="YOURS=OURS",
                    help="events column rename, repeatable: --rename user_id=distinct_id")
    pt.add_argument("--input-timezone", metavar="TZ", help="the zone of naive timestamps in the events files (default UTC)")
    pt.add_argument("--out", required=True, metavar="DIR", help="the partitioned store directory to write")
    pt.add_argument("--partitions", required=True, type=int, metavar="K",
                    help="how many partitions: at least one per core (or Dask worker thread) to run on")
    pt.add_argument("--overwrite", action="store_true", help="replace an existing partitioned store at --out")
    pt.set_defaults(run=_partition)

    from .server.command import add_serve_parser

    add_serve_parser(sub)  # arguments only: starlette/uvicorn are imported when serving
    sub.add_parser("demo", help="generate a small product dataset and print a few trend queries")
    return parser


def _ingest_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--persons", metavar="FILE", help="persons: JSON lines or array of {distinct_ids, properties, ...}")
    p.add_argument("--groups", metavar="FILE", help="groups: JSON lines or array of {group_type_index, group_key, ...}")
    p.add_argument("--rename", action="append", default=[], metavar="YOURS=OURS",
                   help="events column rename (any format), repeatable: --rename user_id=distinct_id --rename ts=timestamp")
    p.add_argument("--input-timezone", metavar="TZ",
                   help="the zone of naive timestamps in the events file (default UTC)")
    p.add_argument("--skip-bad-rows", action="store_true",
                   help="leave malformed rows out (each one is listed on stderr) instead of stopping at the first")
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar")


def open_events(path: str, persons: str | None = None, groups: str | None = None, *,
                errors: str = "raise", progress: bool | None = None, rename: dict[str, str] | None = None,
                timezone: str | None = None) -> Any:
    """An EventStore from an events file chosen by extension, or a saved (or partitioned) store
    directory. Every
    format follows the same column rule and takes the same keywords (store/columnrule.py)."""
    from .store import EventStore

    p = Path(path)
    if p.is_dir():
        return open_store(path)
    if not p.exists():
        raise InputError(f"{path}: no such file")
    ext = p.suffixes[-2] if p.suffix == ".gz" and len(p.suffixes) > 1 else p.suffix
    kw: dict[str, Any] = {"persons": persons, "groups": groups, "errors": errors, "progress": progress,
                          "rename": rename or None, "timezone": timezone}
    if ext == ".csv":
        return EventStore.from_csv(p, **kw)
    if ext in (".jsonl", ".ndjson", ".json"):
        return EventStore.from_jsonl(p, **kw)
    if ext == ".parquet":
        return EventStore.from_parquet(p, **kw)
    raise InputError(f"{path}: unknown events format {p.suffix!r} (use .jsonl, .json, .csv or .parquet)")


def _renames(items: list[str]) -> dict[str, str]:
    rename = {}
    for item in items:
        yours, sep, ours = item.partition("=")
        if not sep or not yours or not ours:
            raise InputError(f"--rename {item!r}: expected YOURS=OURS, e.g. user_id=distinct_id")
        rename[yours] = ours
    return rename


def _ingest(args: argparse.Namespace) -> Any:
    progress = False if args.no_progress else None
    errors = "skip" if args.skip_bad_rows else "raise"
    rename = _renames(args.rename)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the report is printed below instead
        store = open_events(args.events, args.persons, args.groups, errors=errors, progress=progress, rename=rename,
                            timezone=args.input_timezone)
    report = getattr(store, "ingest_report", None)  # (none for a saved or partitioned store's directory)
    if report is not None and report.skipped:
        print(report, file=sys.stderr)
    return store


def _json_arg(value: str, what: str) -> Any:
    text = value
    if value == "-":
        text = sys.stdin.read()
    elif not value.lstrip().startswith(("{", "[")):
        try:
            text = Path(value).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{what} {value}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise InputError(f"{what} {value}: not UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise InputError(f"{what}: JSON nested too deeply") from None
    except ValueError as exc:
        raise InputError(f"{what}: invalid JSON: {exc}") from None


def _check_plot_path(path: str) -> None:
    """Before any work: --plot names a file in an existing directory, with a format matplotlib
    writes (its extension)."""
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise ImportError("--plot needs matplotlib: pip install matplotlib (trendcalc's 'plot' extra)") from None
    p = Path(path)
    formats = FigureCanvasBase.get_supported_filetypes()
    ext = p.suffix[1:].lower()
    if ext not in formats:
        raise InputError(f"--plot {path}: unknown image format {p.suffix or '(none)'!r}; use one of "
                         f"{', '.join('.' + f for f in sorted(formats))}")
    if not p.parent.is_dir():
        raise InputError(f"--plot {path}: directory {str(p.parent)!r} does not exist")


def _source(args: argparse.Namespace) -> None:
    """The positional FILE_OR_DIR as --store (a directory) or --events (anything else)."""
    if args.source is not None:
        if Path(args.source).is_dir():
            args.store = args.source
        else:
            args.events = args.source


def _query(args: argparse.Namespace) -> int:
    import warnings

    from .api import trends
    from .errors import TrendcalcWarning
    from .project import Project
    from .store import EventStore

    _source(args)
    if args.plot:  # the extra, the directory and the format are checked before any work is done
        _check_plot_path(args.plot)
    query = _json_arg(args.filter, "--filter")
    project_dict = _json_arg(args.project, "--project") if args.project else {}
    if not isinstance(project_dict, dict):
        raise InputError("--project: expected a JSON object")
    if args.timezone:
        project_dict = {**project_dict, "timezone": args.timezone}
    project = Project.from_dict(project_dict)
    if args.store and (args.persons or args.groups or args.skip_bad_rows or args.rename or args.input_timezone):
        raise InputError("--persons, --groups, --rename and --skip-bad-rows go with --events (a saved store has them already)")
    store = open_store(args.store) if args.store else _ingest(args)
    executor = EXECUTORS[args.executor]
    if executor is not None and isinstance(store, EventStore):
        raise InputError(f"--executor {args.executor} runs the partitions of a partitioned store (trendcalc partition); "
                         f"{args.store or args.events} is one store")
    with warnings.catch_warnings():  # printed below, once, in the CLI's own words
        warnings.simplefilter("ignore", TrendcalcWarning)
        # routes stickiness and lifecycle filters/queries itself
        result = trends(store, query, project=project, now=args.now, executor=executor)
    for w in result.warnings:
        print(f"trendcalc: warning: {w}", file=sys.stderr)
    if args.strict and result.warnings:
        print(f"trendcalc: --strict: {len(result.warnings)} warning(s); no result printed", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps(result.to_dicts(), indent=1, ensure_ascii=False))
    elif args.format == "csv":
        sys.stdout.write(result.to_csv())
    else:
        print(result.table())
    if args.plot:
        result.plot().savefig(args.plot)
        print(f"plot written to {args.plot}", file=sys.stderr)
    return 0


def open_store(path: str) -> Any:
    """The saved store at ``path``: an EventStore, or a PartitionedStore when the directory holds
    a partitioned store's manifest."""
    from .partition.layout import MANIFEST, is_partitioned_manifest
    from .partition.store import PartitionedStore
    from .store import EventStore

    manifest = Path(path) / MANIFEST
    try:
        partitioned = manifest.is_file() and is_partitioned_manifest(manifest.read_bytes())
    except OSError:
        partitioned = False  # EventStore.load says what is wrong with it
    if partitioned:
        return PartitionedStore.open(path)
    return EventStore.load(path)


def _partition(args: argparse.Namespace) -> int:
    from .partition.store import partition

    if args.partitions < 1:
        raise InputError(f"--partitions {args.partitions}: expected at least 1")
    given = args.events
    dirs = [p for p in given if Path(p).is_dir()]
    rename = _renames(args.rename)
    if dirs:
        if len(given) > 1 or args.persons or args.groups or rename or args.input_timezone:
            raise InputError(f"--events {dirs[0]}: a saved store is partitioned on its own, without other files, "
                             "--persons, --groups, --rename or --input-timezone (it has them already)")
        store = _one_store(open_store(dirs[0]), dirs[0], "partition its input files again, or its saved store")
        parts = partition(store, args.out, args.partitions, overwrite=args.overwrite)
    else:
        parts = partition(given if len(given) > 1 else given[0], args.out, args.partitions, persons=args.persons,
                          groups=args.groups, rename=rename or None, timezone=args.input_timezone,
                          overwrite=args.overwrite)
    print(f"{parts}\nquery it with: trendcalc query --store {args.out} --executor processes --filter ...",
          file=sys.stderr)
    return 0


def _one_store(store: Any, path: str, what: str) -> Any:
    """``store`` when it is one EventStore; an InputError for a partitioned store's directory."""
    from .store import EventStore

    if not isinstance(store, EventStore):
        raise InputError(f"{path} is a partitioned store: {what}")
    return store


def _save(args: argparse.Namespace) -> int:
    store = _one_store(_ingest(args), args.events, "it is saved already (query it with --store)")
    path = store.save(args.out, overwrite=args.overwrite)
    print(f"{store}\nsaved to {path}", file=sys.stderr)
    return 0
