"""``etl status [TENANT...] [--days N] [--json]``: each tenant's days, from the instance."""

from __future__ import annotations

import argparse
import sys

from etl.cli.command import Command

DEFAULT_WINDOW = 30


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tenants", nargs="*", metavar="TENANT",
                        help="only these tenants (default: every tenant)")
    parser.add_argument("--days", type=_positive, default=DEFAULT_WINDOW, metavar="N",
                        help=f"the window: the last N complete days (default {DEFAULT_WINDOW})")
    parser.add_argument("--json", action="store_true", help="one JSON object per pipeline")


def _positive(text: str) -> int:
    value = int(text) if text.isdigit() else 0
    if not 1 <= value <= 3660:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days from 1 to 3660")
    return value


def run(args: argparse.Namespace) -> int:
    import datetime as dt

    from etl.config.config_loader import load_tenant_config
    from etl.config.discovery import discover_tenants
    from etl.runs.home import instance
    from etl.status.collect import tenant_status
    from etl.status.render import as_json, as_table

    now = dt.datetime.now(dt.UTC)
    configs = [load_tenant_config(t, check_siblings=False).config
               for t in args.tenants or discover_tenants()]
    with instance() as inst:
        statuses = [s for c in configs for s in tenant_status(inst, c, args.days, now)]
    sys.stdout.write(as_json(statuses) + "\n" if args.json else as_table(statuses))
    return 0


COMMAND = Command(
    "status", "each tenant's days: last loaded, missing, failed, failing checks, rows",
    _arguments, run,
    description="One row per tenant and pipeline, read from the Dagster instance in "
                "$DAGSTER_HOME: the last day done at the pipeline's last stage, the days of the "
                "window that are missing or failed (per stage), the checks whose current result "
                "failed (per day), the days loaded after their freshness deadline or not at "
                "all, and the rows loaded on the last day and over the window.")
