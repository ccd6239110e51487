"""The progress ``etl backfill`` prints tells the truth, read from the command's own output.

A 40-day range of a PostgreSQL source whose view sleeps before each query (one query a day:
``backfill.days_per_scan: 1``), so the extract takes its days one by one at a steady pace. The
command runs as a user runs it, in its own process with its output piped (plain lines), only
printing a line every 0.5 s instead of every 5 s so a short run has enough of them. Each line
is stamped when it arrives; the test then checks what an operator would:

* each stage's days as they finish, never going back, and the rows and rows/s of the data;
* the time left, from a tenth of the days on, on every line and counting down;
* no silent tail: once every day is done, a line at least every period saying what the run is
  doing ("recording 40 days' results ...") until the final one.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tools.services.base import Service

DAYS = 40
ROWS_PER_DAY = 4_000
SLEEP_S = 0.05  # per query, one query a day: a source a network away
FIRST = dt.date(2026, 1, 1)
LAST = FIRST + dt.timedelta(days=DAYS - 1)
PERIOD_S = 0.5  # the line's period in this test (PLAIN_EVERY_S)
TAIL_GAP_S = 5.0  # at most this long without a line after the last day (a loaded machine)
LABEL = f"default daily_etl_job [{FIRST}..{LAST}]"
LINE = re.compile(r"(?P<done>\d+)/(?P<days>\d+) day\(s\)(?: \((?P<stages>[^)]*)\))?, "
                  r"(?P<rows>[\d,]+) rows, (?P<rate>[\d,]+) rows/s")
ETA = re.compile(r"ETA (?:(\d+):)?(\d+):(\d\d)")

CONFIG = """\
tenant: {{id: default, name: Progress test}}
source:
  url: {url}
  password_env: DEFAULT_DB_PASSWORD
storage: {{root: {out}/lake}}
warehouse: {{type: duckdb, path: {out}/warehouse.duckdb}}
schedule: {{start_date: {first}, timezone: UTC}}
backfill: {{days_per_scan: 1}}
assets:
  pipelines:
    - {{name: work_order, enabled: false}}
    - {{name: production_result, enabled: false}}
    - {{name: quality_inspection, enabled: false}}
    - name: slow_orders
      table: slow_orders
      date_column: created_at
      primary_key: [id]
      has_transfer: true
      transfer: {{sql: "SELECT * FROM source"}}
      save_to_trino: true
"""

RUN = """\
import sys
from etl.runs import progress
progress.PLAIN_EVERY_S = {period}
from etl.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


@dataclass(frozen=True)
class Line:
    at: float
    text: str

    @property
    def parsed(self) -> re.Match[str] | None:
        return LINE.search(self.text)

    def parts(self) -> dict[str, str]:
        found = self.parsed
        if found is None or not found["stages"]:
            return {}
        return dict(part.split(" ", 1) for part in found["stages"].split(", "))

    def stages(self) -> dict[str, int]:
        return {name: int(n.replace(",", "")) for name, n in self.parts().items()
                if name != "checks"}

    def checks(self) -> tuple[int, int] | None:
        """Check results stored, of those the run will store (``checks 12/120``)."""
        text = self.parts().get("checks")
        if text is None:
            return None
        done, total = (int(n.replace(",", "")) for n in text.split("/"))
        return done, total

    def eta_s(self) -> int | None:
        found = ETA.search(self.text)
        if found is None:
            return None
        hours, minutes, seconds = (int(g or 0) for g in found.groups())
        return hours * 3600 + minutes * 60 + seconds


def slow_source(url: str) -> None:
    """``orders`` with ROWS_PER_DAY rows a day, and ``slow_orders``: it first sleeps."""
    parsed = make_url(url)
    conninfo = (f"host={parsed.host} port={parsed.port} dbname={parsed.database} "
                f"user={parsed.username} password={parsed.password}")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id bigint PRIMARY KEY, created_at timestamp NOT NULL,"
                     " amount numeric(12, 2) NOT NULL)")
        conn.execute(f"INSERT INTO orders SELECT i, timestamp '{FIRST}' + (i / {ROWS_PER_DAY}) "
                     f"* interval '1 day' + (i % {ROWS_PER_DAY}) * interval '1 second', i "
                     f"FROM generate_series(0, {DAYS * ROWS_PER_DAY - 1}) AS i")
        conn.execute(f"""
            CREATE FUNCTION slow_orders_fn() RETURNS SETOF orders LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_sleep({SLEEP_S}); RETURN QUERY SELECT * FROM orders; END $$""")
        conn.execute("CREATE VIEW slow_orders AS SELECT * FROM slow_orders_fn()")


