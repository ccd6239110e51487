"""The ``checks:`` block of a pipeline: data-quality rules on the day's Parquet.

The primary key is checked by default (unique and not null). ``rules`` add ``not_null``,
``unique``, ``accepted_values``, a ``row_count`` range and SQL ``expression`` rules; each is a
Dagster asset check on the last Parquet stage of the pipeline (the transfer if there is one,
else the extract), blocking (a failure stops the day from being loaded) or a warning.

An expression is tenant input: it is parsed here, at load, by DuckDB's own parser as exactly one
expression (not a statement, not a list), and at run time it only ever sees the day's rows on a
connection without file or network access (:mod:`etl.stages.quality`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from etl import naming
from etl.model.base import ColumnName, Identifier, StrictModel

KeyCheckLevel = Literal["blocking", "warn", "off"]
AcceptedValue = str | int | float | bool
_RESERVED = frozenset({naming.PRIMARY_KEY_UNIQUE_CHECK, naming.PRIMARY_KEY_NOT_NULL_CHECK,
                       naming.RECONCILE_CHECK, naming.FRESHNESS_CHECK})


class _Rule(StrictModel):
    name: Identifier | None = Field(
        default=None,
        description="The check's name in Dagster (default: from the rule, e.g. not_null_qty).",
    )
    blocking: bool = Field(
        default=False,
        description=(
            "true: a failure is an error and the day is not loaded; false: a warning, the day "
            "is loaded anyway."
        ),
    )
    description: str = Field(default="", description="Shown on the check in Dagster.")

    @property
    def check_name(self) -> str:
        return self.name or self.default_name()

    def default_name(self) -> str:
        raise NotImplementedError


class NotNullRule(_Rule):
    """No row has NULL in any of the columns."""

    type: Literal["not_null"] = Field(description="The kind of rule.")
    columns: tuple[ColumnName, ...] = Field(min_length=1, description="Columns that must be set.")

    def default_name(self) -> str:
        return naming.rule_check_name("not_null", self.columns)


class UniqueRule(_Rule):
    """The columns together identify a row (rows with a NULL in them are not compared)."""

    type: Literal["unique"] = Field(description="The kind of rule.")
    columns: tuple[ColumnName, ...] = Field(
        min_length=1, description="Columns whose combination must be unique."
    )

    def default_name(self) -> str:
        return naming.rule_check_name("unique", self.columns)


class AcceptedValuesRule(_Rule):
    """Every non-NULL value of the column is one of ``values`` (compared as text)."""

    type: Literal["accepted_values"] = Field(description="The kind of rule.")
    column: ColumnName = Field(description="The column to check.")
    values: tuple[AcceptedValue, ...] = Field(
        min_length=1, description="The allowed values; NULL is allowed too (add not_null)."
    )

    def default_name(self) -> str:
        return naming.rule_check_name("accepted_values", (self.column,))


class RowCountRule(_Rule):
    """The day (or the master table) has between ``min`` and ``max`` rows."""

    type: Literal["row_count"] = Field(description="The kind of rule.")
    min: int | None = Field(default=None, ge=0, description="Fewest rows allowed.")
    max: int | None = Field(default=None, ge=0, description="Most rows allowed.")

    def default_name(self) -> str:
        return naming.rule_check_name("row_count", ())

    @model_validator(mode="after")
    def _bounds(self) -> RowCountRule:
        if self.min is None and self.max is None:
            raise ValueError("a row_count rule needs 'min', 'max' or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"row_count 'min' ({self.min}) is above 'max' ({self.max})")
        return self


class ExpressionRule(_Rule):
    """A SQL expression over the row's columns that must hold on every row.

    As in a SQL CHECK constraint, a row where it is NULL passes (add not_null for that).
    """

    type: Literal["expression"] = Field(description="The kind of rule.")
    name: Identifier = Field(description="The check's name in Dagster, e.g. qty_not_negative.")
    sql: str = Field(
        description="One DuckDB expression over the columns, e.g. 'defect_qty <= produced_qty'."
    )

    def default_name(self) -> str:
        return self.name

    @field_validator("sql")
    @classmethod
    def _one_expression(cls, value: str) -> str:
        return parse_expression(value)


QualityRule = Annotated[
    NotNullRule | UniqueRule | AcceptedValuesRule | RowCountRule | ExpressionRule,
    Field(discriminator="type"),
]


class ChecksConfig(StrictModel):
    """A pipeline's data-quality checks, run after the stage they check, before the load."""

    primary_key: KeyCheckLevel = Field(
        default="blocking",
        description=(
            "The checks that primary_key is unique and not null: 'blocking' (default), 'warn', "
            "or 'off'."
        ),
    )
    rules: tuple[QualityRule, ...] = Field(default=(), description="More checks.")

    @model_validator(mode="after")
    def _distinct_names(self) -> ChecksConfig:
        seen: set[str] = set()
        for rule in self.rules:
            name = rule.check_name
            if name in _RESERVED:
                raise ValueError(f"check name {name!r} is reserved; set another 'name'")
            if name in seen:
                raise ValueError(
                    f"two rules are both named {name!r}; give one of them its own 'name'")
            seen.add(name)
        return self


