"""The ``etl`` command table: what a user can fix is one line, a bug keeps its traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from etl.cli import main as cli_main
from etl.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def etl(*argv: str) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it, with its own stdout and stderr."""
    return subprocess.run([sys.executable, "-m", "etl.cli", *argv], capture_output=True,
                          text=True, cwd=ROOT, timeout=120, check=False)


@pytest.mark.parametrize(("argv", "message"), [
    (("backfill", "default", "--from", "2026-01-02", "--to", "2026-01-01"),
     "error: --to 2026-01-01 is before --from 2026-01-02"),
    (("run", "default", "no_such_job"),
     "error: tenant 'default' has no job 'no_such_job'; its jobs: "),
    (("run", "default", "daily_etl_job", "--wait"), "error: --wait goes with --submit"),
])
def test_a_mistake_on_the_command_line_is_one_line(argv: tuple[str, ...], message: str) -> None:
    done = etl(*argv)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr


LONG_ID = "a" * 300


@pytest.mark.parametrize("argv", [
    ("run", LONG_ID, "daily_etl_job"),
    ("backfill", LONG_ID, "--from", "2026-01-01", "--to", "2026-01-02"),
    ("validate", LONG_ID),
    ("tenant", "new", LONG_ID),
    ("deploy", "instance", "--tenant", LONG_ID),
])
def test_a_tenant_id_is_checked_before_it_names_a_file(argv: tuple[str, ...]) -> None:
    done = etl(*argv)
    assert done.returncode == 2, done.stderr
    option = "--tenant" if "--tenant" in argv else (
        "tenant_id" if argv[0] == "tenant" else "tenant")
    assert done.stderr.splitlines()[-1].endswith(
        f"error: argument {option}: tenant id 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'... (300 "
        "characters) is not allowed: it must match ^[a-z][a-z0-9_]*$ and have at most 63 "
        "characters"), done.stderr
    assert "Traceback" not in done.stderr and "File name too long" not in done.stderr


def _known_errors() -> list[Exception]:
    from etl.deploy.processes import StartupError
    from etl.sources.errors import SourceError
    from etl.warehouse.base import WarehouseError

    return [SourceError("cannot reach the source at db:5432: connection refused"),
            WarehouseError("cannot reach Trino at trino:8080: connection refused"),
            StartupError("the daemon did not come up: its log ends with 'port in use'")]


@pytest.mark.parametrize("error", _known_errors(), ids=lambda e: type(e).__name__)
def test_a_known_error_is_one_line_and_verbose_shows_its_traceback(
        error: Exception, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """An unreachable source or warehouse, or a deployment's process that did not start, is
    what the user fixes: one line and exit status 2; ``--verbose`` gives the traceback."""
    def failing(args: object) -> int:
        raise error

    commands = tuple(c if c.name != "run" else c.__class__(c.name, c.help, c.arguments,
                                                              failing)
                     for c in cli_main.COMMANDS)
    monkeypatch.setattr(cli_main, "COMMANDS", commands)
    assert main(["run", "default", "daily_etl_job"]) == 2
    assert capsys.readouterr().err == f"error: {error}\n"
    with pytest.raises(type(error)):
        main(["run", "default", "daily_etl_job", "--verbose"])


def test_a_bug_is_not_dressed_as_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ValueError from a programming mistake reaches the user as the traceback it is."""
    from etl.cli import demo

    def broken(args: object) -> int:
        raise ValueError("a bug, not the user's input")

    commands = tuple(c if c.name != "demo" else demo.COMMAND.__class__(
        c.name, c.help, c.arguments, broken) for c in cli_main.COMMANDS)
    monkeypatch.setattr(cli_main, "COMMANDS", commands)
    with pytest.raises(ValueError, match="a bug"):
        main(["demo"])
