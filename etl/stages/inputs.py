"""A stage's files for some days: found, measured, and read as one dataset.

Later stages (transfer, load, checks) read what an earlier stage wrote. Each file's footer is
read once here (rows, bytes, schema), so counting, reconciling and loading a range of days do
not go back to storage per question; a day without a file is reported with the asset to
materialize first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from etl import naming
from etl.resources.s3 import StorageResource

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as pads


@dataclass(frozen=True)
class StageFile:
    day: str | None
    relative: str
    uri: str
    rows: int
    bytes: int
    schema: pa.Schema


@dataclass(frozen=True)
class StageFiles:
    """The files of ``stage`` for the asked days: those present, and the days without one."""

    tenant: str
    stage: naming.Stage
    pipeline: str
    partition_column: str
    present: dict[str | None, StageFile]
    missing: tuple[str | None, ...]

    def missing_error(self, days: Sequence[str | None] | None = None) -> FileNotFoundError:
        days = list(days if days is not None else self.missing)
        key = naming.asset_key(self.tenant, self.stage, self.pipeline).to_user_string()
        what = "latest" if days == [None] else _span([d for d in days if d is not None])
        return FileNotFoundError(f"no {self.stage} output for {what}; materialize {key} first")

    def paths(self, storage: StorageResource) -> tuple[str, ...]:
        """The present files' paths inside the storage's filesystem (local: on this disk)."""
        return tuple(storage.path(f.relative) for f in self.present.values())

    @property
    def uniform_schema(self) -> bool:
        """Every present file has the same columns and types (none added part-way)."""
        schemas = [f.schema for f in self.present.values()]
        return all(s.equals(schemas[0]) for s in schemas[1:])

    def dataset(self, storage: StorageResource) -> tuple[pads.Dataset, pa.Schema]:
        """The present files as one dataset, and their (unified) schema without the day.

        Daily files get the day as a ``date`` column from their ``<column>=YYYY-MM-DD`` folder.
        A column whose type differs between days fails here, naming it, not in the warehouse.
        """
        import pyarrow as pa
        import pyarrow.dataset as pads

        fs, _ = storage.filesystem()
        files = list(self.present.values())
        try:
            schema = pa.unify_schemas([f.schema for f in files])
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
            raise ValueError(
                f"the {self.stage} files of {self.pipeline} for these days have conflicting "
                f"column types ({e}); rerun the stage over the whole range"
            ) from e
        paths = list(self.paths(storage))
        if None in self.present:
            return pads.dataset(paths, filesystem=fs, format="parquet", schema=schema), schema
        day = pa.schema([(self.partition_column, pa.date32())])
        base = storage.path(naming.dataset_path(self.tenant, self.stage, self.pipeline))
        dataset = pads.dataset(
            paths, filesystem=fs, format="parquet", schema=pa.unify_schemas([schema, day]),
            partitioning=pads.partitioning(day, flavor="hive"), partition_base_dir=base,
        )
        return dataset, schema


def stage_files(
    storage: StorageResource, tenant: str, stage: naming.Stage, pipeline: str,
    days: Sequence[str] | None, partition_column: str = naming.PARTITION_COLUMN,
) -> StageFiles:
    """Read the footer of each day's file (or of the master file) of one stage."""
    present: dict[str | None, StageFile] = {}
    missing: list[str | None] = []
    for day in (list(days) if days is not None else [None]):
        relative = naming.data_file_path(tenant, stage, pipeline, day, partition_column)
        found = stage_file(storage, relative, day)
        if found is None:
            missing.append(day)
        else:
            present[day] = found
    return StageFiles(tenant, stage, pipeline, partition_column, present, tuple(missing))


def stage_file(storage: StorageResource, relative: str, day: str | None = None
               ) -> StageFile | None:
    """One file's footer (rows, bytes, schema), or None when there is no such file."""
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    fs, _ = storage.filesystem()
    path = storage.path(relative)
    info = fs.get_file_info(path)
    if info.type != pafs.FileType.File:
        return None
    meta = pq.read_metadata(path, filesystem=fs)  # a storage error is not "missing"
    return StageFile(day, relative, storage.uri_of(path), meta.num_rows, int(info.size or 0),
                     meta.schema.to_arrow_schema())


def _span(days: list[str]) -> str:
    if len(days) == 1:
        return days[0]
    return f"{len(days)} days ({days[0]}..{days[-1]})"