def parse_expression(sql: str) -> str:
    """DuckDB's rendering of ``sql`` if it is exactly one expression; ``ValueError`` otherwise.

    The text is parsed as the select list of ``SELECT <sql>`` and must come back as one item
    with nothing else: no FROM, WHERE or other clause, no alias, no subquery or parameter. What
    runs later is DuckDB's own rendering of that one expression tree, never the text itself.
    """
    import json

    import duckdb  # only configs with an expression rule pay for the import

    from etl.utils.duckdb_sandbox import sandbox_connection

    with sandbox_connection(threads=1) as con:
        row = con.execute("SELECT json_serialize_sql(?)", [f"SELECT {sql}"]).fetchone()
    tree = json.loads(row[0]) if row else {"error": True, "error_message": "no result"}
    problem = expression_problem(tree)
    if problem is not None:
        raise ValueError(
            f"not a single SQL expression ({problem}); write one boolean expression over the "
            "columns, e.g. 'defect_qty <= produced_qty'"
        )
    return str(duckdb.SQLExpression(sql))


_CLAUSES = ("where_clause", "having", "qualify", "sample")
_FORBIDDEN = {"SUBQUERY": "a subquery", "PARAMETER": "a parameter", "STAR": "'*'",
              "WINDOW": "a window function"}


def expression_problem(tree: dict[str, Any]) -> str | None:
    """What keeps DuckDB's parse of ``SELECT <sql>`` from being one plain expression."""
    if tree.get("error"):
        return str(tree.get("error_message", "it does not parse")).splitlines()[0]
    statements = tree.get("statements") or []
    if len(statements) != 1 or statements[0]["node"].get("type") != "SELECT_NODE":
        return "it is not one expression"
    node = statements[0]["node"]
    items = node.get("select_list") or []
    extra = [c for c in _CLAUSES if node.get(c)]
    if len(items) != 1:
        return f"it is {len(items)} expressions"
    if node["from_table"].get("type") != "EMPTY" or extra or node.get("group_expressions") \
            or node.get("modifiers") or node.get("cte_map", {}).get("map"):
        return "it has a clause after the expression"
    if items[0].get("alias"):
        return "it has an alias"
    found = sorted({what for cls, what in _FORBIDDEN.items() if cls in _classes(items[0])})
    return f"it uses {' and '.join(found)}" if found else None


def _classes(node: Any) -> set[str]:
    if isinstance(node, dict):
        own = {node["class"]} if isinstance(node.get("class"), str) else set()
        return own.union(*(_classes(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_classes(v) for v in node))
    return set()
