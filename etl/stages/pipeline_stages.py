"""One pipeline's stages over a step's days.

:mod:`etl.stages.step` runs a :class:`PipelineStages` per pipeline on its worker threads, with
what the step hands each of them (:class:`~etl.stages.step_inputs.StepInputs`); each
reports through ``emit``: the per-day Dagster events, log lines, and :class:`Notice` lines the
user should see where the run is watched (a retry after a transient failure).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dagster as dg

from etl import naming
from etl.checks.planned import planned_checks
from etl.config.tenant_config import PipelineAssetConfig
from etl.stages.events import StepEvent, check_evaluation, materialization
from etl.stages.retries import retrying, should_retry, wait_before_retry
from etl.stages.step_inputs import StepInputs

if TYPE_CHECKING:
    from etl.common.transfer import TransferFunction


class Cancelled(RuntimeError):
    """The run was stopped before this pipeline's next stage or day."""


@dataclass
class StageFailure:
    pipeline: str
    stage: naming.Stage
    error: BaseException
    days: tuple[str, ...] = ()  # the days that failed (empty: master data or all of them)


@dataclass(frozen=True)
class Notice:
    """A line for the console of whoever watches the run (``etl run``), not only the log."""

    text: str


Emitted = StepEvent | str | Notice
"""What a pipeline's stages report; the step adds its own end-of-pipeline marker."""


