"""What every check kind says, as a user reads it: its name, its description on a day and on
master data, and its verdicts on the example days (the contract's ``input(id, status)``).

``tests/unit/test_check_texts.py`` compares them with ``tests/snapshots/check_texts.txt``, so a
change of wording is a reviewed change; after an intended one, rewrite the file with
``.venv/bin/python -m tests.check_texts`` and review the diff.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from etl.checks.base import CheckRule, MissingColumn
from etl.checks.planned import PlannedCheck
from etl.checks.registry import CHECK_KINDS

SNAPSHOT = Path(__file__).resolve().parent / "snapshots" / "check_texts.txt"


class ExampleScope:
    """The contract's CheckScope over an in-memory table ``input(id, status)``."""

    def __init__(self, rows: list[tuple[int | None, str | None]]) -> None:
        import duckdb

        self.con = duckdb.connect()
        self.con.execute("CREATE TABLE input (id INTEGER, status VARCHAR)")
        if rows:
            self.con.executemany("INSERT INTO input VALUES (?, ?)", rows)

    def resolve(self, name: str) -> str:
        if name not in ("id", "status"):
            raise MissingColumn(name)
        return name

    def is_sensitive(self, column: str) -> bool:
        return False

    def scalar(self, expression: str) -> Any:
        row = self.con.sql(f"SELECT {expression} FROM input").fetchone()
        return row[0] if row else None

    def rows(self, query: str) -> Any:
        return self.con.sql(query).fetchall()

    def sample(self, source: str, prefix: str = "") -> dict[str, Any]:
        return {"sample_keys": self.rows(f"SELECT DISTINCT {prefix}id {source}")}


def _kind(kind: type[CheckRule]) -> list[str]:
    rule = kind.model_validate(kind.example)
    check = PlannedCheck(rule.check_name, rule.blocking, rule, "extract")
    lines = [f"{rule.kind}: {rule.check_name}",
             f"  daily: {check.about(True)}",
             f"  master: {check.about(False)}"]
    for label, rows in zip(("passes", "fails"), kind.example_days, strict=True):
        scope = ExampleScope(rows)
        judged = rule.judge(scope, int(scope.scalar(rule.measure(scope)) or 0), len(rows))
        lines.append(f"  {label}: {judged.text} {sorted(judged.metadata.items())}")
    return lines


def render() -> str:
    """Each kind's texts, then the description of every check the sample tenants show."""
    import importlib

    lines = [line for kind in CHECK_KINDS for line in _kind(kind)]
    for module in ("etl.default", "etl.project_01"):
        graph = importlib.import_module(module).defs().get_repository_def().asset_graph
        keys = sorted(graph.asset_check_keys, key=lambda k: (k.asset_key.path, k.name))
        lines.extend(f"{key.asset_key.to_user_string()}:{key.name}: "
                     f"{graph.get_check_spec(key).description}" for key in keys)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    SNAPSHOT.write_text(render(), encoding="utf-8")
