"""``etl tenant new TENANT_ID [--name NAME]``: a tenant folder from ``_template``."""

from __future__ import annotations

import argparse

from etl.cli.command import Command, tenant_id


def _arguments(parser: argparse.ArgumentParser) -> None:
    new = parser.add_subparsers(dest="action", required=True).add_parser(
        "new", help="create a tenant from _template")
    new.add_argument("tenant_id", type=tenant_id)
    new.add_argument("--name", help="human-readable name (default: from the id)")


def run(args: argparse.Namespace) -> int:
    from etl.scaffold import create_tenant

    for line in create_tenant(args.tenant_id, args.name):
        print(line)  # noqa: T201
    return 0


COMMAND = Command("tenant", "tenant scaffolding", _arguments, run)
