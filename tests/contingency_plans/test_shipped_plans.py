"""The shipped plans other than rainstorm, with hand-computed expectations."""

from __future__ import annotations

from datetime import timedelta

import pytest

from anlan.events import Level
from anlan.registry import SensorInfo
from contingency_plans import Plan, SensorState, region_level, sensor_level
from tests.contingency_plans.helpers import T0, shipped

STATION = {"warning_level": 3.5, "guaranteed_level": 4.2, "historical_max": 4.8}


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    return shipped()


def levels_over(plan: Plan, sensor: SensorInfo, series: list[tuple[float, float]]
                ) -> list[Level]:
    """Feed ``(minute, value)`` readings; the sensor's level after each."""
    state = SensorState.for_plans([plan], sensor.kind)
    level, out = Level.NONE, []
    for minute, value in series:
        t = T0 + timedelta(minutes=minute)
        state.add(t, value)
        level = sensor_level(plan, sensor, state, t, current=level).level
        out.append(level)
    return out


def test_every_shipped_plan_cites_its_standard(plans: dict[str, Plan]) -> None:
    assert set(plans) == {"rainstorm", "gale", "typhoon", "heat", "river_flood", "landslide",
                          "gas_leak", "urban_waterlogging"}
    for plan in plans.values():
        assert plan.standard.title and plan.standard.issuer and plan.standard.ref


@pytest.mark.parametrize(("stage", "expected"), [
    (3.1, Level.NONE), (3.2, Level.IV), (3.5, Level.III), (4.19, Level.III),
    (4.2, Level.II), (4.8, Level.I),
])
def test_flood_levels_are_per_station_attributes(plans: dict[str, Plan], stage: float,
                                                 expected: Level) -> None:
    gauge = SensorInfo(sensor_id="wl-1", kind="water_level_m", region="g", attrs=STATION)
    # steady stage (two readings an hour apart, no rise)
    assert levels_over(plans["river_flood"], gauge, [(0, stage), (60, stage)])[-1] is expected


def test_flood_thresholds_differ_per_station(plans: dict[str, Plan]) -> None:
    low = SensorInfo(sensor_id="a", kind="water_level_m", region="g",
                     attrs={"warning_level": 2.0, "guaranteed_level": 2.6, "historical_max": 3.0})
    high = SensorInfo(sensor_id="b", kind="water_level_m", region="g", attrs=STATION)
    series = [(0, 2.7), (60, 2.7)]
    assert levels_over(plans["river_flood"], low, series)[-1] is Level.II
    assert levels_over(plans["river_flood"], high, series)[-1] is Level.NONE
    bare = SensorInfo(sensor_id="c", kind="water_level_m", region="g")  # no attributes
    assert levels_over(plans["river_flood"], bare, [(0, 9.9), (60, 9.9)])[-1] is Level.NONE


def test_flood_rate_of_rise_aggravates(plans: dict[str, Plan]) -> None:
    gauge = SensorInfo(sensor_id="wl-1", kind="water_level_m", region="g", attrs=STATION)
    # 3.05 → 3.10 m in 1 h (0.05 m/h): nothing; 3.00 → 3.12 (0.12 m/h, within 0.5 m): blue
    assert levels_over(plans["river_flood"], gauge, [(0, 3.05), (60, 3.10)])[-1] is Level.NONE
    assert levels_over(plans["river_flood"], gauge, [(0, 3.0), (60, 3.12)])[-1] is Level.IV
    # 3.0 → 3.25 m (0.25 m/h, within 0.3 m of warning): yellow one band early
    assert levels_over(plans["river_flood"], gauge, [(0, 3.0), (60, 3.25)])[-1] is Level.III
    # 3.3 → 3.6 m (0.3 m/h, above warning): orange; 4.0 → 4.3 (above guaranteed): red
    assert levels_over(plans["river_flood"], gauge, [(0, 3.3), (60, 3.6)])[-1] is Level.II
    assert levels_over(plans["river_flood"], gauge, [(0, 4.0), (60, 4.3)])[-1] is Level.I
    # hysteresis: a falling river stays yellow until 3.45 m (3.5 − 0.05)
    series = [(0, 3.6), (60, 3.6), (120, 3.46), (180, 3.44)]
    assert levels_over(plans["river_flood"], gauge, series)[-2:] == [Level.III, Level.IV]


def test_heat_three_days_and_24h_maxima(plans: dict[str, Plan]) -> None:
    probe = SensorInfo(sensor_id="tp-1", kind="temperature_c", region="g")
    # daily peaks at 14:00 Beijing time: 35.2, 36.0, 35.1 → yellow on the third afternoon
    series = []
    for day, peak in enumerate([35.2, 36.0, 35.1]):
        for hour in range(0, 24, 1):
            series.append((day * 1440 + hour * 60, peak if hour == 14 else 28.0))
    got = levels_over(plans["heat"], probe, series)
    assert got[2 * 24 + 13] is Level.NONE and got[2 * 24 + 14] is Level.III
    assert levels_over(plans["heat"], probe, [(0, 30.0), (60, 37.0)])[-1] is Level.II
    assert levels_over(plans["heat"], probe, [(0, 40.0), (60, 30.0)])[-1] is Level.I
    assert "IV" not in plans["heat"].levels  # the CMA heat signal has no blue


