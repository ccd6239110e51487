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
from pathlib import Path
from typing import Final

from etl.cli import backfill, demo, deploy, reconcile, run, schema, status, tenant, validate
from etl.cli.command import Command

COMMANDS: Final[tuple[Command, ...]] = (
    run.COMMAND,
    backfill.COMMAND,
    reconcile.COMMAND,
    deploy.COMMAND,
    demo.COMMAND,
    tenant.COMMAND,
    schema.COMMAND,
    validate.COMMAND,
    status.COMMAND,
)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="etl", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = top.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_to(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; an error the user can fix is one line and exit status 2, a
    command stopped in the middle of a run exits with 130 (as a shell reports Ctrl-C)."""
    from etl.errors import Interrupted

    args = parser().parse_args(argv)
    command = next(c for c in COMMANDS if c.name == args.command)
    read_dotenv()
    try:
        return command.run(args)
    except Interrupted as e:
        print(f"stopped: {e}", file=sys.stderr)  # noqa: T201
        return 130
    except known_errors() as e:
        if args.verbose:
            raise
        print(f"error: {e}", file=sys.stderr)  # noqa: T201
        return 2


def read_dotenv(folder: Path | None = None) -> None:
    """Variables from ``.env`` in the working directory, as ``dg dev`` reads them; a variable
    already set in the environment wins."""
    from dotenv import load_dotenv

    file = (folder or Path.cwd()) / ".env"
    if file.is_file():
        load_dotenv(file, override=False)


def known_errors() -> tuple[type[Exception], ...]:
    """A bad config, an unreachable or refusing source or warehouse, a command line asking for
    something that cannot be done, a deployment's process that did not come up (its message
    holds the process's last log lines). Anything else is a bug, and keeps its traceback."""
    from etl.config.errors import ConfigError, TenantsConfigError
    from etl.deploy.processes import StartupError
    from etl.errors import UsageError
    from etl.sources.errors import SourceError
    from etl.warehouse.base import WarehouseError

    return (ConfigError, TenantsConfigError, SourceError, WarehouseError, UsageError,
            StartupError)
