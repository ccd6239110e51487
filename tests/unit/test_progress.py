"""The progress line's time left and stage counts, on a simulated range run."""

from __future__ import annotations

import io

import dagster as dg
import pytest

from etl.runs import progress
from etl.runs.progress import Pace, RunWatcher

DAYS = 200


@pytest.mark.parametrize(("extract_s", "load_s"),
                         [(100.0, 50.0), (100.0, 32.0), (100.0, 75.0), (100.0, 115.0)])
def test_the_time_left_is_within_2x_of_the_truth_once_a_tenth_is_done(
        extract_s: float, load_s: float) -> None:
    """Extract streams its days; the load lands every day at once at the end, after 0.32 to
    1.15 of the extract's time (the benches' tails, with one pipeline at a time included).
    Checked from a tenth of the days to the start of the load, whose one statement reports
    nothing until it is done."""
    pace = Pace(started=0.0)
    total = extract_s + load_s
    for now in [extract_s * f / 100 for f in range(1, 101)] + [extract_s + 0.1]:
        extracted = min(DAYS, int(DAYS * now / extract_s))
        counts = {"extract": extracted, "load": 0}
        pace.update(counts, DAYS, now)
        left = pace.left(counts, DAYS, now)
        if extracted < DAYS / 10:
            continue
        assert left is not None
        truth = total - now
        assert truth / 2 <= left <= truth * 2, (now, left, truth)


def test_the_runs_own_start_does_not_count_as_days_work() -> None:
    """30 s of start (code location, planned events) before the first day; then 100 s. (The
    same holds for the first pipelines' work before a stage's first day, with fewer of them
    at once than the step has.)"""
    pace = Pace(started=0.0)
    for step in range(1, 101):
        now = 30.0 + step
        counts = {"extract": 2 * step, "load": 0}
        pace.update(counts, DAYS, now)
        left = pace.left(counts, DAYS, now)
        truth = 130.0 + 50.0 - now
        if step >= 10:
            assert left is not None and truth / 2 <= left <= truth * 2, (now, left, truth)


def test_pipelines_one_after_the_other_are_paced_by_the_last_ones_days() -> None:
    """``max_parallel: 1`` with two pipelines: the first one's extract and load take 60 s, in
    which the stages show no day (a stage's day counts once every pipeline has it); then the
    second one extracts the 200 days in 20 s and loads them in 8 s. From a tenth of the days
    to the load's start, the time left is within 2x of the truth or not shown yet, never paced
    from the run's start (that showed 13x on the TPC-H bench)."""
    pace = Pace(started=0.0)
    shown = 0
    for tick in range(1, 163):
        now = tick * 0.5
        extracted = max(0, min(DAYS, int(DAYS * (now - 60.0) / 20.0)))
        counts = {"extract": extracted, "load": 0}
        # The first pipeline's days from 1 s on: extract, then (at 40 s) its load.
        begun = {"extract"} | ({"load"} if now >= 40.0 else set()) if now >= 1.0 else set()
        pace.update(counts, DAYS, now, begun)
        left = pace.left(counts, DAYS, now)
        truth = 88.0 - now
        if extracted >= DAYS / 10 and left is not None:
            shown += 1
            assert truth / 2 <= left <= truth * 2, (now, left, truth)
    assert shown >= 25


def test_a_day_after_a_pause_does_not_pace_the_rest() -> None:
    """The event log writes days in batches: 1,000 days seen at 10 s, then one more after a
    2 s pause. The rest is paced as since the start (10 s a thousand days), not 2 s a day."""
    pace = Pace(started=0.0)
    pace.update({"extract": 1000, "load": 0}, 2000, 10.0)
    counts = {"extract": 1001, "load": 0}
    pace.update(counts, 2000, 12.0)
    left = pace.left(counts, 2000, 12.0)
    assert left is not None and left < 30.0, left


def test_a_later_stage_that_streams_is_paced_by_its_own_days() -> None:
    pace = Pace(started=0.0)
    pace.update({"extract": DAYS, "transfer": 0}, DAYS, 50.0)
    pace.update({"extract": DAYS, "transfer": 50}, DAYS, 60.0)
    pace.update({"extract": DAYS, "transfer": 100}, DAYS, 70.0)
    assert pace.left({"extract": DAYS, "transfer": 100}, DAYS, 70.0) == pytest.approx(20.0)


def test_a_load_that_lands_at_once_says_it_is_recording_rather_than_guessing() -> None:
    """The load's one statement runs 40 s with no day to show; then its days are recorded, 900
    of 2,000 by the first poll after it. Its work is done, and how long storing the rest takes
    is not known from its start (paced from there it showed 17x the remainder on the TPC-H
    bench): no time left, the line says what the run does."""
    pace = Pace(started=0.0)
    for now in (100.0, 120.0, 139.5):
        pace.update({"extract": 2000, "load": 0}, 2000, now)
    counts = {"extract": 2000, "load": 900}
    pace.update(counts, 2000, 140.0)
    assert pace.left(counts, 2000, 140.0) is None
    assert pace.recording(counts, 2000) == "load"
    # A poll that catches the first of them: 3 days (each pipeline's statement is done).
    late = Pace(started=0.0)
    late.update({"extract": 2000, "load": 0}, 2000, 100.0)
    late.update({"extract": 2000, "load": 3}, 2000, 140.0)
    assert late.left({"extract": 2000, "load": 3}, 2000, 140.0) is None

    keys = frozenset(dg.AssetKey(["t", stage, "p"]) for stage in ("extract", "load"))
    with dg.DagsterInstance.ephemeral() as instance:
        watcher = RunWatcher(instance, "t daily_etl_job [a..b]", keys, 20, io.StringIO())
        for day in range(20):
            watcher.tally.done[f"d{day}"] |= {dg.AssetKey(["t", "extract", "p"])}
        watcher.pace.update(watcher.tally.stage_days(), 20, watcher.pace.started + 1)
        for day in range(5):
            watcher.tally.done[f"d{day}"] |= {dg.AssetKey(["t", "load", "p"])}
        line = watcher.render()
    assert "ETA" not in line
    assert line.endswith("(extract 20, load 5), 0 rows, 0 rows/s — load written, recording "
                         "its other 15 days ..."), line


