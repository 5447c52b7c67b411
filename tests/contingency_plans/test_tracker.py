"""LevelTracker: escalate at once, step down after the hold time, clear after the quiet period."""

from __future__ import annotations

import json
from datetime import timedelta

from anlan.events import Level
from contingency_plans import LevelTracker
from tests.contingency_plans.helpers import T0, shipped


def at(minutes: float):  # type: ignore[no-untyped-def]
    return T0 + timedelta(minutes=minutes)


def run(tracker: LevelTracker, steps: list[tuple[float, Level]]) -> list[tuple[float, str, str]]:
    out = []
    for minute, level in steps:
        change = tracker.step(level, at(minute), {"m": minute})
        if change:
            out.append((minute, change.previous.value, change.level.value))
    return out


def test_escalates_at_once_and_steps_down_only_after_hold() -> None:
    tracker = LevelTracker(hold_s=1800, quiet_s=3600)  # hold 30 min, quiet 1 h
    steps = [(0, Level.IV), (5, Level.II), (10, Level.I), (15, Level.II), (20, Level.II),
             (39, Level.II), (40, Level.II), (45, Level.III), (70, Level.III), (75, Level.NONE),
             (99, Level.NONE), (100, Level.NONE), (129, Level.NONE), (130, Level.NONE)]
    assert run(tracker, steps) == [
        (0, "none", "IV"), (5, "IV", "II"), (10, "II", "I"),
        (40, "I", "II"),        # red last assessed at 10: held until 10 + 30
        (70, "II", "III"),      # orange last assessed at 40 → leaves at 70, yellow seen at 70
        (100, "III", "IV"),     # yellow last at 70 → leaves at 100; IV kept by the quiet period
        (130, "IV", "none"),    # a level was last assessed at 70: cleared after 1 h quiet
    ]


def test_no_flapping_when_the_assessment_oscillates() -> None:
    tracker = LevelTracker(hold_s=1800, quiet_s=3600)
    steps = [(m, Level.II if (m // 5) % 2 == 0 else Level.III) for m in range(0, 120, 5)]
    assert run(tracker, steps) == [(0, "none", "II")]


def test_step_down_skips_to_the_highest_level_still_assessed() -> None:
    tracker = LevelTracker(hold_s=600, quiet_s=600)
    assert run(tracker, [(0, Level.I), (5, Level.NONE), (10, Level.NONE)]) == [
        (0, "none", "I"), (10, "I", "none")]


def test_change_carries_evidence_and_reason() -> None:
    tracker = LevelTracker(hold_s=60, quiet_s=60)
    change = tracker.step(Level.III, at(0), {"x": 1})
    assert change is not None and change.evidence == {"x": 1, "reason": "escalated"}
    assert change.to_dict()["level"] == "III"
    assert tracker.step(Level.III, at(1)) is None


def test_round_trips_through_json() -> None:
    tracker = LevelTracker(hold_s=1800, quiet_s=3600)
    run(tracker, [(0, Level.I), (10, Level.III)])
    copy = LevelTracker.from_dict(json.loads(json.dumps(tracker.to_dict())))
    assert copy.level is Level.I
    assert run(copy, [(30, Level.III), (40, Level.NONE)]) == [(30, "I", "III")]


def test_for_plan_uses_the_plan_step_down() -> None:
    plan = shipped()["rainstorm"]
    tracker = LevelTracker.for_plan(plan, "360121100001-G1")
    assert (tracker.hold_s, tracker.quiet_s) == (1800.0, 3600.0)


def test_only_the_plans_levels_are_taken() -> None:
    heat = LevelTracker.for_plan(shipped()["heat"])  # no blue: III is the lowest
    assert heat.levels == (Level.III, Level.II, Level.I)
    hold, quiet = heat.hold_s / 60, heat.quiet_s / 60  # 3 h, 12 h
    assert run(heat, [(0, Level.II), (hold, Level.NONE), (quiet - 1, Level.NONE),
                      (quiet, Level.NONE)]) == [(0, "none", "II"), (hold, "II", "III"),
                                                (quiet, "III", "none")]
    sichuan = LevelTracker.for_plan(shipped()["rainstorm"], "510104001001-G1")
    assert Level.IV not in sichuan.levels
    assert run(sichuan, [(0, Level.I), (30, Level.NONE), (60, Level.NONE)]) == [
        (0, "none", "I"), (30, "I", "III"), (60, "III", "none")]
    copy = LevelTracker.from_dict(json.loads(json.dumps(sichuan.to_dict())))
    assert copy.levels == sichuan.levels