@dataclass
class PipelineStages:
    """One pipeline's stages over the step's days, emitting as each day of a stage is done."""

    inputs: StepInputs
    pipeline: PipelineAssetConfig
    function: TransferFunction | None
    emit: Callable[[Emitted], None]
    failures: list[StageFailure]

    def key(self, stage: naming.Stage) -> dg.AssetKey:
        return naming.asset_key(self.inputs.tenant, stage, self.pipeline.name)

    def begin(self, stage: naming.Stage) -> None:
        if self.inputs.stop.is_set():
            raise Cancelled(f"run stopped before the {stage} stage")

    def fail(self, stage: naming.Stage, error: BaseException, days: Sequence[str | None]) -> None:
        self.failures.append(StageFailure(self.pipeline.name, stage, error,
                                          tuple(d for d in days if d is not None)))

    def run(self) -> None:
        days: list[str | None] = list(self.inputs.days) if self.inputs.days else [None]
        if self.pipeline.is_incremental:  # its checks judge a run's own rows: only in its runs
            if self.inputs.wants(self.pipeline, "extract"):
                self.incremental()
            else:
                self.emit(f"{self.pipeline.name}: the checks of an incremental pipeline are "
                          "evaluated by its runs (master_sync_job), on the rows each run read")
            return
        if self.inputs.wants(self.pipeline, "extract"):
            days = self.extract(days)
        if days and self.inputs.wants(self.pipeline, "transfer"):
            days = self.transfer(days)
        if days:
            days = self.quality(days)
        if days and self.pipeline.save_to_trino and (
                self.inputs.wants(self.pipeline, "load") or self.inputs.wants_check(self.pipeline)):
            self.load(days)
        if self.inputs.days and self.inputs.wants_source_check(self.pipeline):
            self.compare_with_source(list(self.inputs.days))

    def compare_with_source(self, days: list[str]) -> None:
        """Each day's ``matches_source``: its fingerprint at the source now against the one
        its extract recorded (:mod:`etl.stages.reconcile`)."""
        from etl.stages.reconcile import compare_with_source

        self.begin("extract")
        try:
            results = retrying(lambda: list(compare_with_source(
                self.inputs.tenant, self.pipeline, self.inputs.source, self.inputs.instance,
                days, self.inputs.live)), self.inputs.retry,
                f"reconcile of {self.inputs.tenant}/{self.pipeline.name}", self.notice,
                self.inputs.stop)
        except Exception as error:
            self.fail("extract", error, days)
            return
        for result in results:
            self.emit(result)
        differ = sum(not r.passed for r in results)
        self.emit(f"reconcile {self.pipeline.name} [{self.inputs.label}]: {len(results)} "
                  f"day(s) checked, {differ} differ from the source")

    def incremental(self) -> None:
        """An incremental pipeline: its changed rows merged by key (:mod:`.incremental`)."""
        from etl.stages.incremental import IncrementalFailure, run_incremental

        self.begin("extract")
        try:
            retrying(lambda: run_incremental(self.inputs, self.pipeline, self.emit),
                     self.inputs.retry, self.what("extract"), self.notice, self.inputs.stop)
        except IncrementalFailure as failure:
            self.fail(failure.stage, failure.error, [None])
        except Exception as error:
            self.fail("extract", error, [None])

    def extract(self, days: list[str | None]) -> list[str | None]:
        """Extract the days; after a transient failure, try again from the first day not done."""
        from etl.stages.extract import run_extract

        self.begin("extract")
        done: list[str | None] = []
        rows, attempt = 0, 1
        while True:
            remaining = (None if self.inputs.days is None else
                         [d for d in self.inputs.days if d not in done])
            try:
                for day, outcome in run_extract(
                    self.inputs.tenant, self.pipeline, self.inputs.source, self.inputs.storage,
                    remaining, days_per_scan=self.inputs.days_per_scan, log=self.emit,
                    live=self.inputs.live,
                ):
                    self.emit(materialization(self.key("extract"), day, outcome,
                                              self.inputs.is_last(day)))
                    done.append(day)
                    rows += outcome.rows
                    if self.inputs.stop.is_set():
                        raise Cancelled("run stopped during the extract stage")
                break
            except Exception as error:
                if not should_retry(error, attempt, self.inputs.retry, self.inputs.stop):
                    self.fail("extract", error, [d for d in days if d not in done])
                    break
                wait_before_retry(error, attempt, self.inputs.retry, self.what("extract"),
                                  self.notice, self.inputs.stop)
                attempt += 1
        self.emit(f"extract {self.pipeline.name} [{self.inputs.label}]: {rows:,} rows in "
                  f"{len(done)} file(s)")
        return done

    def notice(self, text: str) -> None:
        self.emit(Notice(text))

    def what(self, stage: naming.Stage) -> str:
        return f"{stage} of {self.inputs.tenant}/{self.pipeline.name} [{self.inputs.label}]"

    def transfer(self, days: list[str | None]) -> list[str | None]:
        """Transfer each day; days that failed for a transient reason are tried again."""
        from etl.stages.transfer import run_transfer

        self.begin("transfer")
        if self.function is None:
            raise ValueError(f"pipeline {self.pipeline.name!r} has a transfer stage but no "
                             "transfer function")
        done: list[str | None] = []
        todo, attempt = days, 1
        while True:
            failed: dict[str, tuple[BaseException, list[str | None]]] = {}
            for result in run_transfer(self.inputs.tenant, self.pipeline, self.function,
                                       self.inputs.storage, _only_days(todo), self.inputs.live):
                if self.inputs.stop.is_set():
                    raise Cancelled("run stopped during the transfer stage")
                if result.error is not None:
                    cause = f"{type(result.error).__name__}: {result.error}"
                    failed.setdefault(cause, (result.error, []))[1].append(result.day)
                elif result.outcome is not None:
                    self.emit(materialization(self.key("transfer"), result.day, result.outcome,
                                              self.inputs.is_last(result.day)))
                    done.append(result.day)
            retry = [(e, d) for e, d in failed.values()
                     if should_retry(e, attempt, self.inputs.retry, self.inputs.stop)]
            for error, failed_days in failed.values():
                if (error, failed_days) not in retry:
                    self.fail("transfer", error, failed_days)
            if not retry:
                return sorted(done, key=lambda d: d or "")
            wait_before_retry(retry[0][0], attempt, self.inputs.retry, self.what("transfer"),
                              self.notice, self.inputs.stop)
            todo = sorted((d for _, ds in retry for d in ds), key=lambda d: d or "")
            attempt += 1

    def quality(self, days: list[str | None]) -> list[str | None]:
        """The quality checks of the last Parquet stage: those selected, and the blocking ones
        before a load; returns the days that may be loaded (no blocking check failed)."""
        from etl.stages.quality import BlockedByChecks, run_checks

        loading = self.inputs.wants(self.pipeline, "load")
        checks = [c for c in planned_checks(self.pipeline)
                  if self.inputs.wants_quality(self.pipeline, c.name) or (loading and c.blocking)]
        if not checks or self.inputs.stop.is_set():
            return days
        stage = self.pipeline.load_input_stage
        kept: list[str | None] = []
        for day, outcomes in run_checks(self.inputs.tenant, self.pipeline, self.inputs.storage,
                                        _only_days(days), checks):
            if isinstance(outcomes, BaseException):
                self.fail(stage, outcomes, [day])
                continue
            for o in outcomes:
                if self.inputs.wants_quality(self.pipeline, o.check.name):
                    self.emit(check_evaluation(self.key(stage), o.check.name, day, o.passed,
                                               o.description, o.metadata,
                                               blocking=o.check.blocking))
            failed = [o.check.name for o in outcomes if o.check.blocking and not o.passed]
            if not failed:
                kept.append(day)
            elif loading:
                self.emit(f"not loading {self.pipeline.name} [{day or 'latest'}]: blocking "
                          f"check(s) {', '.join(failed)} failed on the {stage} output")
                self.fail("load", BlockedByChecks(
                    f"not loaded: blocking check(s) {', '.join(failed)} failed on the {stage} "
                    "output"), [day])
        return kept

    def load(self, days: list[str | None]) -> None:
        from etl.stages.load import reconcile, run_load

        self.begin("load")
        warehouse = self.inputs.warehouse.warehouse()
        args = (self.inputs.tenant, self.pipeline, self.inputs.storage, warehouse,
                _only_days(days))
        loading = self.inputs.wants(self.pipeline, "load")
        try:
            out = retrying(lambda: run_load(*args) if loading else reconcile(*args),
                           self.inputs.retry, self.what("load"), self.notice, self.inputs.stop)
        except Exception as error:
            self.fail("load", error, days)
            return
        for day, outcome in out.outcomes.items():
            self.emit(materialization(self.key("load"), day, outcome, self.inputs.is_last(day)))
        if self.inputs.wants_check(self.pipeline):
            for day, recon in out.checks.items():
                self.emit(check_evaluation(self.key("load"), naming.RECONCILE_CHECK, day,
                                           recon.passed, recon.description,
                                           {"parquet_rows": recon.expected,
                                            "warehouse_rows": recon.actual}))
        if out.missing is not None:
            self.fail("load", out.missing.missing_error(), list(out.missing.missing))
        if loading:
            self.emit(f"load {self.pipeline.name} [{self.inputs.label}] from "
                      f"{self.pipeline.load_input_stage}: {len(out.outcomes)} day(s) in "
                      f"{out.statements} warehouse statement(s)")


def _only_days(days: list[str | None]) -> list[str] | None:
    """The days of a daily pipeline, or None for master data (whose only "day" is None)."""
    kept = [d for d in days if d is not None]
    return kept if kept else None
