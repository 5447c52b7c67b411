"""Reports in a region's course: distinct reporters per window, reports too old to count, and
levels raised by reports alone stepping down and clearing when the reports age out — the same
in ``run_backtest`` and in the live :class:`~streams.assess.region.RegionState` fed in any order
and ticked by the worker's timer."""

from __future__ import annotations

import json
import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from anlan.events import Level
from anlan.registry import Registry
from contingency_plans.backtest import ReportIn, read_reports, run_backtest
from contingency_plans.evaluate import region_level
from contingency_plans.region_course import RegionCourse
from contingency_plans.tracker import LevelTracker
from streams.assess.region import ConditionChange, RegionState
from streams.plans import PlanBook
from tests.contingency_plans.helpers import T0, make_plan

GRID = "360121100001-G1"
PLAN = make_plan({
    "IV": "region_trigger: {type: reports, kind: waterlogging, min_count: 3, within: 30m}",
    "III": "region_trigger: {type: reports, kind: waterlogging, min_count: 5, within: 20m}",
}, extra="scope: grid")
"""Hold 30 min, quiet 1 h (the helpers' default step-down)."""
EXAMPLES = int(os.environ.get("ANLAN_EVENT_TIME_EXAMPLES", "25"))


def course() -> RegionCourse:
    return RegionCourse(LevelTracker.for_plan(PLAN, GRID))


def add(rc: RegionCourse, minutes: float, reporter: str = "", rid: str | None = None,
        received: float | None = None) -> None:
    t = (T0 + timedelta(minutes=minutes)).timestamp()
    rc.add_report(PLAN, GRID, {}, "waterlogging", t, rid or f"{minutes}|{reporter}", received,
                  reporter=reporter)


def levels(rc: RegionCourse) -> list[tuple[float, str]]:
    return [(h[0], h[2]) for h in rc.history]


# ---------------------------------------------------------------- distinct reporters

def test_region_level_counts_distinct_reporters() -> None:
    now = T0 + timedelta(minutes=10)
    same = [(T0 + timedelta(minutes=m), "p1") for m in (1, 2, 3)]
    three = [(T0 + timedelta(minutes=m), f"p{m}") for m in (1, 2, 3)]
    assert region_level(PLAN, GRID, {}, {"waterlogging": same}, now).level is Level.NONE
    r = region_level(PLAN, GRID, {}, {"waterlogging": three}, now)
    assert r.level is Level.IV and r.evidence["matched"][0]["count"] == 3
    # without a reporter id, each report counts on its own (as before)
    anonymous = [(t, "") for t, _ in same]
    assert region_level(PLAN, GRID, {}, {"waterlogging": anonymous}, now).level is Level.IV


def test_one_reporters_three_reports_count_once() -> None:
    rc = course()
    for m in (1, 2, 3):
        add(rc, m, "p1")
    assert rc.tracker.level is Level.NONE and rc.history == []
    add(rc, 4, "p2")
    add(rc, 5, "p1")
    assert rc.tracker.level is Level.NONE
    add(rc, 6, "p3")
    assert levels(rc) == [((T0 + timedelta(minutes=6)).timestamp(), "IV")]


def test_three_reporters_count_three() -> None:
    rc = course()
    for m, who in ((1, "p1"), (2, "p2"), (3, "p3")):
        add(rc, m, who)
    assert rc.tracker.level is Level.IV


def test_a_reporter_counts_again_in_a_later_window() -> None:
    """Distinct per window ending at the evaluation time: p1's report at +31 min is in the
    window of +40 min, its report at +1 min is not."""
    rc = course()
    add(rc, 1, "p1")
    add(rc, 31, "p1")
    add(rc, 35, "p2")
    assert rc.tracker.level is Level.NONE
    add(rc, 40, "p3")
    assert rc.tracker.level is Level.IV


def test_state_without_reporters_loads_and_counts_them_as_distinct() -> None:
    rc = course()
    add(rc, 1, "p1")
    add(rc, 2, "p1")
    old = rc.to_dict()
    del old["rw"]  # stored before reporters were kept
    back = RegionCourse.from_dict(old)
    add(back, 3, "p1")
    assert back.tracker.level is Level.IV  # the two stored reports count on their own
    again = RegionCourse.from_dict(back.to_dict())
    assert again.reporters == {"waterlogging": ["", "", "p1"]}


