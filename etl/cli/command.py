"""One ``etl`` subcommand: its name, its arguments and what it runs.

Every subcommand is a module of :mod:`etl.cli` holding one :class:`Command`; the table in
:mod:`etl.cli` lists them, so a new command is one module and one line there.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from etl.naming import tenant_id_problem


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    description: str | None = None

    def add_to(self, sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
        parser = sub.add_parser(self.name, help=self.help, description=self.description or
                                self.help, formatter_class=argparse.RawDescriptionHelpFormatter)
        self.arguments(parser)
        parser.add_argument("--verbose", action="store_true",
                            help="show Dagster's own log as runs go, and the traceback of an "
                                 "error instead of its one-line message")


def day(text: str) -> dt.date:
    """An argument that is a day, ``YYYY-MM-DD``."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day; use YYYY-MM-DD") from None


def tenant_id(text: str) -> str:
    """An argument that is a tenant id, checked before it names any file or folder."""
    problem = tenant_id_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return text
