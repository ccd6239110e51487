"""Shared plumbing for the loopback test servers.

Every server in this package is a real process started on 127.0.0.1 with a free port, its own
throwaway run directory and a log file, so tests exercise the same wire protocols as production
without Docker. This module holds what they all need: the `Service` handle, port helpers,
process start/stop with process groups (so no grandchild survives a test session), and a
guarded `apt-get install` for servers that are Debian packages.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK = "127.0.0.1"

#: Set to 1 to keep run directories (data + logs) after `Service.stop()`, for post-mortems.
KEEP_ENV = "ETL_KEEP_SERVICE_DIRS"


class ServiceUnavailable(RuntimeError):
    """A server could not be installed or started; `hint` says what would make it work."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message if not hint else f"{message} ({hint})")
        self.reason = message
        self.hint = hint


@dataclass
class Service:
    """Handle on one running server: where it listens, how clients connect, how to stop it.

    `url` is the main client URL (SQLAlchemy URL, HTTP endpoint...). `env` holds environment
    variables a client process would need (PGHOST, AWS_ENDPOINT_URL...), `extra` anything
    service specific (bucket, socket path, database...). `stop()` is idempotent.
    """

    name: str
    host: str
    port: int
    url: str
    user: str = ""
    password: str = ""
    env: dict[str, str] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)
    run_dir: Path | None = None
    log_path: Path | None = None
    started_in_s: float = 0.0
    _cleanups: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def on_stop(self, fn: Callable[[], None]) -> None:
        """Register a cleanup; they run in reverse order of registration."""
        self._cleanups.append(fn)

    def stop(self) -> None:
        """Stop the server and remove its run directory (unless ETL_KEEP_SERVICE_DIRS=1)."""
        errors: list[BaseException] = []
        while self._cleanups:
            fn = self._cleanups.pop()
            try:
                fn()
            except Exception as exc:  # keep stopping the rest; report the first failure
                errors.append(exc)
        if self.run_dir is not None and os.environ.get(KEEP_ENV) != "1":
            shutil.rmtree(self.run_dir, ignore_errors=True)
            self.run_dir = None
        if errors:
            raise errors[0]

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def is_root() -> bool:
    return os.geteuid() == 0


def free_port(host: str = LOOPBACK) -> int:
    """Return a port that was free a moment ago (the kernel picks it, so collisions are rare)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def log_tail(path: Path | None, lines: int = 30) -> str:
    """Last lines of a server log, appended to errors so a failed start explains itself."""
    if path is None or not path.exists():
        return ""
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return f"\n--- last {len(text)} lines of {path} ---\n" + "\n".join(text)


def wait_until(
    check: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    proc: subprocess.Popen[bytes] | None = None,
    log_path: Path | None = None,
    interval: float = 0.2,
) -> None:
    """Poll `check` until it returns True; fail early if `proc` died, else after `timeout`.

    Exceptions raised by `check` count as "not yet" (servers refuse connections while booting).
    """
    deadline = time.monotonic() + timeout
    last_error = ""
    while True:
        if proc is not None and proc.poll() is not None:
            raise ServiceUnavailable(
                f"{what}: process exited with code {proc.returncode}" + log_tail(log_path)
            )
        try:
            if check():
                return
        except Exception as exc:
            last_error = f" (last error: {type(exc).__name__}: {exc})"
        if time.monotonic() > deadline:
            raise ServiceUnavailable(
                f"{what}: not ready after {timeout:.0f}s{last_error}" + log_tail(log_path)
            )
        time.sleep(interval)


def wait_for_port(
    host: str,
    port: int,
    *,
    timeout: float = 60,
    proc: subprocess.Popen[bytes] | None = None,
    log_path: Path | None = None,
) -> None:
    wait_until(
        lambda: port_open(host, port),
        what=f"port {host}:{port}",
        timeout=timeout,
        proc=proc,
        log_path=log_path,
    )


def make_run_dir(name: str, base: Path | None = None) -> Path:
    """Create a private run directory, by default under the system temp dir."""
    if base is not None:
        base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"etl-{name}-", dir=base))


def start_process(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.Popen[bytes]:
    """Start a server in its own session (process group) with stdout+stderr to `log_path`.

    The own session is what lets `stop_process` take down launcher wrappers and their JVMs
    together, and keeps Ctrl-C in a terminal from hitting servers before teardown runs.
    """
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [os.fspath(c) for c in cmd],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            user=user,
            start_new_session=True,
            preexec_fn=preexec_fn,
        )


def stop_process(
    proc: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM, timeout: float = 20
) -> None:
    """Signal the whole process group, wait up to `timeout`, then SIGKILL what is left."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    # The leader may be gone while children linger in the group: always sweep it.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


