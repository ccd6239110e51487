"""``etl validate``: every tenant's whole truth, one line each.

:mod:`~etl.validate.tenants` loads and builds each tenant (the checks a code location makes,
plus the folder layout, shared targets and short secrets); with ``--connect``,
:mod:`~etl.validate.connect` also reaches each tenant's source, lake and warehouse.
"""
