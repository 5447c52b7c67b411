from __future__ import annotations

import pytest

from anlan.events import QualityFlag, RawReading, RawReadings
from anlan.quality import SensorMemory, rules_for, validate_message
from tests.streams.support import at, registry


def _msg(readings: list[tuple[str, float, str, float]], seq: int = 1, gw: str = "gw-1",
         received: float | None = None) -> RawReadings:
    last = max(r[1] for r in readings)
    return RawReadings(
        gateway_id=gw, mqtt_topic=f"anlan/v1/gw/{gw}/readings", seq=seq,
        received_at=at(received if received is not None else last),
        readings=[RawReading(sensor=s, ts=at(m), kind=k, value=v) for s, m, k, v in readings])


@pytest.mark.parametrize("reading,reason", [
    (("rg-x", 0, "rain_mm", 1.0), "unknown sensor"),
    (("rg-9", 0, "rain_mm", 1.0), "registered to gateway gw-2"),
    (("rg-1", 0, "water_level_m", 1.0), "does not match"),
    (("rg-1", 0, "rain_mm", -1.0), "below hard limit"),
    (("rg-1", 0, "rain_mm", 301.0), "above hard limit"),
    (("wl-1", 0, "water_level_m", 11.0), "above hard limit 10"),  # station attribute override
    (("rg-1", 30, "rain_mm", 1.0), "future"),
])
def test_rejections(reading: tuple[str, float, str, float], reason: str) -> None:
    result = validate_message(_msg([reading], received=0), registry(), {})
    assert not result.readings
    assert reason in result.rejected[0].reason


def test_too_old_is_rejected_and_stale_is_flagged() -> None:
    memory: dict[str, SensorMemory] = {}
    old = validate_message(_msg([("rg-1", 0, "rain_mm", 1.0)], received=60 * 24 * 8),
                           registry(), memory)
    assert "past" in old.rejected[0].reason
    stale = validate_message(_msg([("rg-1", 0, "rain_mm", 1.0)], received=180), registry(),
                             memory)
    assert stale.readings[0].flags == [QualityFlag.STALE]
    assert stale.assessable  # a late reading still counts in its window


def test_good_batch_keeps_region_and_order() -> None:
    result = validate_message(_msg([("rg-1", 0, "rain_mm", 1.0), ("rg-2", 0, "rain_mm", 2.0)]),
                              registry(), {})
    assert [(r.sensor, r.region, r.flags) for r in result.readings] == [
        ("rg-1", "360121100001-G1", []), ("rg-2", "360121100001-G1", [])]
    assert len(result.assessable) == 2


def test_replayed_message_is_dropped_as_duplicate() -> None:
    memory: dict[str, SensorMemory] = {}
    msg = _msg([("rg-1", 0, "rain_mm", 1.0), ("rg-1", 5, "rain_mm", 2.0)])
    first = validate_message(msg, registry(), memory)
    restored = {k: SensorMemory.from_dict(v.to_dict()) for k, v in memory.items()}
    again = validate_message(msg, registry(), restored)
    assert len(first.readings) == 2
    assert again.readings == [] and again.duplicates == 2


def test_out_of_order_reading_is_accepted_once() -> None:
    memory: dict[str, SensorMemory] = {}
    validate_message(_msg([("rg-1", 10, "rain_mm", 1.0)]), registry(), memory)
    late = validate_message(_msg([("rg-1", 5, "rain_mm", 1.0)], received=10), registry(), memory)
    assert len(late.assessable) == 1
    dup = validate_message(_msg([("rg-1", 5, "rain_mm", 1.0)], received=10), registry(), memory)
    assert dup.duplicates == 1


def test_reading_older_than_the_horizon_is_flagged_too_late_and_kept_out_of_the_sums() -> None:
    memory: dict[str, SensorMemory] = {}
    for i in range(40):
        validate_message(_msg([("rg-1", 5 * i + 100, "rain_mm", 1.0)]), registry(), memory)
    result = validate_message(_msg([("rg-1", 1, "rain_mm", 1.0)], received=300), registry(),
                              memory, horizon_of=lambda kind: 3600.0)
    assert QualityFlag.TOO_LATE in result.readings[0].flags
    assert not result.assessable and result.too_late == 1


def test_a_backlog_newest_first_is_new_reading_by_reading_and_a_replay_is_not() -> None:
    memory: dict[str, SensorMemory] = {}
    times = list(range(5 * 96, 0, -5))  # 8 h of 5-minute readings, newest first (minutes)
    fresh = [validate_message(_msg([("rg-1", t, "rain_mm", 1.0)], received=5 * 97),
                              registry(), memory) for t in times]
    assert all(len(r.assessable) == 1 and r.duplicates == 0 for r in fresh)
    again = [validate_message(_msg([("rg-1", t, "rain_mm", 1.0)], received=5 * 97),
                              registry(), memory) for t in times]
    assert all(r.duplicates == 1 and not r.readings for r in again)


def test_spike_is_flagged_not_assessed_and_not_remembered() -> None:
    memory: dict[str, SensorMemory] = {}
    validate_message(_msg([("tp-1", 0, "temperature_c", 25.0)]), registry(), memory)
    spike = validate_message(_msg([("tp-1", 5, "temperature_c", 60.0)]), registry(), memory)
    assert QualityFlag.SPIKE in spike.readings[0].flags
    assert QualityFlag.SOFT_LIMIT in spike.readings[0].flags
    assert not spike.assessable
    back = validate_message(_msg([("tp-1", 10, "temperature_c", 25.5)]), registry(), memory)
    assert back.readings[0].flags == []


def test_rate_of_change_and_flatline() -> None:
    memory: dict[str, SensorMemory] = {}
    validate_message(_msg([("wl-1", 0, "water_level_m", 2.0)]), registry(), memory)
    fast = validate_message(_msg([("wl-1", 5, "water_level_m", 3.0)]), registry(), memory)
    assert fast.readings[0].flags == [QualityFlag.RATE_OF_CHANGE]
    memory = {}
    flags = []
    for i in range(0, 26 * 60 + 1, 60):
        r = validate_message(_msg([("wl-1", i, "water_level_m", 2.0)]), registry(), memory)
        flags.append(r.readings[0].flags)
    assert flags[0] == [] and flags[23] == [] and flags[24] == [QualityFlag.FLATLINE]


def test_rules_overrides_from_attrs() -> None:
    assert rules_for("rain_mm").hard_max == 300
    assert rules_for("rain_mm", {"hard_max": 50, "station": "x"}).hard_max == 50
    assert rules_for("unknown").hard_max is None


def test_readings_event_is_a_valid_readings_contract_event() -> None:
    from anlan.events import Readings
    from streams.validate import readings_event

    msg = _msg([("rg-1", 0, "rain_mm", 1.5), ("tp-1", 0, "temperature_c", 20.0)], seq=7)
    result = validate_message(msg, registry(), {})
    event = Readings.from_bytes(readings_event(msg, result.readings))
    assert event.gateway_id == "gw-1" and event.seq == 7
    assert [(r.sensor, r.ts, r.value, r.region) for r in event.readings] == [
        (r.sensor, r.ts, r.value, r.region) for r in result.readings]
