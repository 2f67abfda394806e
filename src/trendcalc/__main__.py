"""Command line: ``python -m trendcalc demo`` (and ``trendcalc demo`` once installed)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="trendcalc",
        description="PostHog Trends semantics over an in-memory event store.",
        epilog="example: trendcalc demo",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="generate a small product dataset and print a few trend queries")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run_demo

        run_demo()
    return 0


if __name__ == "__main__":
    sys.exit(main())
