"""``etl deploy up``: the whole deployment on one machine, until it is stopped.

It writes the instance (``dagster.yaml``) and the workspace (one gRPC code server per tenant)
into the deployment's home, sets the tenants' pool limits, gives code servers an instance login
of their own that may change rows but not the schema (:mod:`etl.deploy.code_login`), starts one
code server per tenant with that tenant's environment only, the daemon (schedules, the run
queue, backfills, run monitoring and retries) and the webserver, waits until all are ready,
and on SIGINT or SIGTERM stops them all. If any of them dies, the rest are stopped too, so a
half-running deployment never looks healthy.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import FrameType
from typing import TextIO

import yaml

from etl.config.tenant_config import TenantConfig
from etl.deploy.environment import service_env, tenant_env
from etl.deploy.instance import apply_pool_limits, instance_config
from etl.deploy.processes import Process, Supervisor
from etl.deploy.settings import PG_ENV, DeploymentSettings
from etl.deploy.workspace import workspace_config
from etl.errors import UsageError
from etl.runs.launch import TENANT_ENV, CodeLocation

READY_TIMEOUT_S = 180.0
ALL_LOCATION = "etl.all"
REQUIRED_DAEMONS = ("SCHEDULER", "QUEUED_RUN_COORDINATOR", "BACKFILL", "MONITORING")


@dataclass(frozen=True)
class Layout:
    """Where a deployment keeps its files, and on which address its servers listen."""

    home: Path
    host: str = "127.0.0.1"
    webserver_port: int | None = 3000  # None: no webserver
    env_dir: Path | None = None
    single_location: bool = False  # etl.all: one code server for every tenant

    @property
    def workspace(self) -> Path:
        return self.home / "workspace.yaml"

    @property
    def process_logs(self) -> Path:
        """One log file per process. Not ``<home>/logs``: Dagster owns that folder (its
        telemetry log, which it empties)."""
        return self.home / "process-logs"


def write_files(layout: Layout, tenants: Sequence[TenantConfig],
                settings: DeploymentSettings, ports: dict[str, int]) -> None:
    layout.home.mkdir(parents=True, exist_ok=True)
    (layout.home / "dagster.yaml").write_text(
        _yaml(instance_config(tenants, settings)), encoding="utf-8")
    layout.workspace.write_text(_yaml(workspace_config(ports, layout.host)), encoding="utf-8")


def missing_instance_env(env: dict[str, str] | None = None) -> list[str]:
    source = env if env is not None else os.environ
    return [name for name in PG_ENV if not source.get(name)]


def up(layout: Layout, tenants: Sequence[TenantConfig], settings: DeploymentSettings,
       out: TextIO, ready_file: Path | None = None) -> int:
    """Run the deployment in the foreground; returns when it is stopped (0) or broke (1)."""
    missing = missing_instance_env()
    if missing:
        raise UsageError(f"the instance's PostgreSQL is named by environment variables; set "
                         f"{', '.join(missing)} (DAGSTER_PG_PASSWORD holds the password)")
    ports = {name: _free_port(layout.host) for name in location_names(layout, tenants)}
    write_files(layout, tenants, settings, ports)
    supervisor = Supervisor(layout.process_logs)
    stop = _stop_on_signals()
    try:
        code_login = _start(supervisor, layout, tenants, ports, out)
        state = {"home": str(layout.home), "code_servers": ports, "code_login": code_login,
                 "webserver": (f"http://{layout.host}:{layout.webserver_port}"
                               if layout.webserver_port else None),
                 "pids": {p.name: p.popen.pid for p in supervisor.processes}}
        if ready_file is not None:
            ready_file.write_text(json.dumps(state, indent=2), encoding="utf-8")
        out.write(f"deployment ready: {len(ports)} code server(s)"
                  + (f", UI {state['webserver']}" if state["webserver"] else "")
                  + f"; logs in {supervisor.log_dir}; Ctrl-C stops it\n")
        out.write(schedules_note(tenants))
        out.flush()
        died = _watch(supervisor, stop)
        if died is not None:
            out.write(f"{died.name} exited with code {died.popen.returncode}; stopping the "
                      f"deployment\n{died.tail()}\n")
            return 1
        return 0
    finally:
        supervisor.stop()


def schedules_note(tenants: Sequence[TenantConfig]) -> str:
    """Which tenants' schedules and sensors start stopped: nothing runs for them by itself."""
    off = sorted(t.tenant.id for t in tenants if not t.schedule.enabled)
    if not off:
        return "schedules and sensors: running for every tenant\n"
    return (f"schedules and sensors off for {len(off)} of {len(tenants)} tenant(s) "
            f"(schedule.enabled: false): {', '.join(off)}; nothing runs for them by itself: "
            "set schedule.enabled: true in their config.yaml, or start them in the UI\n")


