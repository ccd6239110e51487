"""Every warehouse kind, one line each.

The ``warehouse:`` config union, the resource factory, the asset kinds and secret redaction
all read this tuple; adding a kind is one module (see :mod:`etl.warehouse.base`) and one line
here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Final, Union

from pydantic import Field

from etl.warehouse.base import WarehouseConfigBase
from etl.warehouse.duckdb import DuckDBWarehouseConfig
from etl.warehouse.trino import TrinoWarehouseConfig

WAREHOUSE_KINDS: Final[tuple[type[WarehouseConfigBase], ...]] = (
    DuckDBWarehouseConfig,
    TrinoWarehouseConfig,
)

if TYPE_CHECKING:
    WarehouseConfig = WarehouseConfigBase
else:  # the discriminated union Pydantic validates against, built from the registry
    WarehouseConfig = Annotated[Union[WAREHOUSE_KINDS], Field(discriminator="type")]  # noqa: UP007


def load_mode_names() -> tuple[str, ...]:
    """Every ``load_mode`` some registered kind declares, in registry order."""
    return tuple(dict.fromkeys(m for k in WAREHOUSE_KINDS for m in k.load_modes))
