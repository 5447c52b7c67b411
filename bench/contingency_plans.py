"""Cost of the pure plan evaluation that every reading goes through in the streams:
``SensorState.add``, ``sensor_level`` per shipped plan reading the kind, ``region_level`` and
``LevelTracker.step``, and the JSON size of a sensor's state (a table write).

Run ``python -m bench.contingency_plans [--quick]``. Figures are µs per call, CPU time, best of
5 rounds. The last line is JSON: the median ``sensor_level`` call against the baseline of
decoding one reading from JSON (the least any reading costs on the way in).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time
import timeit
from datetime import datetime, timedelta, timezone
from typing import Any

from anlan.events import Level
from anlan.registry import SensorInfo
from contingency_plans import LevelTracker, SensorState, load_plans, region_level, sensor_level

T0 = datetime(2026, 7, 20, tzinfo=timezone(timedelta(hours=8)))
SERIES = {"rain_mm": 1.2, "water_level_m": 3.3, "wind_mps": 12.0, "temperature_c": 36.0,
          "gas_lel_pct": 4.0, "displacement_mm": 10.0}
ATTRS = {"warning_level": 3.5, "guaranteed_level": 4.2, "historical_max": 4.8}


def _best(stmt: Any, number: int) -> float:
    """µs per call, best of 5 rounds, CPU time (the machine may be shared)."""
    rounds = timeit.repeat(stmt, number=number, repeat=5, timer=time.process_time)
    return min(rounds) / number * 1e6


def run(number: int) -> dict[str, Any]:
    plans = load_plans()
    out: dict[str, Any] = {"add_us": {}, "sensor_level_us": {}, "state_json_bytes": {}}
    for kind, value in SERIES.items():
        readers = [p for p in plans.values() if kind in p.kinds]
        sensor = SensorInfo(sensor_id="s-1", kind=kind, region="360121100001-G1", attrs=ATTRS)
        state = SensorState.for_plans(readers, kind)
        for i in range(2000):  # a week of 5-minute readings: a full state
            state.add(T0 + timedelta(minutes=5 * i), value)
        now = T0 + timedelta(minutes=5 * 1999)
        out["state_json_bytes"][kind] = len(json.dumps(state.to_dict()))
        for plan in readers:
            us = _best(lambda: sensor_level(plan, sensor, state, now), number)  # noqa: B023
            out["sensor_level_us"][f"{plan.id}/{kind}"] = round(us, 2)
        ticks = itertools.count(now.timestamp() + 300, 300)  # one new reading per call
        out["add_us"][kind] = round(_best(
            lambda s=state, c=ticks, v=value: s.add(next(c), v), number), 2)
    plan = plans["urban_waterlogging"]
    levels = {f"rg-{i}": Level.IV if i % 3 else Level.NONE for i in range(10)}
    reports = {"waterlogging": [T0 - timedelta(minutes=m) for m in range(6)]}
    out["region_level_us_10_sensors"] = round(
        _best(lambda: region_level(plan, "360121100001", levels, reports, T0), number), 2)
    tracker = LevelTracker.for_plan(plan)
    out["tracker_step_us"] = round(_best(lambda: tracker.step(Level.IV, T0), number), 2)
    reading = json.dumps({"sensor": "rg-0201", "ts": "2026-07-20T08:00:00+08:00",
                          "kind": "rain_mm", "value": 3.5})
    out["json_decode_reading_us"] = round(_best(lambda: json.loads(reading), number), 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls per round")
    args = parser.parse_args()
    result = run(2000 if args.quick else 20000)
    for key, value in result.items():
        print(f"{key}: {value}")
    value = statistics.median(result["sensor_level_us"].values())
    baseline = result["json_decode_reading_us"]
    print(json.dumps({"bench": "contingency_plans", "value": round(value, 2),
                      "unit": "µs per sensor_level call", "baseline": baseline,
                      "ratio": round(value / baseline, 2)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
