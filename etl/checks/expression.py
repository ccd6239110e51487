"""``expression``: a SQL expression over the row's columns that must hold on every row.

An expression is tenant input: it is parsed when the config loads, by DuckDB's own parser, as
exactly one expression (not a statement, not a list), and what runs later is DuckDB's own
rendering of that expression tree, on the day's rows only (:mod:`etl.checks.base`).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from etl.checks.base import CheckRule, CheckScope
from etl.model.base import Identifier


class ExpressionRule(CheckRule):
    """A SQL expression over the row's columns that must hold on every row.

    As in a SQL CHECK constraint, a row where it is NULL passes (add not_null for that).
    """

    type: Literal["expression"] = Field(description="The kind of rule.")
    name: Identifier = Field(description="The check's name in Dagster, e.g. qty_not_negative.")
    sql: str = Field(
        description="One DuckDB expression over the columns, e.g. 'defect_qty <= produced_qty'."
    )

    example: ClassVar[dict[str, Any]] = {"type": "expression", "name": "id_positive",
                                         "sql": "id > 0"}
    example_days: ClassVar[tuple[list[tuple[int | None, str | None]], ...]] = (
        [(1, "open"), (None, "open")], [(1, "open"), (-1, "open")])

    grouped: ClassVar[bool] = False  # the tenant's SQL, measured day by day as written

    def default_name(self) -> str:
        return self.name

    @field_validator("sql")
    @classmethod
    def _one_expression(cls, value: str) -> str:
        return parse_expression(value)

    def text(self) -> str:
        return f"{self.sql} holds on every row"

    def failing(self, scope: CheckScope) -> str:
        return f"NOT coalesce(({self.sql}), true)"


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
