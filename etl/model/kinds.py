"""What every registry of kinds (warehouses, check kinds, alert destinations) shares.

A kind is a Pydantic model whose ``type`` field is a single literal: the value a config file
writes to choose it. The registries build their discriminated unions from that field, and
tests and messages name a kind by it.
"""

from __future__ import annotations

from typing import get_args

from pydantic import BaseModel


def kind_name(kind: type[BaseModel]) -> str:
    """The ``type:`` value of a kind (its ``type`` field's single literal)."""
    (name,) = get_args(kind.model_fields["type"].annotation)
    return str(name)
