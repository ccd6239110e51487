"""Runs the ``etl`` command executed here whose process died: failed by the next command.

``etl run`` and ``etl backfill`` execute their runs in the command's own process, without a
daemon. A process killed outright (``kill -9``, the out-of-memory killer, a power cut) cannot
record its run's end, and nothing else watches it: the run would stay STARTED for ever, and
the UI would show its days as in progress. So each run executed here carries the process
that executes it (:func:`executor_tags`: the host, and the process id with its start, so a
later process reusing the id is not taken for it), and every ``etl`` command that opens the
local instance first fails this host's unfinished runs whose process is gone
(:func:`fail_orphaned_runs`). Runs a daemon launched carry no such tags: the daemon's run
monitoring handles those, and runs of another host are left to that host.
"""

from __future__ import annotations

import socket
from typing import TextIO

import dagster as dg

from etl import naming
from etl.utils.process import ProcessIdentity

UNFINISHED = (dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
              dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING)


def executor_tags(run_id: str) -> dict[str, str]:
    """The tags naming this process as the one executing run ``run_id``.

    The run id is part of the value, so a re-execution that copies its parent's tags is not
    judged by the parent's process.
    """
    me = ProcessIdentity.current()
    return {naming.EXECUTED_ON_TAG: me.host,
            naming.EXECUTED_BY_TAG: f"{me.pid} {me.start or '-'} {run_id}"}


def executor(run: dg.DagsterRun) -> ProcessIdentity | None:
    """The process that executes ``run``, if the ``etl`` command tagged it for this run."""
    host = run.tags.get(naming.EXECUTED_ON_TAG)
    parts = run.tags.get(naming.EXECUTED_BY_TAG, "").split(" ")
    if host is None or len(parts) != 3 or parts[2] != run.run_id:
        return None
    return ProcessIdentity.parse(f"{host} {parts[0]} {parts[1]}")


def fail_orphaned_runs(instance: dg.DagsterInstance, out: TextIO | None = None) -> list[str]:
    """Fail the unfinished runs of this host whose process is gone; their ids."""
    from dagster._core.storage.dagster_run import RunsFilter

    runs = instance.get_runs(filters=RunsFilter(
        statuses=list(UNFINISHED), tags={naming.EXECUTED_ON_TAG: socket.gethostname()}))
    failed = []
    me = ProcessIdentity.current()
    for run in runs:
        owner = executor(run)
        if owner is None or owner.is_alive():
            continue
        instance.report_run_failed(run, (
            f"The process that executed this run is gone: pid {owner.pid} on {owner.host} "
            "ended without recording the run's end (killed with kill -9, by the out-of-memory "
            f"killer, or the machine stopped). Marked failed by etl (pid {me.pid}) when it "
            "next opened this instance; run the run's days again."))
        failed.append(run.run_id)
        if out is not None:
            tenant = run.tags.get(naming.TENANT_TAG)
            of = f" of tenant {tenant}" if tenant else ""
            out.write(f"marked run {run.run_id} ({run.job_name}{of}) failed: the process that "
                      f"executed it (pid {owner.pid}) is gone\n")
    return failed
