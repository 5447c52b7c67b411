"""Region aggregation: N of M sensors agreeing, report counts in a window, any / all."""

from __future__ import annotations

from datetime import timedelta

from anlan.events import Level
from anlan.registry import SensorInfo
from contingency_plans import region_level, region_of
from contingency_plans.evaluate import SensorAssessment
from tests.contingency_plans.helpers import T0, make_plan

NOW = T0 + timedelta(hours=1)
RAIN = "{type: window_sum, kind: rain_mm, window: 1h, gte: 10}"


def test_default_is_the_highest_sensor() -> None:
    plan = make_plan({"IV": f"trigger: {RAIN}",
                      "III": f"trigger: {RAIN.replace('gte: 10', 'gte: 20')}"})
    r = region_level(plan, "g", {"a": Level.IV, "b": Level.III, "c": Level.NONE}, {}, NOW)
    assert r.level is Level.III
    assert r.evidence["matched"][0]["sensors"] == ["b"]
    assert region_level(plan, "g", {}, {}, NOW).level is Level.NONE


def test_n_of_m_sensors_agreeing() -> None:
    plan = make_plan({
        "IV": f"trigger: {RAIN}\nregion_trigger: {{type: sensors, min_count: 2}}",
        "III": (f"trigger: {RAIN.replace('gte: 10', 'gte: 20')}\n"
                "region_trigger: {type: sensors, min_count: 1, min_fraction: 0.5}"),
    })
    levels = {"a": Level.III, "b": Level.NONE, "c": Level.NONE}
    # 1 of 3 at III: fraction 1/3 < 0.5 → not III; at ≥ IV only 1 < 2 → nothing
    assert region_level(plan, "g", levels, {}, NOW).level is Level.NONE
    levels["b"] = Level.IV  # 2 at ≥ IV → IV; still 1 of 3 at III
    assert region_level(plan, "g", levels, {}, NOW).level is Level.IV
    levels["c"] = Level.III  # 2 of 3 at III ≥ 0.5 → III
    r = region_level(plan, "g", levels, {}, NOW)
    assert r.level is Level.III
    assert r.evidence["matched"][0] | {"top": None} == {
        "type": "sensors", "at_level": "III", "count": 2, "of": 3, "sensors": ["a", "c"],
        "top": None}


def test_at_level_and_kind_filter() -> None:
    plan = make_plan({
        "IV": f"trigger: {RAIN}",
        "III": ("region_trigger: {type: sensors, min_count: 2, at_level: IV, kind: rain_mm}"),
    })
    rain = SensorAssessment(Level.IV, {}, "rain_mm")
    other = SensorAssessment(Level.IV, {}, "soil_moisture_pct")
    assert region_level(plan, "g", {"a": rain, "b": other}, {}, NOW).level is Level.IV
    assert region_level(plan, "g", {"a": rain, "b": rain}, {}, NOW).level is Level.III
    as_dicts = {"a": rain.to_dict(), "b": rain.to_dict(), "c": "none"}
    assert region_level(plan, "g", as_dicts, {}, NOW).level is Level.III  # type: ignore[arg-type]


def test_report_counts_within_the_window() -> None:
    plan = make_plan({
        "IV": "region_trigger: {type: reports, kind: waterlogging, min_count: 3, within: 30m}",
        "III": ("region_trigger: {type: all, conditions: ["
                "{type: reports, kind: waterlogging, min_count: 5, within: 30m}, "
                "{type: reports, kind: blocked_road, min_count: 1, within: 1h}]}"),
    })
    at = [NOW - timedelta(minutes=m) for m in (0, 10, 29, 30, 45)]
    # reports at −0, −10, −29 are inside (NOW − 30 min, NOW]; −30 and −45 are not
    r = region_level(plan, "g", {}, {"waterlogging": at}, NOW)
    assert r.level is Level.IV
    assert r.evidence["matched"] == [
        {"type": "reports", "kind": "waterlogging", "count": 3, "within": "30m"}]
    assert region_level(plan, "g", {}, {"waterlogging": at[:2]}, NOW).level is Level.NONE
    # future reports (after NOW) do not count
    assert region_level(plan, "g", {}, {"waterlogging": at[:2]}, NOW - timedelta(minutes=11)
                        ).level is Level.NONE
    five = [NOW - timedelta(minutes=m) for m in range(5)]
    assert region_level(plan, "g", {}, {"waterlogging": five}, NOW).level is Level.IV  # all: no
    r = region_level(plan, "g", {}, {"waterlogging": five, "blocked_road": [NOW]}, NOW)
    assert r.level is Level.III and len(r.evidence["matched"]) == 2


def test_stale_sensors_leave_m_when_missing_data_is_ignored() -> None:
    plan = make_plan(
        {"IV": f"trigger: {RAIN}\nregion_trigger: {{type: sensors, min_fraction: 0.5}}"},
        step_down="{hold: 30m, quiet: 1h, missing_data: {after: 30m, behaviour: ignore}}")
    stale = SensorAssessment(Level.NONE, {}, "rain_mm", stale=True)
    fresh = SensorAssessment(Level.NONE, {}, "rain_mm")
    wet = SensorAssessment(Level.IV, {}, "rain_mm")
    assert region_level(plan, "g", {"a": wet, "b": fresh, "c": fresh}, {}, NOW).level \
        is Level.NONE
    assert region_level(plan, "g", {"a": wet, "b": stale, "c": fresh}, {}, NOW).level \
        is Level.IV


def test_region_of_follows_the_plan_scope() -> None:
    grid = SensorInfo(sensor_id="x", kind="rain_mm", region="360121100001-G1")
    assert region_of(make_plan({"IV": f"trigger: {RAIN}"}), grid) == "360121100001-G1"
    community = make_plan({"IV": f"trigger: {RAIN}"}, extra="scope: community")
    assert region_of(community, grid) == "360121100001"
    township = make_plan({"IV": f"trigger: {RAIN}"}, extra="scope: township")
    assert region_of(township, grid) == "360121100"
