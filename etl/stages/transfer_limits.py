"""The bounds of a transfer: memory, temporary disk and time, and the errors that name them.

A transfer is tenant SQL or a tenant function over DuckDB; a careless cross join would
otherwise take the worker's memory, fill its disk and run until someone kills the process.
Memory and disk are DuckDB's own limits, set on the transfer's connection
(:func:`etl.utils.duckdb_sandbox.transfer_connection`) with its spill files in a scratch folder
(:mod:`etl.utils.scratch`). Time is :class:`TransferGuard`: a thread that interrupts the
connection once a day's transfer is past ``transfer.timeout_s``, or as soon as the step is
stopped, and keeps interrupting until the day is given up, so a function that runs one query
after another cannot outlast it. DuckDB checks for the interrupt between the vectors it
produces; a function busy in plain Python is not interrupted until it calls DuckDB again.

The day's output is temporary disk too until it is committed: :func:`capped_output` stops it
once the rows it handed to the writer are past ``transfer.max_temp_size`` (their size in
memory, which the compressed Parquet file does not usually reach), so a runaway that writes
fast cannot fill the disk before its time is up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Literal

from etl.model.sizes import size_bytes
from etl.utils.duckdb_sandbox import first_line

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from etl.config.pipeline import TransferConfig

_POLL_S = 0.2
Reason = Literal["timeout", "stop"]


class TransferLimitExceeded(RuntimeError):
    """A transfer hit one of its limits; the message names the setting (never retried)."""


class TransferStopped(RuntimeError):
    """The step was stopped while the transfer ran."""


class TransferGuard:
    """Interrupts one transfer connection past a day's deadline or when the step stops."""

    def __init__(self, con: duckdb.DuckDBPyConnection, timeout_s: float) -> None:
        self._con = con
        self._timeout_s = timeout_s
        self._deadline: float | None = None
        self._stopped = threading.Event()
        self._closed = threading.Event()
        self.fired: Reason | None = None
        self._thread = threading.Thread(target=self._watch, name="etl-transfer-guard",
                                        daemon=True)
        self._thread.start()

    @contextmanager
    def day(self) -> Iterator[None]:
        """The day's transfer runs within the block, under the deadline."""
        self.fired = None
        self._deadline = time.monotonic() + self._timeout_s
        try:
            yield
        finally:
            self._deadline = None

    def stop(self) -> None:
        """The step is stopping: interrupt now, and whatever the transfer starts next."""
        self._stopped.set()
        self._interrupt("stop")

    def close(self) -> None:
        self._closed.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._closed.wait(_POLL_S):
            deadline = self._deadline
            if deadline is None:
                continue
            if self._stopped.is_set():
                self._interrupt("stop")
            elif time.monotonic() >= deadline:
                self._interrupt("timeout")

    def _interrupt(self, reason: Reason) -> None:
        self.fired = self.fired or reason
        self._con.interrupt()  # harmless between queries: it does not stick


def limit_error(error: BaseException, fired: Reason | None, what: str,
                limits: TransferConfig) -> BaseException:
    """The error a failed day reports: the limit it hit by name, else ``error`` itself."""
    text = str(error)
    found: BaseException | None = None
    if fired == "timeout":
        found = TransferLimitExceeded(f"{what} stopped after {limits.timeout_s:g} s: "
                                      "transfer.timeout_s")
    elif fired == "stop":
        found = TransferStopped(f"{what} stopped: the run was terminated")
    elif "max_temp_directory_size" in text:
        found = TransferLimitExceeded(
            f"{what} ran out of temporary disk: transfer.max_temp_size "
            f"({limits.max_temp_size}); {first_line(text)}")
    elif "Out of Memory" in text:
        found = TransferLimitExceeded(
            f"{what} ran out of memory: transfer.memory_limit ({limits.memory_limit}), with up "
            f"to transfer.max_temp_size ({limits.max_temp_size}) spilled to disk; "
            f"{first_line(text)}")
    if found is None:
        return error
    found.__cause__ = error
    return found


def capped_output(reader: pa.RecordBatchReader, what: str,
                  limits: TransferConfig) -> pa.RecordBatchReader:
    """``reader``, failing with the limit's name once its rows are past ``max_temp_size``."""
    import pyarrow as pa

    cap = size_bytes(limits.max_temp_size)

    def batches() -> Iterator[pa.RecordBatch]:
        written = 0
        for batch in reader:
            written += batch.nbytes
            if written > cap:
                raise TransferLimitExceeded(
                    f"{what} wrote more than transfer.max_temp_size ({limits.max_temp_size}) "
                    "of rows; the file is not kept")
            yield batch

    return pa.RecordBatchReader.from_batches(reader.schema, batches())