def test_gale_uses_beaufort_lower_bounds(plans: dict[str, Plan]) -> None:
    mast = SensorInfo(sensor_id="wd-1", kind="wind_mps", region="g")
    for speed, expected in [(10.7, Level.NONE), (10.8, Level.IV), (17.2, Level.III),
                            (24.5, Level.II), (32.7, Level.I)]:
        assert levels_over(plans["gale"], mast, [(0, 5.0), (10, speed)])[-1] is expected


def test_typhoon_needs_sustained_wind_at_half_the_masts(plans: dict[str, Plan]) -> None:
    plan = plans["typhoon"]
    masts = [SensorInfo(sensor_id=f"wd-{i}", kind="wind_mps", region=f"360121100001-G{i}")
             for i in range(4)]
    now = T0 + timedelta(minutes=40)
    levels = {}
    for i, mast in enumerate(masts):
        speed = 20.0 if i < 2 else 8.0  # two of four masts at force 8 for 40 minutes
        state = SensorState.for_plans([plan], "wind_mps")
        for m in range(0, 41, 10):
            state.add(T0 + timedelta(minutes=m), speed)
        levels[mast.sensor_id] = sensor_level(plan, mast, state, now)
    assert [a.level for a in levels.values()] == [Level.III, Level.III, Level.NONE, Level.NONE]
    assert region_level(plan, "360121100001", levels, {}, now).level is Level.III
    del levels["wd-0"]  # 1 of 3 agreeing is not enough
    assert region_level(plan, "360121100001", levels, {}, now).level is Level.NONE
    # 20 m/s for only 20 minutes is not sustained
    gusty = levels_over(plan, masts[0], [(0, 5.0), (10, 20.0), (30, 20.0)])
    assert gusty[-1] is Level.NONE


def test_gas_leak_held_alarm_and_spreading_leak(plans: dict[str, Plan]) -> None:
    plan = plans["gas_leak"]
    det = SensorInfo(sensor_id="gs-1", kind="gas_lel_pct", region="g")
    # 12 % LEL at 0, 1 and 2 minutes: held 2 minutes only at the third reading
    assert levels_over(plan, det, [(0, 12.0), (1, 12.0), (2, 12.0)]) == [
        Level.NONE, Level.NONE, Level.IV]
    assert levels_over(plan, det, [(0, 26.0)]) == [Level.II]
    assert levels_over(plan, det, [(0, 51.0)]) == [Level.I]
    # 20 → 30 % LEL in 10 minutes (60 %LEL/h) and ≥ 25: red
    assert levels_over(plan, det, [(0, 20.0), (10, 30.0)])[-1] is Level.I
    # two detectors at blue make the region yellow; 3 gas-smell reports make it blue
    now = T0
    assert region_level(plan, "g", {"a": Level.IV, "b": Level.IV}, {}, now).level is Level.III
    smells = {"gas_smell": [now - timedelta(minutes=m) for m in (1, 5, 20)]}
    assert region_level(plan, "g", {"a": Level.NONE}, smells, now).level is Level.IV


def test_landslide_tangent_angle_against_site_rate(plans: dict[str, Plan]) -> None:
    plan = plans["landslide"]
    site = SensorInfo(sensor_id="dp-1", kind="displacement_mm", region="g",
                      attrs={"uniform_rate_mm_per_h": 0.1})
    # cumulative displacement over 6 h: v = Δ / 6 h against v0 = 0.1 mm/h
    for delta, expected in [(0.5, Level.NONE), (0.6, Level.IV), (0.72, Level.III),
                            (3.41, Level.II), (6.9, Level.I)]:
        assert levels_over(plan, site, [(0, 10.0), (360, 10.0 + delta)])[-1] is expected, delta
    bare = SensorInfo(sensor_id="dp-2", kind="displacement_mm", region="g")  # v0 = 0.05 default
    assert levels_over(plan, bare, [(0, 10.0), (360, 10.3)])[-1] is Level.IV
    # reported warning signs raise the area to yellow
    signs = {"landslide_sign": [T0, T0 - timedelta(minutes=90)]}
    assert region_level(plan, "g", {"dp-1": Level.NONE}, signs, T0).level is Level.III


def test_waterlogging_reports_and_two_gauges_for_red(plans: dict[str, Plan]) -> None:
    plan = plans["urban_waterlogging"]
    gauge = SensorInfo(sensor_id="rg-1", kind="rain_mm", region="360121100001-G1")
    hour = [(m, 20 / 12) for m in range(5, 61, 5)]  # 20 mm in 1 h
    assert levels_over(plan, gauge, hour)[-1] is Level.IV
    assert levels_over(plan, gauge, [(m, 6.0) for m in range(5, 61, 5)])[-1] is Level.I
    one_red = {"rg-1": Level.I, "rg-2": Level.III}
    assert region_level(plan, "c", one_red, {}, T0).level is Level.II  # red needs 2 gauges
    assert region_level(plan, "c", {"rg-1": Level.I, "rg-2": Level.I}, {}, T0).level is Level.I
    eight = {"waterlogging": [T0 - timedelta(minutes=m) for m in range(8)]}
    assert region_level(plan, "c", {"rg-1": Level.IV}, eight, T0).level is Level.II
