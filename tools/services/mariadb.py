"""Throwaway MariaDB server on a free loopback port.

Runs the Debian `mariadb-server` binaries with `--no-defaults`, so /etc/mysql config, the system
datadir and /run/mysqld are never touched. The datadir, socket, pid and error log live in a temp
run dir. A password user `etl` is created over the unix socket right after boot (root there uses
passwordless auth); tests connect over TCP like the production path does. Durability knobs are
off because the data is disposable.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pymysql  # type: ignore[import-untyped,unused-ignore]

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

USER = "etl"
PASSWORD = "etl"
_SBIN = "/usr/sbin:/usr/bin:/sbin:/bin"


def _binaries() -> tuple[str, str]:
    """(mariadb-install-db, mariadbd) paths, installing mariadb-server if needed."""
    for attempt in range(2):
        install_db = shutil.which("mariadb-install-db", path=_SBIN)
        server = shutil.which("mariadbd", path=_SBIN)
        if install_db and server:
            return install_db, server
        if attempt == 0:
            ensure_apt_packages(["mariadb-server"])
    raise ServiceUnavailable("mariadb-install-db / mariadbd not found after installing")


def start_mariadb(base_dir: Path | None = None, *, timeout: float = 60) -> Service:
    """Start a fresh server; user `etl`/`etl` with all privileges, TCP on 127.0.0.1."""
    t0 = time.monotonic()
    install_db, server = _binaries()
    run_dir = make_run_dir("mariadb", base_dir)
    data, tmp = run_dir / "data", run_dir / "tmp"
    tmp.mkdir()
    socket_path = run_dir / "mysqld.sock"
    log_path = run_dir / "mariadb.log"
    port = free_port()
    svc = Service(
        name="mariadb",
        host=LOOPBACK,
        port=port,
        url=f"mysql+pymysql://{USER}:{PASSWORD}@{LOOPBACK}:{port}/mysql",
        user=USER,
        password=PASSWORD,
        env={
            "MYSQL_HOST": LOOPBACK,
            "MYSQL_TCP_PORT": str(port),
            "MYSQL_PWD": PASSWORD,
            "MYSQL_UNIX_PORT": str(socket_path),
        },
        extra={"socket": str(socket_path)},
        run_dir=run_dir,
        log_path=log_path,
    )
    # mariadbd refuses to run as root unless told to; the temp dir is ours, so that is fine.
    user_opt = ["--user=root"] if is_root() else []
    try:
        with log_path.open("ab") as log:
            res = subprocess.run(
                [
                    install_db,
                    "--no-defaults",
                    f"--datadir={data}",
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                    "--skip-name-resolve",
                    *user_opt,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=120,
                check=False,
            )
        if res.returncode != 0:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise ServiceUnavailable(f"mariadb-install-db failed ({res.returncode}):\n{tail}")
        proc = start_process(
            [
                server,
                "--no-defaults",
                *user_opt,
                f"--datadir={data}",
                f"--socket={socket_path}",
                f"--pid-file={run_dir / 'mariadbd.pid'}",
                f"--tmpdir={tmp}",
                f"--port={port}",
                f"--bind-address={LOOPBACK}",
                "--skip-name-resolve",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=64M",
                "--innodb-log-file-size=32M",
                "--innodb-flush-log-at-trx-commit=0",
                "--innodb-doublewrite=0",
                "--performance-schema=OFF",
                "--max-connections=200",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci",
            ],
            log_path=log_path,
        )
        svc.extra["pid"] = str(proc.pid)  # for tests that freeze the server (SIGSTOP)
        svc.on_stop(lambda: stop_process(proc, sig=signal.SIGTERM, timeout=30))
        wait_until(
            lambda: socket_path.exists() and _root_ping(socket_path),
            what="MariaDB",
            timeout=timeout,
            proc=proc,
            log_path=log_path,
        )
        _create_user(socket_path)
    except BaseException:
        svc.stop()
        raise
    svc.started_in_s = time.monotonic() - t0
    return svc


def _root_ping(socket_path: Path) -> bool:
    conn = pymysql.connect(unix_socket=str(socket_path), user="root", connect_timeout=5)
    conn.close()
    return True


def _create_user(socket_path: Path) -> None:
    conn = pymysql.connect(unix_socket=str(socket_path), user="root", autocommit=True)
    try:
        with conn.cursor() as cur:
            for host in ("%", "localhost"):
                cur.execute(f"CREATE USER '{USER}'@'{host}' IDENTIFIED BY '{PASSWORD}'")
                cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'{host}' WITH GRANT OPTION")
    finally:
        conn.close()


def connect(svc: Service, database: str | None = None) -> Any:
    """Autocommit pymysql connection over TCP as `etl` (a pymysql Connection)."""
    return pymysql.connect(
        host=svc.host,
        port=svc.port,
        user=svc.user,
        password=svc.password,
        database=database,
        autocommit=True,
        connect_timeout=10,
    )


def database_url(svc: Service, dbname: str) -> str:
    """SQLAlchemy URL for `dbname` on this server."""
    return f"mysql+pymysql://{svc.user}:{svc.password}@{svc.host}:{svc.port}/{dbname}"


_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def _check_name(name: str) -> str:
    if not _NAME_RE.match(name):
        raise ValueError(f"unsafe database name {name!r}")
    return name


def create_database(svc: Service, dbname: str) -> str:
    """Create `dbname` (utf8mb4) and return its SQLAlchemy URL."""
    conn = connect(svc)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{_check_name(dbname)}` CHARACTER SET utf8mb4")
    finally:
        conn.close()
    return database_url(svc, dbname)


def drop_database(svc: Service, dbname: str) -> None:
    conn = connect(svc)
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{_check_name(dbname)}`")
    finally:
        conn.close()