def backfill(tmp: Path, url: str) -> tuple[int, list[Line], float]:
    """Run ``etl backfill`` of the range; its exit code, its lines as they came, its start."""
    parsed = make_url(url)
    folder = tmp / "tenants" / "default"
    folder.mkdir(parents=True)
    plain = parsed._replace(password=None).render_as_string(hide_password=False)
    (folder / "config.yaml").write_text(CONFIG.format(url=plain, out=tmp, first=FIRST))
    env = {**os.environ, "ETL_TENANTS_DIR": str(tmp / "tenants"),
           "DAGSTER_HOME": str(tmp / "home"), "DEFAULT_DB_PASSWORD": str(parsed.password)}
    command = [sys.executable, "-c", RUN.format(period=PERIOD_S), "backfill", "default",
               "--from", str(FIRST), "--to", str(LAST)]
    started = time.monotonic()
    proc = subprocess.Popen(command, cwd=tmp, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    assert proc.stdout is not None
    lines = [Line(time.monotonic(), text.rstrip("\n")) for text in proc.stdout]
    return proc.wait(60), lines, started


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory,
        postgres_server: Service) -> tuple[int, list[Line], float]:
    from tools.services import postgres

    url = postgres.create_database(postgres_server, "progress_cli")
    try:
        slow_source(url)
        return backfill(tmp_path_factory.mktemp("progress"), url)
    finally:
        postgres.drop_database(postgres_server, "progress_cli")


def progress_lines(lines: list[Line]) -> list[Line]:
    return [line for line in lines if line.text.startswith(LABEL) and line.parsed is not None]


def test_the_run_succeeds_and_ends_with_its_rows(run: tuple[int, list[Line], float]) -> None:
    code, lines, _ = run
    assert code == 0, "\n".join(line.text for line in lines)
    final = progress_lines(lines)[-1]
    assert "— ok in" in final.text and f"{DAYS}/{DAYS} day(s)" in final.text, final.text
    found = final.parsed
    assert found is not None and int(found["rows"].replace(",", "")) == DAYS * ROWS_PER_DAY


def test_each_stage_counts_its_days_as_they_finish(run: tuple[int, list[Line], float]) -> None:
    lines = progress_lines(run[1])
    counts = [line.stages() for line in lines if line.stages()]
    assert counts and set(counts[0]) == {"extract", "transfer", "load"}, counts[:1]
    for before, after in itertools.pairwise(counts):
        assert all(after[s] >= before[s] for s in before), (before, after)
    extracted = {c["extract"] for c in counts}
    assert len({n for n in extracted if 0 < n < DAYS}) >= 5, sorted(extracted)  # one by one
    rows = [int(line.parsed["rows"].replace(",", "")) for line in lines if line.parsed]
    assert rows == sorted(rows) and rows[-1] == DAYS * ROWS_PER_DAY
    assert any(int(line.parsed["rate"].replace(",", "")) > 0 for line in lines if line.parsed)


def test_the_check_results_are_counted_as_they_are_stored(
        run: tuple[int, list[Line], float]) -> None:
    """Each day has a result of each check (the key's two and the load's row count): the line
    counts them as they are stored, out of all the run will store, never going back, and the
    last line says how many were stored."""
    lines = progress_lines(run[1])
    checks = [c for line in lines if (c := line.checks()) is not None]
    assert checks, [line.text for line in lines]
    assert {total for _, total in checks} == {3 * DAYS}, checks
    done = [d for d, _ in checks]
    assert done == sorted(done), done
    assert f"rows/s, {3 * DAYS:,} check results — ok in" in lines[-1].text, lines[-1].text


def test_the_time_left_shows_from_a_tenth_on_and_counts_down(
        run: tuple[int, list[Line], float]) -> None:
    """Every line from a tenth of the days to the last day shows the time left, never 0:00,
    and it comes down as the extract goes. It may rise by the line's rounding, and by what a
    slower stretch of the source really adds: the pace is an average, so a few loaded seconds
    on a busy 2-core machine (19 s, then 23 s, on a CI run) raise it by a fraction, never by
    more than a quarter. Overall it must come down.

    Within 2x of the real remainder is not asserted here: the stages after the extract are
    guessed at half its pace each until they report days, and on this source (a query a day
    with a sleep, local stages much cheaper) that guess is up to ~2.5x over in the last
    seconds; the bound is checked on simulated paces in tests/unit/test_progress.py and
    measured by bench/backfill.py."""
    lines = progress_lines(run[1])
    extracting = [line for line in lines[:-1]
                  if line.stages() and DAYS / 10 <= line.stages()["extract"] < DAYS]
    assert len(extracting) >= 5, [line.text for line in lines]
    etas = [line.eta_s() for line in extracting]
    assert all(eta is not None and eta >= 1 for eta in etas), [x.text for x in extracting]
    for before, after in itertools.pairwise(etas):
        assert after is not None and before is not None and after <= before * 1.25 + 2, etas
    assert etas[-1] is not None and etas[0] is not None and etas[-1] < etas[0], etas


def test_no_silent_tail_after_the_last_day(run: tuple[int, list[Line], float]) -> None:
    lines = progress_lines(run[1])
    last_day = next(i for i, line in enumerate(lines) if f"{DAYS}/{DAYS} day(s)" in line.text)
    tail = lines[last_day:]
    for line in tail[:-1]:
        assert f"recording {DAYS:,} days' results ..." in line.text, line.text
    for before, after in itertools.pairwise(tail):
        assert after.at - before.at <= TAIL_GAP_S, (before.text, after.text)
