"""``etl schema``: regenerate the JSON Schemas editors validate ``config.yaml`` with."""

from __future__ import annotations

import argparse

from etl.cli.command import Command


def _arguments(parser: argparse.ArgumentParser) -> None:
    """No arguments: the schemas are written beside the models."""


def run(args: argparse.Namespace) -> int:
    from etl.config.json_schema import write_schemas

    for path in write_schemas():
        print(f"wrote {path}")  # noqa: T201
    return 0


COMMAND = Command("schema", "regenerate the JSON Schemas of the config files", _arguments, run)
