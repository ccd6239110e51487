"""Every tenant in one code location (`dg dev -m etl.all`).

One process holds every tenant's definitions and, when it runs them, every tenant's secrets:
use it for development or a single trusted operator; deployments run one code location per
tenant (``etl deploy``). A run worker of this location builds only its run's tenant.
"""

import dagster as dg

from etl import build_all_definitions


@dg.definitions
def defs() -> dg.Definitions:
    from etl.runs.worker import tenant_of_this_run

    tenant = tenant_of_this_run()
    return build_all_definitions(only=[tenant] if tenant else None)
