"""What one Dagster step of a tenant runs: its days, what is selected, its resources."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from etl import naming
from etl.config.runs import RetryConfig
from etl.config.tenant_config import PipelineAssetConfig
from etl.utils.live_work import LiveWork

Days = tuple[str, ...] | None


@dataclass(frozen=True)
class StepInputs:
    tenant: str
    days: Days  # the step's days, sorted; None for master data
    selected: frozenset[dg.AssetKey]
    selected_checks: frozenset[dg.AssetCheckKey]
    source: Any
    storage: Any
    warehouse: Any
    days_per_scan: int = 1
    retry: RetryConfig = field(default_factory=RetryConfig)
    stop: threading.Event = field(default_factory=threading.Event)
    live: LiveWork = field(default_factory=LiveWork)  # interrupted when the step stops
    instance: Any = None  # the run's Dagster instance (reconcile and incremental read it)
    run_id: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)  # the run's tags
    every_check: bool = False
    """A run naming its days in ``etl/days`` (a heal) selects no check, so Dagster plans none
    for other days; the step then records every check of its own days."""

    def wants(self, pipeline: PipelineAssetConfig, stage: naming.Stage) -> bool:
        return pipeline.has_stage(stage) and (
            naming.asset_key(self.tenant, stage, pipeline.name) in self.selected
        )

    def wants_check(self, pipeline: PipelineAssetConfig) -> bool:
        key = naming.check_key(self.tenant, "load", pipeline.name, naming.RECONCILE_CHECK)
        return key in self.selected_checks or (self.every_check and self.wants(pipeline, "load"))

    def wants_quality(self, pipeline: PipelineAssetConfig, check: str) -> bool:
        stage = pipeline.load_input_stage
        return naming.check_key(self.tenant, stage, pipeline.name, check) in \
            self.selected_checks or (self.every_check and self.wants(pipeline, stage))

    def wants_source_check(self, pipeline: PipelineAssetConfig) -> bool:
        key = naming.check_key(self.tenant, "extract", pipeline.name, naming.SOURCE_CHECK)
        return key in self.selected_checks

    def is_last(self, day: str | None) -> bool:
        """The step's last day (or master data): its events carry what every day shares."""
        return self.days is None or day == self.days[-1]

    @property
    def label(self) -> str:
        if self.days is None:
            return "latest"
        return self.days[0] if len(self.days) == 1 else f"{self.days[0]}..{self.days[-1]}"
