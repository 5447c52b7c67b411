"""Missing-data behaviour (hold / assume_zero / ignore), serialised assessments and the
``anlan plans`` entry point."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from datetime import timedelta

import pytest

from anlan.events import Level
from contingency_plans import SensorState, sensor_level
from contingency_plans.evaluate import SensorAssessment
from tests.contingency_plans.helpers import T0, make_plan, rain_sensor, shipped

LEVELS = {"IV": "trigger: {type: window_sum, kind: rain_mm, window: 3h, gte: 10}"}


def stale_plan(behaviour: str):  # type: ignore[no-untyped-def]
    return make_plan(LEVELS, step_down="{hold: 30m, quiet: 1h, missing_data: "
                                       f"{{after: 20m, behaviour: {behaviour}}}}}")


@pytest.mark.parametrize(("behaviour", "level", "stale"), [
    ("hold", Level.IV, True),         # keeps the level it had
    ("assume_zero", Level.IV, True),  # the 3 h window still holds 12 mm: evaluated as is
    ("ignore", Level.NONE, True),     # no level, and not counted in M
])
def test_a_silent_sensor(behaviour: str, level: Level, stale: bool) -> None:
    plan = stale_plan(behaviour)
    s = rain_sensor()
    state = SensorState.for_plans([plan], "rain_mm")
    state.add(T0, 12.0)
    fresh = sensor_level(plan, s, state, T0 + timedelta(minutes=20))
    assert (fresh.level, fresh.stale) == (Level.IV, False)
    late = sensor_level(plan, s, state, T0 + timedelta(minutes=21), current=Level.IV)
    assert (late.level, late.stale) == (level, stale)
    assert late.evidence["stale"] is True and late.evidence["latest_ts"] == T0.timestamp()


def test_assume_zero_lets_windows_drain() -> None:
    plan = stale_plan("assume_zero")
    state = SensorState.for_plans([plan], "rain_mm")
    state.add(T0, 12.0)
    later = sensor_level(plan, rain_sensor(), state, T0 + timedelta(hours=3), current=Level.IV)
    assert later.level is Level.NONE and later.stale


def test_never_heard_sensor_is_stale() -> None:
    plan = stale_plan("hold")
    a = sensor_level(plan, rain_sensor(), SensorState.for_plans([plan], "rain_mm"), T0)
    assert (a.level, a.stale) == (Level.NONE, True)


def test_other_kinds_are_not_assessed() -> None:
    plan = stale_plan("hold")
    s = rain_sensor().model_copy(update={"kind": "wind_mps"})
    assert sensor_level(plan, s, SensorState(), T0) == SensorAssessment(Level.NONE, {},
                                                                         "wind_mps")


def test_assessment_round_trip_and_evidence() -> None:
    plan = shipped()["rainstorm"]
    state = SensorState.for_plans([plan], "rain_mm")
    state.add(T0, 60.0)
    a = sensor_level(plan, rain_sensor(), state, T0)
    assert a.to_dict() == {"level": "II", "kind": "rain_mm", "stale": False, "evidence": {
        "sensor": "rg-1", "kind": "rain_mm", "level": "II",
        "matched": [{"type": "window_sum", "value": 60.0, "threshold": 50.0, "window": "3h"}]}}
    assert SensorAssessment.from_dict(a.to_dict()) == a
    dry = SensorState.for_plans([plan], "rain_mm")
    dry.add(T0, 0.5)
    assert sensor_level(plan, rain_sensor(), dry, T0).evidence == {
        "sensor": "rg-1", "kind": "rain_mm", "latest": 0.5}


def test_explicit_override_object() -> None:
    plan = shipped()["rainstorm"]
    ganzi = next(o for o in plan.overrides if "5133" in o.regions)
    state = SensorState.for_plans([plan], "rain_mm")
    state.add(T0, 30.0)
    assert sensor_level(plan, rain_sensor(), state, T0).level is Level.NONE
    assert sensor_level(plan, rain_sensor(), state, T0, region_override=ganzi).level \
        is Level.II


def test_anlan_plans_entry_point() -> None:
    from anlan.cli import run
    out = io.StringIO()
    with redirect_stdout(out):
        assert run(["plans", "validate"]) == 0
    assert "8 plan(s) valid" in out.getvalue()