def _start(supervisor: Supervisor, layout: Layout, tenants: Sequence[TenantConfig],
           ports: dict[str, int], out: TextIO) -> str:
    """Start everything; returns the instance login the code servers were given."""
    import dagster as dg

    from etl.deploy.code_login import prepare_code_login

    os.environ["DAGSTER_HOME"] = str(layout.home)
    with dg.DagsterInstance.get() as instance:  # as the owner: creates the tables if new
        limits = apply_pool_limits(instance, tenants)
    out.write(f"instance {layout.home / 'dagster.yaml'} (PostgreSQL); pool limits {limits}\n")
    login = prepare_code_login()
    out.write(f"code servers and their runs use the instance login {login.user}: rows of "
              "Dagster's tables, no schema changes\n")
    for note in login.notes:
        out.write(f"note: {note}\n")
    servers: list[tuple[str, Process]] = []
    for name, module, tenant_env_ in _locations(layout, tenants):
        env = {**tenant_env_, **login.env()}
        cmd = [sys.executable, "-m", "dagster", "code-server", "start", "-m", module,
               "-h", layout.host, "-p", str(ports[name]), "--location-name", name]
        servers.append((name, supervisor.start(f"code-server-{name}", cmd, env)))
    for tenant, process in servers:
        port = ports[tenant]
        supervisor.wait_until(partial(_serving, layout.host, port),
                              f"code server of {tenant}", process, READY_TIMEOUT_S)
        out.write(f"code server {tenant}: {layout.host}:{ports[tenant]}\n")
    scripts = Path(sys.executable).parent
    env = service_env(layout.home)
    daemon = supervisor.start("daemon", [str(scripts / "dagster-daemon"), "run", "-w",
                                         str(layout.workspace)], env)
    supervisor.wait_until(_daemons_beating, "the daemon", daemon, READY_TIMEOUT_S)
    if layout.webserver_port is not None:
        web = supervisor.start("webserver", [
            str(scripts / "dagster-webserver"), "-w", str(layout.workspace), "-h", layout.host,
            "-p", str(layout.webserver_port)], env)
        supervisor.wait_until(partial(_open, layout.host, layout.webserver_port),
                              "the webserver", web, READY_TIMEOUT_S)
    return login.user


def _locations(layout: Layout, tenants: Sequence[TenantConfig]
               ) -> list[tuple[str, str, dict[str, str]]]:
    """(location, module, environment) of each code server to start."""
    ids = [t.tenant.id for t in tenants]
    if layout.single_location:  # every tenant, and every tenant's secrets, in one process
        env: dict[str, str] = {}
        for config in tenants:
            env.update(tenant_env(layout.home, config, layout.env_dir, others=ids))
        env.pop(TENANT_ENV, None)
        return [(ALL_LOCATION, "etl.all", env)]
    return [(c.tenant.id, CodeLocation.of_tenant(c.tenant.id).module,
             tenant_env(layout.home, c, layout.env_dir, others=ids)) for c in tenants]


def location_names(layout: Layout, tenants: Sequence[TenantConfig]) -> list[str]:
    return [ALL_LOCATION] if layout.single_location else [t.tenant.id for t in tenants]


def _serving(host: str, port: int) -> bool:
    from dagster._grpc.client import DagsterGrpcClient

    DagsterGrpcClient(port=port, host=host).ping("etl")
    return True


def _daemons_beating() -> bool:
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        beats = instance.get_daemon_heartbeats()
    return all(name in beats for name in REQUIRED_DAEMONS)


def _open(host: str, port: int) -> bool:
    with socket.create_connection((host, port), timeout=1):
        return True


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)
    return stop


def _watch(supervisor: Supervisor, stop: threading.Event) -> Process | None:
    while not stop.wait(1.0):
        died = supervisor.first_exit()
        if died is not None:
            return died
    return None


def _yaml(data: object) -> str:
    return yaml.safe_dump(data, sort_keys=False)
