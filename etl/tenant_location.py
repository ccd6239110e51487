"""Code location of the tenant named by ``$ETL_TENANT``.

Tenants kept outside the package (``ETL_TENANTS_DIR``) have no ``etl/<tenant>.py`` module; a
deployment starts one code server per tenant on this module with that tenant's id in its
environment, which its runs inherit.
"""

import os

import dagster as dg

from etl import build_tenant_definitions

TENANT_ENV = "ETL_TENANT"


@dg.definitions
def defs() -> dg.Definitions:
    tenant = os.environ.get(TENANT_ENV)
    if not tenant:
        raise ValueError(f"set {TENANT_ENV} to the id of the tenant this code location serves")
    return build_tenant_definitions(tenant)
