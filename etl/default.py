"""Code location of tenant 'default' (`dg dev -m etl.default`)."""

import dagster as dg

from etl import build_tenant_definitions


@dg.definitions
def defs() -> dg.Definitions:
    return build_tenant_definitions("default")
