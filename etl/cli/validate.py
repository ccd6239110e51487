"""``etl validate [TENANT] [--connect]``: one line per tenant, ok or its errors."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from etl.cli.command import Command, tenant_id

DESCRIPTION = """\
Load every tenant (or TENANT) as its code location does and print one line per tenant: ok, or
its errors, each with file:line and field. Also reported: tenant folders without config.yaml,
configs without their code-location module etl/<tenant>.py and modules without a tenant, two
tenants writing to one warehouse schema or lake folder, and secrets (variables named by *_env
fields) set but shorter than 8 characters. With --connect, also connect to each tenant's
source, bucket and warehouse and check that every table, column, date_column and Trino catalog
exists. Exit status 1 when any tenant has an error.
"""


def _arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("tenant", nargs="?", type=tenant_id, help="only this tenant")
    command.add_argument("--connect", action="store_true",
                         help="also connect to each source, bucket and warehouse")
    command.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                         help="with --connect: how long one connection may take (default 10)")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from etl.validate.tenants import validate_tenants

    stream = out or sys.stdout
    reports = validate_tenants(only=args.tenant, connect=args.connect, timeout_s=args.timeout)
    for report in reports:
        stream.write("".join(f"{line}\n" for line in report.render()))
    broken = [r.tenant for r in reports if not r.ok]
    total = f"{len(reports)} tenant{'' if len(reports) == 1 else 's'}"
    stream.write(f"{total}: {len(reports) - len(broken)} ok, {len(broken)} with errors\n")
    return 1 if broken else 0


COMMAND = Command("validate", "check every tenant (or one) and report all errors at once",
                  _arguments, run, description=DESCRIPTION)
