"""Series models of the simulator (pure)."""

from __future__ import annotations

import random

import pytest

from sensors.simulate import models as m


def rng() -> random.Random:
    return random.Random(42)


def test_storm_cell_passes_over_a_gauge() -> None:
    cell = m.StormCell(x_km=-10, y_km=0, vx_kmh=10, radius_km=3, peak_mm_h=50, start_h=0,
                       duration_h=2)
    # the centre is over (0, 0) at 1 h, when the envelope peaks too
    assert cell.rate(0, 0, 1.0) == pytest.approx(50)
    assert cell.rate(0, 0, 0.5) < cell.rate(0, 0, 1.0)
    assert cell.rate(0, 0, 2.5) == 0.0  # dissipated
    assert cell.rate(0, 20, 1.0) < 0.01  # far off the track
    gauge = m.StormRain(0, 0, (cell,))
    totals = [gauge.value(t / 12, 1 / 12, rng()) for t in range(1, 30)]
    assert max(totals) == pytest.approx(50 / 12, rel=0.15)
    assert all(v >= 0 for v in totals)


def test_scheduled_rain_totals_follow_the_schedule() -> None:
    rain = m.ScheduledRain(((0, 6.0), (1.0, 42.0)), jitter=0.0)
    per5 = [rain.value(k / 12, 1 / 12, rng()) for k in range(1, 37)]
    assert per5[0] == pytest.approx(0.5)
    assert per5[-1] == pytest.approx(3.5)
    assert sum(per5) == pytest.approx(6 + 42 * 2)


def test_flood_wave_rises_to_crest_and_recedes() -> None:
    wave = m.FloodWave(base_m=2.0, rise_m=2.5, start_h=1, rise_h=4, recession_h=3, noise_m=0)
    assert wave.level(0) == 2.0
    assert wave.level(5) == pytest.approx(4.5)
    assert wave.level(3) == pytest.approx(3.25)
    assert wave.rate_of_rise(3) > 0.5 and wave.rate_of_rise(9) < 0
    levels = [wave.level(t / 4) for t in range(0, 21)]
    assert levels == sorted(levels)  # monotone rise until the crest


def test_landslide_accelerates_towards_failure() -> None:
    slope = m.Landslide(creep_mm_h=0.1, start_h=0, failure_h=10, failure_jump_mm=500,
                        noise_mm=0)
    d = [slope.displacement(t) for t in (1, 5, 9, 9.9)]
    steps = [b - a for a, b in zip(d, d[1:], strict=False)]
    assert d == sorted(d)
    assert slope.velocity(9.9) > 10 * slope.velocity(5)  # accelerating
    # inverse velocity falls linearly (Fukuzono)
    inv = [1 / slope.velocity(t) for t in (2, 4, 6)]
    assert inv[0] - inv[1] == pytest.approx(inv[1] - inv[2])
    assert slope.displacement(10) > 500 and steps[-1] > 0


def test_gas_leak_ramps_to_plateau() -> None:
    leak = m.GasLeak(background_pct=0.5, start_h=1, ramp_h=0.5, plateau_pct=35, fluctuation=0)
    r = rng()
    assert leak.value(0.5, 1 / 60, r) < 1
    assert leak.value(1.25, 1 / 60, r) == pytest.approx(18.0)
    assert leak.value(2, 1 / 60, r) == pytest.approx(35.5)


@pytest.mark.parametrize(("kind", "low", "high"), [
    ("temperature_c", 10, 40), ("wind_mps", 0, 15), ("soil_moisture_pct", 0, 100),
    ("gas_lel_pct", 0, 5), ("water_level_m", 1, 3), ("rain_mm", 0, 0)])
def test_baselines_stay_plausible(kind: str, low: float, high: float) -> None:
    r = rng()
    values = [m.BASELINES[kind].value(t / 4, 0.25, r) for t in range(200)]
    assert low <= min(values) and max(values) <= high


def test_flatline_freezes_the_last_good_value() -> None:
    model = m.Flatline(m.FloodWave(noise_m=0, start_h=0, rise_h=10), at_h=2)
    r = rng()
    before = [model.value(t / 2, 0.5, r) for t in range(1, 4)]
    after = [model.value(t / 2, 0.5, r) for t in range(4, 12)]
    assert before == sorted(before) and len(set(before)) == 3
    assert set(after) == {before[-1]}


def test_spikes_appear_at_the_given_rate() -> None:
    model = m.Spikes(m.Baseline(20.0), probability=0.1, magnitude=50, low=-100)
    r = rng()
    values = [model.value(t, 1, r) for t in range(2000)]
    spikes = [v for v in values if abs(v - 20) > 40]
    assert 140 < len(spikes) < 260


def test_positions_are_stable() -> None:
    assert m.position("rg-0201") == m.position("rg-0201")
    assert m.position("rg-0201") != m.position("rg-0202")
