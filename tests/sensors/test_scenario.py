"""Scenario files, frames, the drill's rain totals, CSV replay and synthetic registries (pure)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from anlan.registry import KINDS, load_registry
from anlan.settings import DEMO_DIR
from sensors.contract import route
from sensors.simulate.scenario import (
    SCENARIO_DIR,
    ScenarioError,
    frames,
    load_scenario,
    parse_duration,
)
from sensors.simulate.sources import (
    ReplayError,
    parse_csv,
    registry_yaml,
    replay_frames,
    shift_to,
    synthetic_registry,
)

REGISTRY = load_registry(Path(DEMO_DIR) / "sensors.yaml")
NOW = datetime(2026, 7, 20, 8, 2, 30, tzinfo=timezone.utc)


def test_durations() -> None:
    assert [parse_duration(x) for x in ("90s", "5m", "3h", "1d", 7, "2.5h")] == \
        [90, 300, 10800, 86400, 7, 9000]
    with pytest.raises(ValueError):
        parse_duration("soon")


@pytest.mark.parametrize("name", ["drill", "drill_staged", "rainstorm", "river_flood", "landslide",
                                  "gas_leak"])
def test_shipped_scenarios_load_and_pass_the_bridge_checks(name: str) -> None:
    scenario = load_scenario(name)
    count = 0
    for _k, ts, fs in frames(scenario, REGISTRY, NOW):
        assert ts <= NOW
        for frame in fs:
            payload = json.dumps({"seq": 1, "readings": frame.readings})
            records = route(f"anlan/v1/gw/{frame.gateway_id}/readings", payload.encode(),
                            REGISTRY, NOW, regions=frozenset())
            assert [r.topic for r in records] == ["anlan.readings.raw"], records
            count += len(frame.readings)
    assert count > 0


def _drill_totals() -> tuple[dict[str, list[tuple[datetime, float]]], datetime]:
    series: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    last = NOW
    for _k, ts, fs in frames(load_scenario("drill"), REGISTRY, NOW):
        last = ts
        for frame in fs:
            for r in frame.readings:
                series[r["sensor"]].append((ts, r["value"]))
    return series, last


def test_drill_runs_from_three_hours_ago_to_now_on_rain_gauges() -> None:
    series, last = _drill_totals()
    assert set(series) == {s for s, i in REGISTRY.sensors.items() if i.kind == "rain_mm"}
    first = min(ts for values in series.values() for ts, _ in values)
    assert last <= NOW and NOW - last < timedelta(minutes=5)
    assert timedelta(hours=2, minutes=50) <= last - first <= timedelta(hours=3)
    assert all(len(v) == 36 for v in series.values())  # 5-minute totals


def test_drill_crosses_the_cma_thresholds_in_grid_g1_only() -> None:
    series, _ = _drill_totals()
    grid = [s for s, i in REGISTRY.sensors.items() if i.region == "360121100002-G1"
            and i.kind == "rain_mm"]
    assert sorted(grid) == ["rg-0201", "rg-0202"]
    for sensor in grid:
        running, crossed = 0.0, dict[str, datetime]()
        for ts, value in series[sensor]:
            running += value
            for level, mm in (("blue/yellow/orange", 50), ("red", 100)):
                if running >= mm:
                    crossed.setdefault(level, ts)
        assert running > 100
        assert crossed["blue/yellow/orange"] < crossed["red"]
        # red well before the end, so the stream has time to raise it while the drill plays
        assert crossed["red"] <= series[sensor][-1][0] - timedelta(minutes=10)
    for sensor, values in series.items():
        if sensor not in grid:
            assert sum(v for _, v in values) < 30


def test_frames_are_deterministic_and_aligned() -> None:
    a = [(k, ts, [(f.gateway_id, f.readings) for f in fs])
         for k, ts, fs in frames(load_scenario("rainstorm"), REGISTRY, NOW)]
    b = [(k, ts, [(f.gateway_id, f.readings) for f in fs])
         for k, ts, fs in frames(load_scenario("rainstorm"), REGISTRY, NOW)]
    assert a == b
    assert all(ts.minute % 5 == 0 and ts.second == 0 for _, ts, _ in a)
    assert a[-1][1].utcoffset() == timedelta(hours=8)


def test_sensor_intervals_are_honoured() -> None:
    counts: dict[str, int] = defaultdict(int)
    for _k, _ts, fs in frames(load_scenario("gas_leak"), REGISTRY, NOW):
        for frame in fs:
            for r in frame.readings:
                counts[r["sensor"]] += 1
    assert counts["gs-0301"] == 180  # every minute
    assert counts["rg-0301"] == 36  # every 5 minutes
    assert counts["tp-0301"] == 18  # every 10 minutes


def test_faults_in_rainstorm() -> None:
    values: dict[str, list[float]] = defaultdict(list)
    for _k, _ts, fs in frames(load_scenario("rainstorm"), REGISTRY, NOW):
        for frame in fs:
            for r in frame.readings:
                values[r["sensor"]].append(r["value"])
    sm = values["sm-0201"]
    assert len(set(sm[len(sm) // 3 + 1:])) == 1  # flat-lined after 4 of 12 h
    assert max(values["tp-0301"]) > 50  # spiked


def test_bad_scenarios(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="known: "):
        load_scenario("no-such-scenario")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nduration: 1h\nmodels: [{kind: rain_mm, model: tornado}]\n")
    with pytest.raises(ScenarioError, match="models.0.model"):
        load_scenario(str(bad))
    bad.write_text("name: x\nduration: 1h\nmodels: [{kind: gas_lel_pct, model: gas_leak, "
                   "params: {colour: red}}]\n")
    with pytest.raises(ScenarioError, match="bad params"):
        list(frames(load_scenario(str(bad)), REGISTRY, NOW))
    assert {p.stem for p in SCENARIO_DIR.glob("*.yaml")} >= {
        "drill", "rainstorm", "river_flood", "landslide", "gas_leak"}


def test_csv_replay_groups_by_time_and_gateway() -> None:
    text = ("ts,sensor,kind,value\n"
            "2026-07-20T08:05:00+08:00,rg-0201,rain_mm,2.5\n"
            "2026-07-20T08:00:00+08:00,rg-0201,rain_mm,1.0\n"
            "2026-07-20T08:00:00+08:00,rg-0101,rain_mm,0.5\n"
            "2026-07-20T08:00:00+08:00,rg-0202,rain_mm,0.7\n"
            "2026-07-20T08:00:00+08:00,zz-1,rain_mm,9\n")
    rows = parse_csv(text)
    assert [r.value for r in rows][:1] == [1.0]
    steps, unknown = replay_frames(rows, REGISTRY)
    assert unknown == ["zz-1"]
    assert [(k, [(f.gateway_id, len(f.readings)) for f in fs]) for k, _, fs in steps] == \
        [(1, [("gw-0001", 1), ("gw-0002", 2)]), (2, [("gw-0002", 1)])]
    end = datetime(2026, 8, 1, tzinfo=timezone.utc)
    shifted, _ = replay_frames(rows, REGISTRY, shift_to(rows, end))
    assert shifted[-1][1] == end


@pytest.mark.parametrize(("text", "message"), [
    ("2026-07-20T08:00:00,rg-0201,rain_mm,1\n", "UTC offset"),
    ("2026-07-20T08:00:00Z,rg-0201,rain_mm\n", "expected"),
    ("2026-07-20T08:00:00Z,rg-0201,rain_mm,lots\n", "line 1"),
])
def test_bad_csv(text: str, message: str) -> None:
    with pytest.raises(ReplayError, match=message):
        parse_csv(text)


def test_synthetic_registry_round_trips(tmp_path: Path) -> None:
    registry = synthetic_registry(3, 10)
    assert len(registry.gateways) == 3 and len(registry.sensors) == 30
    assert {s.kind for s in registry.sensors.values()} == set(KINDS)
    path = tmp_path / "sensors.yaml"
    path.write_text(registry_yaml(registry))
    again = load_registry(path)
    assert again.sensors.keys() == registry.sensors.keys()
    assert all(again.owns(s.gateway_id, sid) for sid, s in registry.sensors.items())


def test_replay_cli_dry_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sensors.simulate.cli import main

    csv_file = tmp_path / "r.csv"
    csv_file.write_text("ts,sensor,kind,value\n"
                        "2026-07-20T08:00:00+08:00,rg-0201,rain_mm,1.5\n"
                        "2026-07-20T08:05:00+08:00,rg-0201,rain_mm,2.5\n"
                        "2026-07-20T08:05:00+08:00,wl-0101,water_level_m,3.1\n")
    assert main(["--replay", str(csv_file), "--shift-to-now", "--dry-run"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(x["step"], x["gateway"], len(x["readings"])) for x in lines] == \
        [(1, "gw-0002", 1), (2, "gw-0001", 1), (2, "gw-0002", 1)]
    last = datetime.fromisoformat(lines[-1]["readings"][0]["ts"])
    assert abs((datetime.now(timezone.utc) - last).total_seconds()) < 60


def _first_crossings(values: list[tuple[datetime, float]]) -> dict[str, datetime]:
    """When the CMA rainstorm amounts are first reached (window sums ending at each reading)."""
    rules = {"IV": (12, 50), "III": (6, 50), "II": (3, 50), "I": (3, 100)}
    out: dict[str, datetime] = {}
    for ts, _ in values:
        for level, (hours, mm) in rules.items():
            total = sum(v for t, v in values if ts - timedelta(hours=hours) < t <= ts)
            if total >= mm:
                out.setdefault(level, ts)
    return out


def test_staged_drill_steps_through_every_level_in_order() -> None:
    series: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for _k, ts, fs in frames(load_scenario("drill_staged"), REGISTRY, NOW):
        for frame in fs:
            for r in frame.readings:
                series[r["sensor"]].append((ts, r["value"]))
    crossed = _first_crossings(series["rg-0201"])
    assert crossed["IV"] < crossed["III"] < crossed["II"] < crossed["I"] < NOW
    assert NOW - crossed["I"] >= timedelta(minutes=15)
    for sensor in ("rg-0101", "rg-0102", "rg-0301"):
        assert _first_crossings(series[sensor]) == {}
