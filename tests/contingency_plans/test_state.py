"""SensorState: event-time buckets, samples, eviction and (de)serialisation."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from contingency_plans import SensorState
from tests.contingency_plans.helpers import T0, shipped


def minutes(m: float):  # type: ignore[no-untyped-def]
    return T0 + timedelta(minutes=m)


def test_window_sum_is_exact_on_bucket_edges_and_ignores_order() -> None:
    s = SensorState(bucket_s=300, horizon_s=3 * 3600, sample_s=0)
    for m in (15, 5, 10, 20):  # out of order
        s.add(minutes(m), 1.0)
    # (0:05, 0:20] holds the readings at 10, 15, 20; the one at 0:05 is on the open end
    assert s.window_sum(minutes(20), 900) == 3.0
    assert s.window_sum(minutes(20), 1200) == 4.0
    assert s.window_sum(minutes(10), 300) == 1.0
    assert s.window_max(minutes(20), 900) == 1.0
    assert s.window_max(minutes(60), 600) is None


def test_eviction_keeps_only_the_horizon() -> None:
    s = SensorState(bucket_s=300, horizon_s=3600, sample_s=0)
    for m in range(5, 24 * 60, 5):
        s.add(minutes(m), 1.0)
    assert len(s.to_dict()["sum"]) <= 3600 // 300 + 2
    assert s.window_sum(minutes(24 * 60 - 5), 3600) == 12.0
    s.add(minutes(5), 100.0)  # far older than the horizon: dropped
    assert s.window_sum(minutes(24 * 60 - 5), 3600) == 12.0


def test_a_jump_far_ahead_resets_instead_of_growing() -> None:
    s = SensorState(bucket_s=300, horizon_s=3600, sample_s=0)
    s.add(minutes(5), 1.0)
    s.add(minutes(60 * 24 * 365 * 50), 2.0)  # fifty years later (a broken clock)
    assert len(s.to_dict()["sum"]) == 1
    assert s.window_sum(minutes(60 * 24 * 365 * 50), 3600) == 2.0


def test_rate_held_and_latest_use_samples() -> None:
    s = SensorState(bucket_s=300, horizon_s=0, sample_s=3600)
    for m, v in [(0, 3.0), (30, 3.1), (60, 3.3), (90, 3.6)]:
        s.add(minutes(m), v)
    assert s.latest() == (minutes(90).timestamp(), 3.6)
    assert s.rate_per_hour(minutes(90), 3600) == pytest.approx(0.5)  # 3.1 → 3.6 in 1 h
    assert s.rate_per_hour(minutes(90), 1800) == pytest.approx(0.6)
    assert s.held_at_least(3.1, minutes(90), 3600)  # 3.1, 3.3, 3.6 since 0:30
    assert not s.held_at_least(3.2, minutes(90), 3600)
    assert s.held_at_least(3.2, minutes(95), 1800)  # held since 1:00 (3.3)
    assert not s.held_at_least(3.0, minutes(90), 4 * 3600)  # no sample that old


def test_daily_max_in_local_days() -> None:
    s = SensorState(bucket_s=3600, horizon_s=4 * 86400, sample_s=0)
    for day, peak in enumerate([36.0, 35.5, 34.0, 37.0]):
        s.add(T0 + timedelta(days=day, hours=14), peak)
        s.add(T0 + timedelta(days=day, hours=6), 25.0)
    end = T0 + timedelta(days=3, hours=20)
    assert s.daily_max(end, 3, 8 * 3600) == [35.5, 34.0, 37.0]
    assert s.daily_max(end, 4, 8 * 3600) == [36.0, 35.5, 34.0, 37.0]


def test_round_trip_through_json_and_sizing_from_plans() -> None:
    plans = shipped()
    s = SensorState.for_plans(plans.values(), "rain_mm")
    assert s.bucket_s == 300 and s.horizon_s == 24 * 3600  # landslide reads 24 h of rain
    for m in range(5, 600, 5):
        s.add(minutes(m), 0.5)
    copy = SensorState.from_dict(json.loads(json.dumps(s.to_dict())))
    for seconds in (3600, 3 * 3600, 12 * 3600):
        assert copy.window_sum(minutes(595), seconds) == s.window_sum(minutes(595), seconds)
    copy.add(minutes(600), 1.0)
    assert copy.window_sum(minutes(600), 300) == 1.0
    flood = SensorState.for_plans(plans.values(), "water_level_m")
    assert flood.sample_s == 3600 and flood.horizon_s == 0
    heat = SensorState.for_plans(plans.values(), "temperature_c")
    assert heat.bucket_s == 3600 and heat.horizon_s == 4 * 86400
