"""CLI: `python -m tools.services up [postgres mariadb s3 trino]` / `fetch-trino`.

`up` runs the same servers the tests use, in the foreground, for humans and for `bench/`: it
prints each URL and client environment, optionally writes them as JSON (`--json FILE`), and
stops everything on Ctrl-C / SIGTERM. `fetch-trino` only fills the Trino cache, so `make` can
prefetch the ~820 MB download outside of a test run.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from tools.services import mariadb, postgres, s3, trino
from tools.services.base import Service, ServiceUnavailable

ORDER = ("postgres", "mariadb", "s3", "trino")
DEPENDS = {"trino": ("s3", "postgres")}


def _out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _resolve(names: list[str]) -> list[str]:
    wanted = set(names or ORDER)
    for name in list(wanted):
        wanted.update(DEPENDS.get(name, ()))
    return [n for n in ORDER if n in wanted]


def _describe(svc: Service) -> dict[str, object]:
    return {
        "url": svc.url,
        "host": svc.host,
        "port": svc.port,
        "user": svc.user,
        "password": svc.password,
        "env": svc.env,
        "extra": svc.extra,
        "log": str(svc.log_path) if svc.log_path else None,
        "started_in_s": round(svc.started_in_s, 2),
    }


def cmd_up(names: list[str], json_path: Path | None) -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()
        raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    started: dict[str, Service] = {}
    starters: dict[str, Callable[[], Service]] = {
        "postgres": postgres.start_postgres,
        "mariadb": mariadb.start_mariadb,
        "s3": s3.start_s3,
        "trino": lambda: trino.start_trino(started["s3"], started["postgres"]),
    }
    try:
        for name in _resolve(names):
            _out(f"starting {name} ...")
            svc = starters[name]()
            started[name] = svc
            _out(f"{name:9} {svc.url}   ({svc.started_in_s:.1f}s, log {svc.log_path})")
            for key, value in svc.env.items():
                _out(f"    export {key}={value}")
        if json_path is not None:
            json_path.write_text(
                json.dumps({n: _describe(s) for n, s in started.items()}, indent=2) + "\n"
            )
            _out(f"wrote {json_path}")
        _out("all up; Ctrl-C to stop")
        while not stop.wait(3600):
            pass
    except KeyboardInterrupt:
        pass
    except ServiceUnavailable as exc:
        _out(f"error: {exc}")
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # do not interrupt our own teardown
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for name, svc in reversed(started.items()):
            _out(f"stopping {name}")
            svc.stop()
    return 0


def cmd_fetch_trino() -> int:
    try:
        home = trino.fetch_trino()
    except ServiceUnavailable as exc:
        _out(f"error: {exc}")
        return 1
    _out(str(home))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.services", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start servers in the foreground and print their URLs")
    up.add_argument("services", nargs="*", metavar="SERVICE", help=f"any of {', '.join(ORDER)}")
    up.add_argument("--json", type=Path, help="also write URLs/credentials to this JSON file")
    sub.add_parser("fetch-trino", help="download and unpack Trino into the cache only")
    args = parser.parse_args(argv)
    if args.cmd == "up":
        unknown = sorted(set(args.services) - set(ORDER))
        if unknown:
            parser.error(
                f"unknown service(s): {', '.join(unknown)}; choose from {', '.join(ORDER)}"
            )
        return cmd_up(args.services, args.json)
    return cmd_fetch_trino()


if __name__ == "__main__":
    sys.exit(main())
