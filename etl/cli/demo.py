"""``etl demo [--days N] [--tenant T]``: seed the sample sources and run their jobs."""

from __future__ import annotations

import argparse

from etl.cli.command import Command


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, default=3, help="how many past days to run")
    parser.add_argument("--tenant", action="append", help="only these tenants (repeatable)")


def run(args: argparse.Namespace) -> int:
    from etl.demo.runner import run_demo

    return run_demo(args.tenant, args.days)


COMMAND = Command("demo", "seed the sample sources and run their jobs", _arguments, run)
