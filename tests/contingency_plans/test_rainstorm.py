"""The CMA rainstorm table, row by row, with hand-computed rainfall (5-minute amounts)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from anlan.events import Level
from contingency_plans import SensorState, sensor_level
from tests.contingency_plans.helpers import T0, feed, rain_sensor, shipped


@pytest.fixture(scope="module")
def rainstorm():  # type: ignore[no-untyped-def]
    return shipped()["rainstorm"]


# (case, mm per 5 minutes, hours of rain, expected level at the end of the rain)
# 12 readings an hour: 12 h × 12 × 0.35 = 50.4 mm (6 h: 25.2) …
CMA_TABLE = [
    ("blue: 50.4 mm in 12 h, 25.2 mm in 6 h", 0.35, 12, Level.IV),
    ("below blue: 49.68 mm in 12 h", 0.345, 12, Level.NONE),
    ("yellow: 50.4 mm in 6 h, 25.2 mm in 3 h", 0.7, 6, Level.III),
    ("below yellow: 49.68 mm in 6 h", 0.69, 6, Level.NONE),
    ("orange: 50.4 mm in 3 h", 1.4, 3, Level.II),
    ("below orange: 49.68 mm in 3 h", 1.38, 3, Level.NONE),
    ("red: 100.8 mm in 3 h", 2.8, 3, Level.I),
    ("below red, still orange: 99.72 mm in 3 h", 2.77, 3, Level.II),
]


@pytest.mark.parametrize(("case", "mm", "hours", "expected"), CMA_TABLE,
                         ids=[c[0] for c in CMA_TABLE])
def test_cma_rainstorm_table(rainstorm, case: str, mm: float, hours: int,  # type: ignore[no-untyped-def]
                             expected: Level) -> None:
    _, a, _ = feed(rainstorm, rain_sensor(), [mm] * (12 * hours))
    assert a.level is expected, (case, a.evidence)


def test_exact_amount_reaches_the_level(rainstorm) -> None:  # type: ignore[no-untyped-def]
    # 10 readings of 5 mm = exactly 50 mm in 50 minutes: ≥ 50 mm in 3 h → orange
    _, a, _ = feed(rainstorm, rain_sensor(), [5.0] * 10)
    assert a.level is Level.II
    assert a.evidence["matched"] == [
        {"type": "window_sum", "value": 50.0, "threshold": 50.0, "window": "3h"}]
    # 0.4 mm a minute: 125 × 0.4 is not exactly 50 in binary, still ≥ 50 (in 125 minutes)
    assert sum([0.4] * 125) != 50.0
    _, a, _ = feed(rainstorm, rain_sensor(), [0.4] * 125, step_min=1)
    assert a.level is Level.II


def test_window_slides_by_event_time(rainstorm) -> None:  # type: ignore[no-untyped-def]
    # 60 mm in the first hour, then dry: orange until the wet hour leaves the 3 h window.
    s = rain_sensor()
    state, a, t = feed(rainstorm, s, [5.0] * 12)
    assert a.level is Level.II
    # at 3 h the window (0:00, 3:00] still holds all 60 mm
    state, a, t = feed(rainstorm, s, [0.0] * 24, start=t, state=state, current=a.level)
    assert t == T0 + timedelta(hours=3) and a.level is Level.II
    # at 3:30 the window (0:30, 3:30] holds 30 mm (< 45: hysteresis passed) → 6 h: 60 → yellow
    state, a, t = feed(rainstorm, s, [0.0] * 6, start=t, state=state, current=a.level)
    assert a.level is Level.III
    assert a.evidence["matched"][0]["window"] == "6h"
    # at 7 h the 6 h window (1:00, 7:00] is dry; 12 h still holds 60 mm → blue
    state, a, t = feed(rainstorm, s, [0.0] * 42, start=t, state=state, current=a.level)
    assert a.level is Level.IV
    # at 13 h nothing is left
    state, a, t = feed(rainstorm, s, [0.0] * 72, start=t, state=state, current=a.level)
    assert a.level is Level.NONE


def test_hysteresis_keeps_a_level_until_10_percent_below(rainstorm) -> None:  # type: ignore[no-untyped-def]
    s = rain_sensor()
    state = SensorState.for_plans([rainstorm], "rain_mm")
    state.add(T0 + timedelta(minutes=5), 47.0)  # 47 mm in one reading
    now = T0 + timedelta(minutes=5)
    # entering: 47 < 50 → not orange; 6 h 47 < 50 → not yellow
    assert sensor_level(rainstorm, s, state, now).level is Level.NONE
    # a gauge already orange stays orange while the 3 h sum is ≥ 45
    assert sensor_level(rainstorm, s, state, now, current=Level.II).level is Level.II
    # a gauge at red drops to orange (100 − 10 = 90 > 47, 45 ≤ 47)
    assert sensor_level(rainstorm, s, state, now, current=Level.I).level is Level.II
    state.add(now, -3.0)  # correction: 44 mm → below every stay threshold
    assert sensor_level(rainstorm, s, state, now, current=Level.II).level is Level.NONE


def test_sichuan_override_drops_blue_and_ganzi_halves_amounts(rainstorm) -> None:  # type: ignore[no-untyped-def]
    blue = [0.35] * 144  # 50.4 mm in 12 h
    assert feed(rainstorm, rain_sensor(), blue)[1].level is Level.IV
    chengdu = rain_sensor(region="510104001001-G1")
    assert feed(rainstorm, chengdu, blue)[1].level is Level.NONE  # Sichuan: no blue
    # 30 mm in 3 h: nothing nationally or in Chengdu; orange in Ganzi (≥ 25 mm in 3 h)
    wet = [30 / 36] * 36
    assert feed(rainstorm, rain_sensor(), wet)[1].level is Level.NONE
    assert feed(rainstorm, chengdu, wet)[1].level is Level.NONE
    ganzi = rain_sensor(region="513301001001-G1")
    assert feed(rainstorm, ganzi, wet)[1].level is Level.II
    aba = rain_sensor(region="513201001001")
    assert feed(rainstorm, aba, [55 / 36] * 36)[1].level is Level.I  # ≥ 50 mm in 3 h
    # an explicit region_override wins over the sensor's own region
    state, _, t = feed(rainstorm, rain_sensor(), wet)
    assert sensor_level(rainstorm, rain_sensor(), state, t,
                        region_override="5133").level is Level.II
