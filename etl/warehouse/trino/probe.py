"""``etl validate --connect`` for a Trino warehouse: reachable, and its catalogs exist.

One short session (the loader's own error translation, secrets masked): ``SHOW CATALOGS``, then
``SHOW SCHEMAS`` in each catalog the tenant's loads use, which also proves the catalog's
metastore answers. A missing schema is not a problem: the first load creates it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from etl.model.base import FieldProblem
from etl.utils.secrets import read_env_fields
from etl.utils.sql import quote
from etl.warehouse.base import LoadMode, WarehouseError
from etl.warehouse.trino.resource import TrinoResource
from etl.warehouse.trino.session import TrinoSession

if TYPE_CHECKING:
    from etl.warehouse.trino import TrinoWarehouseConfig


def probe_trino(config: TrinoWarehouseConfig, modes: frozenset[LoadMode | None],
                timeout_s: float) -> list[FieldProblem]:
    secrets, problems = read_env_fields(config, "warehouse", ("password_env", "jwt_env"))
    if problems:
        return problems
    resource = TrinoResource(
        host=config.host, port=config.port, user=config.user, http_scheme=config.http_scheme,
        password=secrets.get("password_env"), jwt=secrets.get("jwt_env"),
        request_timeout_s=timeout_s,
    )
    with TrinoSession(resource.connect, resource.address, list(secrets.values())) as session:
        try:
            catalogs = sorted(str(row[0]) for row in session.run("SHOW CATALOGS",
                                                                 what="listing the catalogs"))
        except WarehouseError as e:
            return [FieldProblem(("warehouse", "host"), str(e))]
        for mode in sorted({m or config.default_load_mode for m in modes}):
            field = "iceberg_catalog" if mode == "iceberg" else "catalog"
            catalog = getattr(config, field)
            if catalog not in catalogs:
                problems.append(FieldProblem(("warehouse", field), (
                    f"catalog {catalog!r} (for {mode} loads) does not exist on Trino at "
                    f"{resource.address}; it has {catalogs}")))
                continue
            try:
                session.run(f"SHOW SCHEMAS FROM {quote(catalog)}",
                            what=f"listing the schemas of catalog {catalog!r}")
            except WarehouseError as e:
                problems.append(FieldProblem(("warehouse", field), str(e)))
    return problems
