"""Evaluate a pipeline's quality checks on one stage's Parquet, per day, with DuckDB.

Each day's file is read as an Arrow dataset (local or S3, through the storage resource) and
registered as the relation ``input`` on a sandboxed connection (:mod:`etl.utils.duckdb_sandbox`):
tenant expressions see those rows and nothing else. Every check of a day is one aggregate of a
single scan (each kind says what it measures, :mod:`etl.checks.base`); only a failing check runs
a second query, for its details and sample of failing keys.

A range measures its days together: the built-in kinds' aggregates (key unique and not null,
accepted values, row counts) are computed for up to :data:`DAYS_PER_QUERY` days in one grouped
scan of their files, where a query per day cost milliseconds each, thousands of times. A day
that fails is then registered on its own for its details, and ``expression`` rules (which may
refer to ``input`` as a whole) are always measured a day at a time.

A sample holds primary-key values (never a column listed in ``sensitive_columns``); a check
whose columns are missing, or whose expression DuckDB rejects, fails and says why.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import dagster as dg

from etl.checks.base import MissingColumn
from etl.checks.planned import PlannedCheck
from etl.common.transfer import snake_case
from etl.config.tenant_config import PipelineAssetConfig
from etl.resources.s3 import StorageResource
from etl.stages.inputs import StageFile, StageFiles, stage_files
from etl.stages.outcome import lake_uri
from etl.utils.sql import quote

if TYPE_CHECKING:
    import duckdb

SAMPLE_SIZE = 10
DAYS_PER_QUERY = 100  # days measured in one grouped scan: bounds its distinct-key tables


class BlockedByChecks(RuntimeError):
    """A day was not loaded because a blocking check failed on it."""


@dataclass(frozen=True)
class CheckOutcome:
    check: PlannedCheck
    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


DayChecks = tuple[str | None, list[CheckOutcome] | BaseException]


def run_checks(tenant: str, pipeline: PipelineAssetConfig, storage: StorageResource,
               days: Sequence[str] | None, checks: Sequence[PlannedCheck]) -> Iterator[DayChecks]:
    """Each day's outcomes (or why its file could not be checked), in day order."""
    from etl.utils.duckdb_sandbox import sandbox_connection
    from etl.utils.scratch import scratch_dir

    stage = pipeline.load_input_stage
    files = stage_files(storage, tenant, stage, pipeline.name, days, pipeline.partition_column)
    # What DuckDB spills goes to a scratch folder, not to .tmp in the working directory.
    with scratch_dir("checks") as temp, sandbox_connection(temp_directory=str(temp)) as con:
        measured = _measure_days(con, storage, pipeline, files, checks) if days else {}
        for day in (list(days) if days is not None else [None]):
            file = files.present.get(day)
            if file is None:
                yield day, files.missing_error([day])
                continue
            try:
                yield day, _DayCheck(con, storage, pipeline, file,
                                     measured=measured.get(day)).run(checks)
            except Exception as error:  # the storage failed: the other days still run
                yield day, error


def _measure_days(con: duckdb.DuckDBPyConnection, storage: StorageResource,
                  pipeline: PipelineAssetConfig, files: StageFiles,
                  checks: Sequence[PlannedCheck]) -> dict[str | None, dict[str, Any]]:
    """Every check's measure for each day, grouped scans of up to DAYS_PER_QUERY days each;
    empty (each day measured alone) where that does not apply or does not work."""
    import duckdb

    days = [d for d in files.present if d is not None]
    if (not days or not files.uniform_schema
            or not all(c.rule.grouped for c in checks)):
        return {}
    scope = _DayCheck(con, storage, pipeline, files.present[days[0]])
    scope.columns = list(files.present[days[0]].schema.names)
    try:
        measures = {c.name: c.rule.measure(scope) for c in checks}
    except MissingColumn:
        return {}  # each day says which column is missing
    day = quote(files.partition_column)
    select = ", ".join(["count(*)", *measures.values()])
    out: dict[str | None, dict[str, Any]] = {}
    for start in range(0, len(days), DAYS_PER_QUERY):
        chunk = days[start:start + DAYS_PER_QUERY]
        part = StageFiles(files.tenant, files.stage, files.pipeline, files.partition_column,
                          {d: files.present[d] for d in chunk}, ())
        con.register("input", part.dataset(storage)[0])
        try:
            rows = con.sql(f"SELECT strftime({day}, '%Y-%m-%d'), {select} FROM input "
                           "GROUP BY 1").fetchall()
        except duckdb.Error:
            return {}
        finally:
            con.unregister("input")
        out.update({str(r[0]): dict(zip(["rows", *measures], r[1:], strict=True))
                    for r in rows})
    return out