def test_backtest_reads_an_optional_reporter_column(tmp_path: Path) -> None:
    rows = ["ts,kind,region,reporter"] + [
        f"{(T0 + timedelta(minutes=m)).isoformat()},waterlogging,{GRID},{who}"
        for m, who in ((1, "p1"), (2, "p1"), (3, "p1"), (4, "p2"))]
    path = tmp_path / "reports.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    reports = read_reports(path)
    assert [r.reporter for r in reports] == ["p1", "p1", "p1", "p2"]
    assert run_backtest(PLAN, [], Registry(), reports).changes == []
    plain = tmp_path / "plain.csv"
    plain.write_text("\n".join(r.rsplit(",", 1)[0] for r in rows) + "\n", encoding="utf-8")
    assert [r.reporter for r in read_reports(plain)] == ["", "", "", ""]
    assert [c.level for c in run_backtest(PLAN, [], Registry(), read_reports(plain)).changes
            ][:1] == [Level.IV]


# ---------------------------------------------------------------- reports too old

def test_a_report_older_than_its_windows_does_not_raise_a_level() -> None:
    """Two reports now, a third filed 31 min before the region's newest point: no window of
    30 min ending then or later holds all three, and it must not raise the level in the past
    either (a replay from its own time would)."""
    rc = course()
    add(rc, 40, "p1")
    add(rc, 41, "p2")
    add(rc, 10, "p3")  # 10 + 30 <= 41
    add(rc, 9, "p4")
    add(rc, 8, "p5")
    assert rc.history == [] and rc.tracker.level is Level.NONE
    assert rc.reports["waterlogging"] == [(T0 + timedelta(minutes=m)).timestamp()
                                          for m in (40, 41)]
    # by its arrival time too: a region that heard nothing yet
    fresh = course()
    for m in (0, 1, 2):
        add(fresh, m, f"p{m}", received=(T0 + timedelta(minutes=45)).timestamp())
    assert fresh.history == []
    # within its window it still counts, late
    late = course()
    add(late, 40, "p1")
    add(late, 41, "p2")
    add(late, 12, "p3")  # 12 + 30 > 41: counts at 40 and 41
    assert late.tracker.level is Level.IV


# ---------------------------------------------------------------- ageing out

def reports_only() -> list[ReportIn]:
    """Five reporters within 10 min (III at +14), then nothing: III leaves its 20 min window
    at +24, IV's 30 min window at +30 .. +44; hold 30 min, quiet 1 h."""
    return [ReportIn(T0 + timedelta(minutes=m), "waterlogging", GRID, f"p{i}")
            for i, m in enumerate((0, 3, 6, 10, 14))]


def test_a_report_only_level_steps_down_and_clears_in_the_backtest() -> None:
    tail = ReportIn(T0 + timedelta(hours=4), "other", GRID)  # the data end 4 h later
    result = run_backtest(PLAN, [], Registry(), [*reports_only(), tail])
    got = [(c.ts, c.previous, c.level) for c in result.changes]

    def at(m: int, sec: int = 0) -> datetime:
        return T0 + timedelta(minutes=m, seconds=sec)

    assert got == [
        (at(6), Level.NONE, Level.IV),
        (at(14), Level.IV, Level.III),
        # III was last assessed at +14: held 30 min, left at the first point after (+44:01,
        # where the report of +14 leaves IV's window)
        (at(44, 1), Level.III, Level.IV),
        # IV was last assessed at +34:01 (6, 10, 14 within 30 min); quiet 1 h, cleared at the
        # heartbeat +34:01 + 6 × 600 s
        (at(94, 1), Level.IV, Level.NONE)]
    # without the data going on, the backtest still steps down up to the end of its data only
    short = run_backtest(PLAN, [], Registry(), reports_only())
    assert [c.level for c in short.changes] == [Level.IV, Level.III]


