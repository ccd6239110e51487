"""Throwaway PostgreSQL cluster on a free loopback port.

Uses the Debian `postgresql` binaries directly (initdb + postgres), not the pg_ctlcluster
machinery, so each test session gets its own cluster in a temp dir that vanishes afterwards and
never touches a system cluster. initdb refuses to run as root, so as root both initdb and the
server run as the `postgres` OS user, in a run dir that user owns. Durability is switched off
(fsync, synchronous_commit, full_page_writes): this data is disposable and speed matters.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from tools.services.base import (
    LOOPBACK,
    Service,
    ServiceUnavailable,
    ensure_apt_packages,
    free_port,
    is_root,
    make_run_dir,
    start_process,
    stop_process,
    wait_until,
)

SUPERUSER = "etl"
PASSWORD = "etl"
_OS_USER = "postgres"
_FAST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "128MB",
    "listen_addresses": LOOPBACK,
}


def find_bindir() -> Path:
    """Newest /usr/lib/postgresql/<ver>/bin that has initdb, installing postgresql if needed."""
    for attempt in range(2):
        found = sorted(
            Path("/usr/lib/postgresql").glob("*/bin/initdb"),
            key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
        )
        if found:
            return found[-1].parent
        if attempt == 0:
            ensure_apt_packages(["postgresql"])
    raise ServiceUnavailable("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin")


def start_postgres(base_dir: Path | None = None, *, timeout: float = 60) -> Service:
    """Start a fresh cluster; superuser `etl`/`etl`, password auth over TCP on 127.0.0.1.

    `base_dir` (default: system temp dir) must be traversable by the `postgres` user when
    running as root.
    """
    t0 = time.monotonic()
    bindir = find_bindir()
    run_dir = make_run_dir("postgres", base_dir)
    log_path = run_dir / "postgres.log"
    port = free_port()
    url = f"postgresql+psycopg://{SUPERUSER}:{PASSWORD}@{LOOPBACK}:{port}/postgres"
    svc = Service(
        name="postgres",
        host=LOOPBACK,
        port=port,
        url=url,
        user=SUPERUSER,
        password=PASSWORD,
        env={
            "PGHOST": LOOPBACK,
            "PGPORT": str(port),
            "PGUSER": SUPERUSER,
            "PGPASSWORD": PASSWORD,
            "PGDATABASE": "postgres",
        },
        extra={"version": bindir.parent.name, "socket_dir": str(run_dir)},
        run_dir=run_dir,
        log_path=log_path,
    )
    try:
        user = None
        if is_root():
            user = _OS_USER
            pw = pwd.getpwnam(_OS_USER)
            os.chown(run_dir, pw.pw_uid, pw.pw_gid)
        data = run_dir / "data"
        pwfile = run_dir / "pwfile"
        pwfile.write_text(PASSWORD + "\n")
        if user is not None:
            shutil.chown(pwfile, user)
        _initdb(bindir, data, pwfile, user, log_path)
        pwfile.unlink()
        settings = {**_FAST_SETTINGS, "port": str(port), "unix_socket_directories": str(run_dir)}
        cmd: list[str | Path] = [bindir / "postgres", "-D", data]
        for key, value in settings.items():
            cmd += ["-c", f"{key}={value}"]
        server = _Server(svc, cmd, user, log_path)
        _SERVERS[port] = server
        svc.on_stop(lambda: _SERVERS.pop(port, None))
        svc.on_stop(server.stop)
        server.start(timeout)
    except BaseException:
        svc.stop()
        raise
    svc.started_in_s = time.monotonic() - t0
    return svc


@dataclass
class _Server:
    """The postgres process of a cluster, which :func:`outage` stops and starts again."""

    svc: Service
    cmd: list[str | Path]
    user: str | None
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        self.proc = start_process(self.cmd, log_path=self.log_path, user=self.user,
                                  env=_clean_env())
        # The postmaster leads a process group with every backend: tests freeze the server
        # (SIGSTOP) by signalling the group.
        self.svc.extra["pid"] = str(self.proc.pid)
        wait_until(lambda: _query_ok(self.svc, "postgres"), what="PostgreSQL",
                   timeout=timeout, proc=self.proc, log_path=self.log_path)

    def stop(self) -> None:
        # SIGINT is PostgreSQL's "fast shutdown": it does not wait for clients to disconnect.
        if self.proc is not None:
            stop_process(self.proc, sig=signal.SIGINT, timeout=30)
            self.proc = None


_SERVERS: dict[int, _Server] = {}


def outage(svc: Service, seconds: float) -> None:
    """Stop the server (clients see their queries cut and connections refused), wait
    ``seconds``, and start it again on the same port and data; returns once it answers."""
    server = _SERVERS.get(svc.port)
    if server is None:
        raise ValueError(f"{svc.name} on port {svc.port} was not started by start_postgres")
    server.stop()
    time.sleep(seconds)
    server.start()


def _clean_env() -> dict[str, str]:
    # Inherited PG* variables would change initdb/postgres behaviour.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.setdefault("LANG", "C.UTF-8")
    return env


def _initdb(bindir: Path, data: Path, pwfile: Path, user: str | None, log_path: Path) -> None:
    cmd = [
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        SUPERUSER,
        f"--pwfile={pwfile}",
        "--auth-host=scram-sha-256",
        "--auth-local=trust",
        "--encoding=UTF8",
        "--locale=C.UTF-8",
        "--no-sync",
    ]
    with log_path.open("ab") as log:
        res = subprocess.run(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            user=user,
            env=_clean_env(),
            cwd=data.parent,
            timeout=120,
            check=False,
        )
    if res.returncode != 0:
        tail = log_path.read_text(errors="replace")[-2000:]
        raise ServiceUnavailable(f"initdb failed with code {res.returncode}:\n{tail}")


def _conninfo(svc: Service, dbname: str) -> str:
    return (
        f"host={svc.host} port={svc.port} user={svc.user} password={svc.password} "
        f"dbname={dbname} connect_timeout=5"
    )


def _query_ok(svc: Service, dbname: str) -> bool:
    with psycopg.connect(_conninfo(svc, dbname)) as conn:
        return conn.execute("SELECT 1").fetchone() == (1,)


def connect(svc: Service, dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
    """Autocommit psycopg connection as the superuser."""
    return psycopg.connect(_conninfo(svc, dbname), autocommit=True)


def database_url(svc: Service, dbname: str) -> str:
    """SQLAlchemy URL for `dbname` on this server."""
    return f"postgresql+psycopg://{svc.user}:{svc.password}@{svc.host}:{svc.port}/{dbname}"


_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _check_name(name: str) -> str:
    if not _NAME_RE.match(name):
        raise ValueError(f"unsafe database name {name!r}")
    return name


def create_database(svc: Service, dbname: str) -> str:
    """Create `dbname` (owned by the superuser) and return its SQLAlchemy URL."""
    with connect(svc) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(_check_name(dbname))))
    return database_url(svc, dbname)


def drop_database(svc: Service, dbname: str) -> None:
    """Drop `dbname`, disconnecting any sessions still attached to it."""
    with connect(svc) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(_check_name(dbname))
            )
        )