@contextlib.contextmanager
def frozen(svc: Service) -> Iterator[None]:
    """Freeze the server and thaw it on exit: SIGSTOP to its process and every descendant (a
    PostgreSQL postmaster and its backends, which run in sessions of their own), SIGCONT
    after. Connections stay open and the kernel keeps accepting and acknowledging, but nothing
    answers: a hung server, as clients see one."""
    leader = int(svc.extra["pid"])
    os.kill(leader, signal.SIGSTOP)  # first, so it forks no new backend meanwhile
    stopped = [leader]
    try:
        for pid in _descendants(leader):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
        yield
    finally:
        for pid in reversed(stopped):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def _descendants(root: int) -> list[int]:
    """Every process below ``root``, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


# --- Debian packages -----------------------------------------------------------------------

_apt_updated = False
_APT_LOCK = Path(tempfile.gettempdir()) / "etl-services-apt.lock"


def missing_apt_packages(pkgs: Iterable[str]) -> list[str]:
    """Packages from `pkgs` that dpkg does not report as installed."""
    missing = []
    for pkg in pkgs:
        res = subprocess.run(
            ["dpkg-query", "-W", "-f=${db:Status-Status}", pkg],
            capture_output=True,
            text=True,
            check=False,
        )
        if res.returncode != 0 or res.stdout.strip() != "installed":
            missing.append(pkg)
    return missing


def ensure_apt_packages(pkgs: Sequence[str], *, timeout: float = 900) -> None:
    """Install missing Debian packages, or explain why that is impossible.

    Only as root and only if apt-get exists: a developer laptop without root gets a clear
    ServiceUnavailable instead of a sudo prompt. `apt-get update` runs once per process, and a
    file lock serialises concurrent pytest processes (dpkg's own lock would make them fail).
    """
    global _apt_updated
    if shutil.which("dpkg-query") is None or shutil.which("apt-get") is None:
        raise ServiceUnavailable(
            f"needs Debian packages {' '.join(pkgs)} but this is not a Debian/apt system",
            hint=f"install {' '.join(pkgs)} with your package manager",
        )
    missing = missing_apt_packages(pkgs)
    if not missing:
        return
    names = " ".join(missing)
    if not is_root():
        raise ServiceUnavailable(
            f"Debian packages not installed: {names}",
            hint=f"run as root so apt-get can install {names}, or `sudo apt-get install {names}`",
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = ["apt-get", "-q", "-o", "DPkg::Lock::Timeout=300"]
    with _APT_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        missing = missing_apt_packages(missing)  # another process may have installed them
        if not missing:
            return
        try:
            if not _apt_updated:
                _run_apt([*apt, "update"], env, timeout)
                _apt_updated = True
            _run_apt([*apt, "install", "-y", "--no-install-recommends", *missing], env, timeout)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    still = missing_apt_packages(missing)
    if still:
        raise ServiceUnavailable(f"apt-get install finished but {' '.join(still)} still missing")


def _run_apt(cmd: list[str], env: dict[str, str], timeout: float) -> None:
    try:
        res = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ServiceUnavailable(f"`{' '.join(cmd)}` timed out after {timeout:.0f}s") from exc
    if res.returncode != 0:
        tail = "\n".join((res.stdout + res.stderr).splitlines()[-20:])
        raise ServiceUnavailable(f"`{' '.join(cmd)}` failed with code {res.returncode}:\n{tail}")
