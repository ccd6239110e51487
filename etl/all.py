"""Every tenant in one code location (`dg dev -m etl.all`)."""

import dagster as dg

from etl import build_all_definitions


@dg.definitions
def defs() -> dg.Definitions:
    return build_all_definitions()
