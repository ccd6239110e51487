"""Which process this is, told apart from a later one that reuses its id.

A process id alone is reused by the operating system; with the host and the process's start
(on Linux: the boot and the clock tick it started at, from ``/proc``) it names one process
for good. Runs the ``etl`` command executes carry it (:mod:`etl.runs.orphans`) and scratch
folders are named by it (:mod:`etl.utils.scratch`), so whoever comes next can tell whether
their owner is still alive.
"""

from __future__ import annotations

import contextlib
import os
import socket
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessIdentity:
    host: str
    pid: int
    start: str  # "" where the start cannot be read (not Linux)

    @classmethod
    def current(cls) -> ProcessIdentity:
        return cls(socket.gethostname(), os.getpid(), process_start(os.getpid()))

    def text(self) -> str:
        return f"{self.host} {self.pid} {self.start or '-'}"

    @classmethod
    def parse(cls, text: str) -> ProcessIdentity | None:
        parts = text.split(" ")
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        return cls(parts[0], int(parts[1]), "" if parts[2] == "-" else parts[2])

    def is_local(self) -> bool:
        return self.host == socket.gethostname()

    def is_alive(self) -> bool:
        """Whether this process still runs (on this host; another host's is assumed alive)."""
        if not self.is_local():
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # another user's process: it exists
        return not self.start or process_start(self.pid) == self.start


def process_start(pid: int) -> str:
    """``<boot id>+<start tick>`` of a running process on Linux; "" elsewhere or if gone."""
    with contextlib.suppress(OSError, IndexError):
        # The command name (field 2) may hold spaces and parentheses: split after its ")".
        fields = (_PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        return f"{_boot_id()}+{fields[19]}"  # field 22 of stat: starttime
    return ""


@cache
def _boot_id() -> str:
    with contextlib.suppress(OSError):
        return (_PROC / "sys/kernel/random/boot_id").read_text().strip()
    return "boot"