def check_file(pipeline: PipelineAssetConfig, storage: StorageResource, file: StageFile,
               checks: Sequence[PlannedCheck]) -> list[CheckOutcome]:
    """The checks on one given file (an incremental run's change file)."""
    from etl.utils.duckdb_sandbox import sandbox_connection

    with sandbox_connection() as con:
        return _DayCheck(con, storage, pipeline, file).run(checks)


@dataclass
class _DayCheck:
    con: duckdb.DuckDBPyConnection
    storage: StorageResource
    pipeline: PipelineAssetConfig
    file: StageFile
    columns: list[str] = field(default_factory=list)
    sensitive: set[str] = field(default_factory=set)
    measured: dict[str, Any] | None = None  # the day's measures, from a grouped scan
    registered: bool = False

    def input(self) -> None:
        """Register the day's rows as ``input`` (once, when a query needs them)."""
        if not self.registered:
            self.con.register("input", self.storage.dataset(self.file.relative))
            self.registered = True

    def run(self, checks: Sequence[PlannedCheck]) -> list[CheckOutcome]:
        import duckdb

        self.columns = list(self.file.schema.names)
        self.sensitive = {self.resolve(c, strict=False) for c in self.pipeline.sensitive_columns}
        measures: dict[str, str] = {}
        problems: dict[str, str] = {}
        for check in checks:
            try:
                measures[check.name] = check.rule.measure(self)
            except MissingColumn as e:
                problems[check.name] = str(e)
        values = self.measured if self.measured is not None else self.aggregate(measures)
        outcomes = []
        for check in checks:
            value = values.get(check.name)
            if check.name in problems or isinstance(value, duckdb.Error):
                why = problems.get(check.name) or _first_line(value)
                outcomes.append(CheckOutcome(check, False, f"could not be evaluated: {why}",
                                             {"error": why, "file": lake_uri(self.file.uri)}))
            else:
                outcomes.append(self.outcome(check, int(value or 0), int(values["rows"] or 0)))
        return outcomes

    # --- SQL ------------------------------------------------------------------------------

    def resolve(self, name: str, strict: bool = True) -> str:
        """The file's column for a configured name: exact, then ignoring case, then snake_case
        (the common transfer snake-cases the source's names)."""
        for candidate in (name, name.lower(), snake_case(name)):
            for column in self.columns:
                if column == candidate or column.lower() == candidate.lower():
                    return str(column)
        if not strict:
            return name
        raise MissingColumn(f"column {name!r} is not in the {self.pipeline.load_input_stage} "
                            f"output; it has {self.columns}")

    def aggregate(self, measures: dict[str, str]) -> dict[str, Any]:
        """All measures in one scan; if that fails, each alone, so one broken expression
        spoils only its own check."""
        import duckdb

        self.input()
        names = list(measures)
        select = ", ".join(["count(*)", *(measures[n] for n in names)])
        try:
            row = self.con.sql(f"SELECT {select} FROM input").fetchone() or ()
            return dict(zip(["rows", *names], row, strict=True))
        except duckdb.Error:
            pass
        out: dict[str, Any] = {"rows": self.scalar("count(*)")}
        for name in names:
            try:
                out[name] = self.scalar(measures[name])
            except duckdb.Error as e:
                out[name] = e
        return out

    def scalar(self, expression: str) -> Any:
        self.input()
        row = self.con.sql(f"SELECT {expression} FROM input").fetchone()
        return row[0] if row else None

    def is_sensitive(self, column: str) -> bool:
        return column in self.sensitive

    def outcome(self, check: PlannedCheck, measured: int, rows: int) -> CheckOutcome:
        judgement = check.rule.judge(self, measured, rows)
        meta: dict[str, Any] = {"rows": rows, "file": lake_uri(self.file.uri),
                                **judgement.metadata}
        return CheckOutcome(check, judgement.passed, judgement.text, meta)

    def sample(self, source: str, prefix: str = "") -> dict[str, Any]:
        key = [self.resolve(c, strict=False) for c in self.pipeline.primary_key]
        key = [c for c in key if c in self.columns]
        if not key:
            return {"sample": "no primary key to sample"}
        shown = [c for c in key if c not in self.sensitive]
        if not shown:
            return {"sample": "withheld: the primary key columns are sensitive"}
        listed = ", ".join(f"{prefix}{quote(c)}" for c in shown)
        return {"sample_keys": self.rows(f"SELECT DISTINCT {listed} {source} ORDER BY {listed}")}

    def rows(self, query: str) -> dg.MetadataValue[Any]:
        self.input()
        relation = self.con.sql(f"{query} LIMIT {SAMPLE_SIZE}")
        names = relation.columns
        found = [dict(zip(names, r, strict=True)) for r in relation.fetchall()]
        return dg.MetadataValue.json(json.loads(json.dumps(found, default=str)))


def _first_line(error: object) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
