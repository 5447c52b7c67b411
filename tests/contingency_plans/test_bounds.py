"""Quiet bounds: how far a sensor at no level is from every trigger of a plan."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from anlan.events import Level
from anlan.registry import SensorInfo
from contingency_plans import SensorState
from contingency_plans.evaluate import sensor_bound, sensor_level
from tests.contingency_plans.helpers import T0, rain_sensor, shipped


def _state(plan_id: str, kind: str, values: list[float]) -> tuple[SensorState, float]:
    state = SensorState.for_plans([shipped()[plan_id]], kind)
    t = T0
    for v in values:
        t += timedelta(minutes=5)
        state.add(t, v)
    return state, t.timestamp()


def test_a_window_sum_leaves_the_smallest_gap_to_any_threshold() -> None:
    plan, gauge = shipped()["rainstorm"], rain_sensor()
    state, t = _state("rainstorm", "rain_mm", [4.0] * 3)  # 12 mm in every window
    budget, cap = sensor_bound(plan, gauge, state, t)  # type: ignore[misc]
    assert budget == pytest.approx(38.0) and cap == math.inf  # 50 mm − 12 mm
    state.add(t + 300, 37.9)  # within the budget: still no level
    assert sensor_level(plan, gauge, state, t + 300).level is Level.NONE
    state.add(t + 600, 0.2)  # beyond it: blue
    assert sensor_level(plan, gauge, state, t + 600).level is not Level.NONE


def test_maxima_latest_and_held_values_are_capped_by_the_lowest_threshold() -> None:
    wind = SensorInfo(sensor_id="w-1", kind="wind_mps", region="360121100001-G1")
    for plan_id in ("gale", "typhoon"):
        state, t = _state(plan_id, "wind_mps", [5.0, 6.0])
        assert sensor_bound(shipped()[plan_id], wind, state, t) == (math.inf,
                                                                    pytest.approx(10.8))


def test_an_all_of_is_bounded_by_one_part_and_a_bare_rate_not_at_all() -> None:
    level = SensorInfo(sensor_id="wl-1", kind="water_level_m", region="360121100001-G1",
                       attrs={"warning_level": 3.5, "guaranteed_level": 4.2})
    state, t = _state("river_flood", "water_level_m", [2.0, 2.1])
    assert sensor_bound(shipped()["river_flood"], level, state, t) == (math.inf,
                                                                       pytest.approx(3.0))
    gas = SensorInfo(sensor_id="g-1", kind="gas_lel_pct", region="360121100001-G1")
    state, t = _state("gas_leak", "gas_lel_pct", [1.0, 1.0])
    assert sensor_bound(shipped()["gas_leak"], gas, state, t) == (math.inf,
                                                                  pytest.approx(10.0))


def test_no_bound_once_a_negative_amount_is_kept_or_at_a_threshold() -> None:
    plan, gauge = shipped()["rainstorm"], rain_sensor()
    state, t = _state("rainstorm", "rain_mm", [5.0, -1.0])
    assert sensor_bound(plan, gauge, state, t) is None
    restored = SensorState.from_dict(state.to_dict())
    assert sensor_bound(plan, gauge, restored, t) is None
    heat = SensorInfo(sensor_id="t-1", kind="temperature_c", region="360121100001-G1")
    state, t = _state("heat", "temperature_c", [36.0])  # one hot day is not yet a level
    assert sensor_level(shipped()["heat"], heat, state, t).level is Level.NONE
    assert sensor_bound(shipped()["heat"], heat, state, t) is None
