"""The ``etl`` command.

``etl run`` and ``etl backfill`` start the tenants' jobs (recorded in ``$DAGSTER_HOME`` with
their code location, so the UI lists and re-executes them), ``etl demo`` runs the sample
tenants through the same path, ``etl deploy`` runs or generates a deployment, ``etl validate``
checks every tenant, ``etl tenant new`` scaffolds one and ``etl schema`` regenerates the config
JSON Schemas.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from etl.cli import deploy, runs, validate
from etl.config.errors import ConfigError, TenantsConfigError


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="etl", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = top.add_subparsers(dest="command", required=True)
    runs.add_commands(sub)
    deploy.add_commands(sub)
    demo = sub.add_parser("demo", help="seed the sample sources and run their jobs")
    demo.add_argument("--days", type=int, default=3, help="how many past days to run")
    demo.add_argument("--tenant", action="append", help="only these tenants (repeatable)")
    new = sub.add_parser("tenant", help="tenant scaffolding").add_subparsers(
        dest="action", required=True).add_parser("new", help="create a tenant from _template")
    new.add_argument("tenant_id")
    new.add_argument("--name", help="human-readable name (default: from the id)")
    sub.add_parser("schema", help="regenerate the JSON Schemas of the config files")
    validate.add_command(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return _dispatch(args)
    except (ConfigError, TenantsConfigError, FileExistsError, FileNotFoundError,
            ValueError) as e:
        print(f"error: {e}", file=sys.stderr)  # noqa: T201
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    if args.command in runs.COMMANDS:
        return runs.run_command(args)
    if args.command == "deploy":
        return deploy.run_command(args)
    if args.command == "demo":
        from etl.demo.runner import run_demo

        return run_demo(args.tenant, args.days)
    if args.command == "tenant":
        from etl.scaffold import create_tenant

        for line in create_tenant(args.tenant_id, args.name):
            print(line)  # noqa: T201
        return 0
    if args.command == "schema":
        from etl.config.json_schema import write_schemas

        for path in write_schemas():
            print(f"wrote {path}")  # noqa: T201
        return 0
    return validate.run(args)
