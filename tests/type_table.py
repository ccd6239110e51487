"""The README's type-fidelity table, rendered from the data the integration tests assert.

``python -m tests.type_table`` prints it; ``--write`` refreshes ``tests/snapshots/
type_table.md``. A unit test fails when that file (or the README's block between the markers
below) differs from what the source cases say, and the integration tests
(``tests/integration/test_sources.py``, ``test_type_fidelity.py``) fail when a server
disagrees with the source cases: the table cannot drift from what the code does.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.integration.source_cases import SourceCase, TypedColumn, mariadb, postgres

CASES: tuple[SourceCase, ...] = (postgres.CASE, mariadb.CASE)
SNAPSHOT = Path(__file__).parent / "snapshots" / "type_table.md"
BEGIN, END = "<!-- type-table:begin -->", "<!-- type-table:end -->"
HEADER = ("| Source | Source type | Parquet (Arrow) | DuckDB | Trino external (view) | "
          "Trino Iceberg | Notes |\n|---|---|---|---|---|---|---|")
PARTITION_ROW = ("| every daily table | the day (`partition_column`, default `dt`) | folder "
                 "`<column>=YYYY-MM-DD` | `DATE` | `date` | `date` | no source column may "
                 "have its name |")


def render() -> str:
    rows = [_row(case, column) for case in CASES for column in case.columns if column.in_table]
    return "\n".join([HEADER, *rows, PARTITION_ROW]) + "\n"


def _row(case: SourceCase, column: TypedColumn) -> str:
    arrow = f"`{column.arrow}`"
    if column.logical:
        arrow += f", `etl.type: {column.logical}`"
    cells = [case.label, f"`{column.source_type}`", arrow, f"`{column.duckdb}`",
             f"`{column.trino}`", f"`{column.trino}`", column.note]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def readme_block(readme: str) -> str | None:
    """The table between the README's markers, or None when it has none yet."""
    if BEGIN not in readme or END not in readme:
        return None
    return readme.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n") + "\n"


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        SNAPSHOT.write_text(render(), encoding="utf-8")
        sys.stdout.write(f"wrote {SNAPSHOT}\n")
    else:
        sys.stdout.write(render())