def test_a_load_past_its_expected_time_never_shows_0_00() -> None:
    """The extract took 100 s for 200 days; its load is expected in 0.6 of that (60 s). Past
    it, the time left is three tenths of the expectation, and the line rounds up to whole
    seconds."""
    pace = Pace(started=0.0)
    counts = {"extract": DAYS, "load": 0}
    pace.update(counts, DAYS, 100.0)
    assert progress.LATER_STAGE_SHARE["load"] == 0.6
    assert pace.left(counts, DAYS, 110.0) == pytest.approx(50.0)
    assert pace.left(counts, DAYS, 180.0) == pytest.approx(18.0)
    assert progress._clock(0.2) == "0:01" and progress._clock(61.0) == "1:01"


@pytest.mark.parametrize("tail_s", [16.0, 30.0])
def test_the_tail_is_paced_by_the_results_it_records(tail_s: float) -> None:
    """A TPC-H-like tail: the extract took 40 s; 2 s of checks measured with nothing recorded,
    then six results a day recorded at a steady pace, the load running meanwhile, then its
    days. The same history gave tails of 0.4 and 0.75 of the extract: from the first result
    on, the time left is within 2x of the truth either way (a fixed share fit one of the two),
    until the load's days say it is recording them."""
    pace = Pace(started=0.0)
    pace.update({"extract": DAYS // 2, "load": 0}, DAYS, 20.0)
    units, extract_s, gap_s = 7 * DAYS, 40.0, 2.0
    end = extract_s + gap_s + tail_s
    shown = 0
    for tick in range(int(extract_s * 2), int(end * 2)):
        now = tick / 2
        recorded = max(0, min(units, int(units * (now - extract_s - gap_s) / (tail_s - 1))))
        counts = {"extract": DAYS, "load": max(0, recorded - 6 * DAYS)}
        pace.update(counts, DAYS, now)
        pace.follow_tail("extract", (recorded, units), now)
        left = pace.left(counts, DAYS, now)
        truth = end - now
        if counts["load"]:  # recording them (or done): no time left to guess
            assert left is None
        elif recorded:
            assert left is not None
            shown += 1
            assert truth / 2 <= left <= truth * 2, (now, left, truth)
    assert shown >= 1.5 * tail_s


def test_results_recorded_during_the_first_stage_do_not_pace_the_tail() -> None:
    """With one pipeline at a time, the first one's results are recorded while the last one
    still extracts: the tail's pace starts with what comes after the first stage, and a
    twentieth of what was left then must come before it is used."""
    pace = Pace(started=0.0)
    pace.update({"extract": 0, "load": 0}, DAYS, 10.0, {"extract", "load"})
    pace.follow_tail("extract", (600, 1400), 10.0)  # the first pipeline's, before the tail
    counts = {"extract": DAYS, "load": 0}
    pace.update(counts, DAYS, 30.0)
    pace.follow_tail("extract", (600, 1400), 30.0)
    pace.follow_tail("extract", (620, 1400), 31.0)  # the tail's first: seen, not yet a pace
    expected = progress.LATER_STAGE_SHARE["load"] * pace.per_day["extract"] * DAYS
    assert pace.left(counts, DAYS, 31.0) == pytest.approx(expected - 1.0)  # the fixed share
    pace.follow_tail("extract", (680, 1400), 32.0)  # 60 results in 1 s: 720 left
    assert pace.left(counts, DAYS, 32.0) == pytest.approx(12.0)


def test_the_line_shows_each_stage_and_then_what_is_left_to_do() -> None:
    keys = frozenset(dg.AssetKey(["t", stage, "p"]) for stage in ("extract", "load"))
    with dg.DagsterInstance.ephemeral() as instance:
        watcher = RunWatcher(instance, "t daily_etl_job [a..b]", keys, 2, io.StringIO())
        watcher.tally.done["d1"] |= {dg.AssetKey(["t", "extract", "p"])}
        assert "0/2 day(s) (extract 1, load 0)," in watcher.render()
        watcher.tally.checks_planned, watcher.tally.checks_done = 3, 2
        assert "0/2 day(s) (extract 1, load 0, checks 2/6)," in watcher.render()
        for day in ("d1", "d2"):
            watcher.tally.done[day] |= keys
        line = watcher.render()
        assert "2/2 day(s)" in line and "recording 2 days' results ..." in line
        assert progress.LATER_STAGE_SHARE["load"] > 0


def test_a_stage_has_begun_once_any_of_its_pipelines_has_a_day() -> None:
    """With one pipeline at a time, the first one's days begin the stages while they still
    show none (a stage's day counts once every pipeline has it)."""
    keys = frozenset(dg.AssetKey(["t", stage, p]) for stage in ("extract", "load")
                     for p in ("a", "b"))
    watcher = RunWatcher(dg.DagsterInstance.ephemeral(), "t", keys, 2, io.StringIO())
    watcher.tally.done["d1"] |= {dg.AssetKey(["t", "extract", "a"])}
    assert watcher.tally.stage_days() == {"extract": 0, "load": 0}
    assert watcher.tally.begun() == {"extract"}
    watcher.render()
    assert watcher.pace.staggered == {"extract"}
