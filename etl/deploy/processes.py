"""The processes of a one-machine deployment: started in their own process groups, watched,
and stopped together.

Each process gets exactly the environment it is given (see :mod:`etl.deploy.environment`) and
its own log file. Stopping sends SIGTERM to each process group, newest first, waits, then
SIGKILLs what is left, so no code server or run worker outlives ``etl deploy up``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


class StartupError(RuntimeError):
    """A process of the deployment did not come up; the message holds its log's last lines."""


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 20) -> str:
        text = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "\n".join(text[-lines:])


@dataclass
class Supervisor:
    """Starts processes, notices when one dies, and stops them all."""

    log_dir: Path
    processes: list[Process] = field(default_factory=list)

    def start(self, name: str, cmd: Sequence[str], env: Mapping[str, str],
              cwd: Path | None = None) -> Process:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(list(cmd), stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.STDOUT, env=dict(env), cwd=cwd,
                                     start_new_session=True)
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def wait_until(self, ready: Callable[[], bool], what: str, process: Process | None,
                   timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if process is not None and process.popen.poll() is not None:
                raise StartupError(f"{what}: exited with code {process.popen.returncode}\n"
                                   f"{process.tail()}")
            with contextlib.suppress(Exception):
                if ready():
                    return
            if time.monotonic() > deadline:
                tail = f"\n{process.tail()}" if process is not None else ""
                raise StartupError(f"{what}: not ready after {timeout:.0f}s{tail}")
            time.sleep(0.5)

    def first_exit(self) -> Process | None:
        """A process that has exited, if any."""
        return next((p for p in self.processes if p.popen.poll() is not None), None)

    def stop(self, timeout: float = 20) -> None:
        for process in reversed(self.processes):
            if process.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in reversed(self.processes):
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            # The leader may be gone while its children (run workers) linger in the group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.popen.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(timeout=5)
