"""What the Dagster UI shows, read the way the UI reads it: through its GraphQL API.

The queries are the ones the UI sends for an asset's partition bar (``PartitionHealthQuery``)
and a check's *Partitions* tab (``AssetCheckPartitionHealthQuery``), run in-process against a
workspace of the tenant's own code location, or over HTTP against a running webserver. A day
none of the returned ranges covers is Missing, as the UI draws it.
"""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import dagster as dg

ASSET_PARTITIONS = """
query PartitionHealthQuery($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    ... on AssetNode {
      assetPartitionStatuses {
        ... on TimePartitionStatuses { ranges { status startKey endKey } }
      }
    }
  }
}"""

CHECK_PARTITIONS = """
query AssetCheckPartitionHealthQuery($assetKey: AssetKeyInput!, $checkName: String!) {
  assetNodeOrError(assetKey: $assetKey) {
    ... on AssetNode {
      assetCheckOrError(checkName: $checkName) {
        ... on AssetCheck {
          partitionStatuses {
            ... on AssetCheckTimePartitionStatuses { ranges { startKey endKey status } }
          }
        }
      }
    }
  }
}"""

RUN = """
query RunQuery($runId: ID!) {
  runOrError(runId: $runId) { ... on Run { runId jobName status tags { key value } } }
}"""

JOB_BACKFILLS = """
query JobBackfills($repositorySelector: RepositorySelector!, $partitionSetName: String!) {
  partitionSetOrError(repositorySelector: $repositorySelector,
                      partitionSetName: $partitionSetName) {
    ... on PartitionSet { backfills { id status partitionNames isAssetBackfill } }
  }
}"""


SENSOR_TICKS = """
query SensorTicks($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    ... on Sensor { sensorState { ticks(limit: 20) { status skipReason } } }
  }
}"""


class UI:
    """A GraphQL endpoint: in-process (a workspace) or a webserver's URL."""

    def __init__(self, context: Any = None, url: str | None = None) -> None:
        self.context = context
        self.url = url

    def query(self, text: str, variables: dict[str, Any]) -> dict[str, Any]:
        if self.url is not None:
            body = json.dumps({"query": text, "variables": variables}).encode()
            request = urllib.request.Request(f"{self.url.rstrip('/')}/graphql", data=body,
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=60) as response:
                answer = json.loads(response.read())
        else:
            from dagster_graphql.test.utils import execute_dagster_graphql

            result = execute_dagster_graphql(self.context.create_request_context(), text,
                                             variables)
            answer = {"data": result.data, "errors": result.errors}
        assert not answer.get("errors"), answer["errors"]
        data: dict[str, Any] = answer["data"]
        return data

    def asset_days(self, key: dg.AssetKey, days: Sequence[str]) -> dict[str, str]:
        """Each day's state on the asset's partition bar: MATERIALIZED, FAILED, MISSING..."""
        node = self.query(ASSET_PARTITIONS, {"assetKey": {"path": list(key.path)}})
        statuses = node["assetNodeOrError"]["assetPartitionStatuses"]
        return _per_day(statuses["ranges"] if statuses else [], days)

    def check_days(self, key: dg.AssetCheckKey, days: Sequence[str]) -> dict[str, str]:
        """Each day's state on the check's Partitions tab: SUCCEEDED, FAILED, MISSING..."""
        node = self.query(CHECK_PARTITIONS, {"assetKey": {"path": list(key.asset_key.path)},
                                             "checkName": key.name})
        check = node["assetNodeOrError"]["assetCheckOrError"]
        statuses = check["partitionStatuses"]
        return _per_day(statuses["ranges"] if statuses else [], days)

    def run(self, run_id: str) -> dict[str, Any]:
        run: dict[str, Any] = self.query(RUN, {"runId": run_id})["runOrError"]
        return run

    def sensor_ticks(self, location: str, sensor: str) -> list[str | None]:
        """The latest ticks' messages, as the sensor's page lists them."""
        selector = {"repositoryName": "__repository__", "repositoryLocationName": location,
                    "sensorName": sensor}
        found = self.query(SENSOR_TICKS, {"selector": selector})["sensorOrError"]
        return [t["skipReason"] for t in found["sensorState"]["ticks"]]

    def job_backfills(self, location: str, job: str) -> list[dict[str, Any]]:
        selector = {"repositoryName": "__repository__", "repositoryLocationName": location}
        found = self.query(JOB_BACKFILLS, {"repositorySelector": selector,
                                           "partitionSetName": f"{job}_partition_set"})
        backfills: list[dict[str, Any]] = found["partitionSetOrError"]["backfills"]
        return backfills


@contextmanager
def workspace_ui(instance: dg.DagsterInstance, *locations: Any) -> Iterator[UI]:
    """A UI over the tenants' code locations (:class:`etl.runs.launch.CodeLocation`), loaded
    here as a code server loads them."""
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget

    from etl.runs.launch import origin_of

    for location in locations:
        location.activate()
    target = InProcessWorkspaceLoadTarget([origin_of(location) for location in locations])
    with WorkspaceProcessContext(instance, target) as context:
        yield UI(context)


def _per_day(ranges: list[dict[str, str]], days: Sequence[str]) -> dict[str, str]:
    out = dict.fromkeys(days, "MISSING")
    for r in ranges:
        for day in days:
            if r["startKey"] <= day <= r["endKey"]:
                out[day] = r["status"]
    return out


def tally(states: dict[str, str]) -> dict[str, int]:
    return dict(Counter(states.values()))
