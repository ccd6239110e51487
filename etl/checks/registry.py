"""Every quality-check kind, one line each.

The ``checks.rules`` config union, its JSON Schema and the runtime dispatch all read this tuple;
adding a kind is one module (see :mod:`etl.checks.base`) and one line here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Final, Union

from pydantic import Field

from etl.checks.accepted_values import AcceptedValuesRule
from etl.checks.base import CheckRule
from etl.checks.expression import ExpressionRule
from etl.checks.not_null import NotNullRule
from etl.checks.row_count import RowCountRule
from etl.checks.unique import UniqueRule

CHECK_KINDS: Final[tuple[type[CheckRule], ...]] = (
    NotNullRule,
    UniqueRule,
    AcceptedValuesRule,
    RowCountRule,
    ExpressionRule,
)

if TYPE_CHECKING:
    QualityRule = CheckRule
else:  # the discriminated union Pydantic validates against, built from the registry
    QualityRule = Annotated[Union[CHECK_KINDS], Field(discriminator="type")]  # noqa: UP007