def test_live_region_state_in_any_order_with_ticks_equals_the_backtest() -> None:
    book = PlanBook(plans={"test": PLAN})
    registry = Registry()
    end = T0 + timedelta(hours=4)
    want = run_backtest(PLAN, [], registry,
                        [*reports_only(), ReportIn(end, "other", GRID)]).changes
    expected = [(c.ts.timestamp(), c.previous.value, c.level.value) for c in want]
    for seed in range(8):
        rng = random.Random(seed)
        state = RegionState()
        changes = [ConditionChange(type="report", plan="test", region=GRID, kind=r.kind,
                                   ts=r.ts, report_id=f"r{i}", reporter=r.reporter,
                                   received=r.ts + timedelta(minutes=rng.randint(0, 10)))
                   for i, r in enumerate(reports_only())]
        changes += [changes[rng.randrange(len(changes))]]  # a duplicate
        rng.shuffle(changes)
        clock = T0.timestamp()
        signals = []
        for change in changes:
            signals += state.apply(change, registry, book)
            if rng.random() < 0.5:  # the worker's timer, at some wall-clock time
                clock = max(clock, change.ts.timestamp() + rng.randint(0, 900))
                signals += state.tick(GRID, clock, registry, book)
        while clock < end.timestamp():
            clock = min(clock + rng.randint(30, 1200), end.timestamp())
            signals += state.tick(GRID, clock, registry, book)
        rc = state.plans["test"]
        assert [(h[0], h[1], h[2]) for h in rc.history] == expected, seed
        assert signals[-1].level is Level.NONE, seed
        assert rc.tracker.level is Level.NONE
        assert state.tick(GRID, end.timestamp() + 86400, registry, book) == []


def test_ticks_are_due_only_from_report_times() -> None:
    rc = course()
    assert not rc.due(PLAN, GRID, datetime.now(UTC).timestamp())
    add(rc, 0, "p1")
    t = (T0 + timedelta(minutes=20, seconds=1)).timestamp()  # III's window of the report
    assert not rc.due(PLAN, GRID, t - 1)
    assert rc.due(PLAN, GRID, t)


# ---------------------------------------------------------------- property: live = backtest

filed = st.lists(st.tuples(st.integers(0, 240), st.sampled_from(["p1", "p2", "p3", "p4", ""]),
                           st.integers(0, 20)), min_size=1, max_size=14)
"""Reports as (minute filed, reporter, minutes until they arrive)."""


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True)
@given(reports=filed, ticks=st.lists(st.integers(0, 400), max_size=12),
       restarts=st.lists(st.integers(0, 30), max_size=3))
def test_live_with_delays_ticks_and_restarts_equals_the_backtest(
        reports: list[tuple[int, str, int]], ticks: list[int], restarts: list[int]) -> None:
    """Reports arriving up to 20 min late in arrival order (a report always arrives within its
    shortest window), the worker's timer at random times and the state serialised in between:
    the region's history equals the backtest's up to the end of the data."""
    book = PlanBook(plans={"test": PLAN})
    registry = Registry()
    rows = [ReportIn(T0 + timedelta(minutes=m), "waterlogging", GRID, who)
            for m, who, _ in reports]
    end = T0 + timedelta(minutes=max(m for m, _, _ in reports) + 200)
    want = run_backtest(PLAN, [], registry, [*rows, ReportIn(end, "other", GRID)]).changes
    events: list[tuple[float, int, ConditionChange | None]] = []
    for (m, who, late), row in zip(reports, rows, strict=True):
        arrives = row.ts + timedelta(minutes=late)
        events.append((arrives.timestamp(), 0, ConditionChange(
            type="report", plan="test", region=GRID, kind=row.kind, ts=row.ts,
            report_id=f"{m}|{who}", reporter=who,  # identical rows: one report, as there
            received=arrives)))
    events += [((T0 + timedelta(minutes=w)).timestamp(), 1, None) for w in ticks]
    events.sort(key=lambda e: (e[0], e[1]))
    state = RegionState()
    for n, (wall, _, change) in enumerate(events):
        if change is None:
            state.tick(GRID, wall, registry, book)
        else:
            state.apply(change, registry, book)
        if n in restarts:
            state = RegionState.from_dict(json.loads(json.dumps(state.to_dict())))
    state.tick(GRID, end.timestamp(), registry, book)
    history = state.plans["test"].history if "test" in state.plans else []
    assert [(h[0], h[1], h[2]) for h in history] == [
        (c.ts.timestamp(), c.previous.value, c.level.value) for c in want]
