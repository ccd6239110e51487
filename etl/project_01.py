"""Code location of tenant 'project_01' (`dg dev -m etl.project_01`)."""

import dagster as dg

from etl import build_tenant_definitions


@dg.definitions
def defs() -> dg.Definitions:
    return build_tenant_definitions("project_01")
