"""The rainstorm scenario of the streams tests: one gauge, readings every 15 minutes of event
time. CMA thresholds (blue ≥ 50 mm/12 h, yellow ≥ 50 mm/6 h, orange ≥ 50 mm/3 h, red ≥ 100 mm/3 h)
are crossed in order, then the rain stops and the levels step down and clear."""

from __future__ import annotations

from datetime import datetime, timedelta

from anlan.events import Level

STEP_MIN = 15
HOURS = 26
EXPECTED_UP = [Level.IV, Level.III, Level.II, Level.I]


def intensity_mm_h(hour: float) -> float:
    """Rain intensity at ``hour`` of the scenario."""
    if hour < 8:
        return 7.0
    if hour < 10:
        return 14.0
    if hour < 11:
        return 25.0
    if hour < 13:
        return 45.0
    return 0.0


def storm(start: datetime, hours: float = HOURS, step_min: int = STEP_MIN
          ) -> list[tuple[datetime, float]]:
    """(event time, mm in the step ending then) for the whole scenario."""
    steps = int(hours * 60 / step_min)
    return [(start + timedelta(minutes=step_min * (i + 1)),
             round(intensity_mm_h(i * step_min / 60) * step_min / 60, 2)) for i in range(steps)]


def check_lifecycle(levels: list[Level]) -> None:
    """Alert levels in order: IV, III, II, I, then stepping down only, ending in a cancel."""
    assert levels[:4] == EXPECTED_UP, levels
    down = levels[4:]
    assert down and down[-1] == Level.NONE, levels
    ranks = [lv.rank for lv in down]
    assert ranks == sorted(ranks, reverse=True) and len(set(ranks)) == len(ranks), levels
