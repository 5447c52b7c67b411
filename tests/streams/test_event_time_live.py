"""Live = backtest through the real worker on the tansu broker.

Random storms × delivery plans (tests/streams/test_event_time.py has the pure version with many
more examples) produced to ``anlan.readings.raw`` as a bridge would; the signals the worker
emits are compared with ``run_backtest`` over the same readings: the level finally announced,
with its onset, is the backtest's last level, every level the backtest escalates to appears
(announced, or as a late notice) at the backtest's event time, and nothing is announced twice.
Each example uses gateways and a grid of its own on one shared worker; one test kills and
restarts the worker in the middle of a backlog.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from anlan import topics
from anlan.events import RawReading, RawReadings, Signal
from anlan.settings import Settings
from contingency_plans.backtest import Reading, run_backtest
from contingency_plans.loader import load_plans
from tests.streams.harness import Child, collect, produce, rain_plans_dir, run
from tests.streams.test_event_time import PLANS, deliver, storms

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("ANLAN_EVENT_TIME_LIVE_EXAMPLES", "4"))
SLOTS = 16


def _slot_ids(tag: str, k: int) -> dict[str, Any]:
    grid = f"3601211{k:05d}-G1"
    return {"gw": (f"gw-{tag}-{k}a", f"gw-{tag}-{k}b"), "grid": grid,
            "gauges": {f"gw-{tag}-{k}a": (f"rg-{tag}-{k}a1", f"rg-{tag}-{k}a2"),
                       f"gw-{tag}-{k}b": (f"rg-{tag}-{k}b1",)}}


@pytest.fixture(scope="module")
def world(make_settings: Callable[..., Settings], tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[tuple[Settings, Child, list[dict[str, Any]], Path]]:
    """One worker, a registry of :data:`SLOTS` independent pairs of gateways (one per
    example), only the rainstorm plan."""
    work = tmp_path_factory.mktemp("event-time")
    tag = uuid.uuid4().hex[:6]
    slots = [_slot_ids(tag, k) for k in range(SLOTS)]
    data: dict[str, Any] = {"gateways": {}}
    for slot in slots:
        for gw, gauges in slot["gauges"].items():
            data["gateways"][gw] = {"region": slot["grid"][:12], "sensors": {
                g: {"kind": "rain_mm", "region": slot["grid"], "interval_s": 300}
                for g in gauges}}
    sensors = work / "sensors.json"
    sensors.write_text(json.dumps(data), encoding="utf-8")
    settings = make_settings(plans_dir=rain_plans_dir(work), sensors_file=sensors)
    worker = Child("worker", settings, work).start()
    try:
        yield settings, worker, slots, work
    finally:
        worker.stop()


def _readings(slot: dict[str, Any], hours: list[float], start: datetime,
              rng: random.Random) -> dict[str, list[RawReading]]:
    out: dict[str, list[RawReading]] = {}
    for gw, gauges in slot["gauges"].items():
        rows = []
        for gauge in gauges:
            scale = rng.choice([0.6, 1.0, 1.3])
            for i in range(len(hours) * 12 + 24):
                mm = hours[i // 12] * scale / 12 if i < len(hours) * 12 else 0.0
                rows.append(RawReading(sensor=gauge, ts=start + timedelta(minutes=5 * (i + 1)),
                                       kind="rain_mm", value=round(mm, 2)))
        out[gw] = sorted(rows, key=lambda r: (r.ts, r.sensor))
    return out


def _records(readings: dict[str, list[RawReading]], plans: tuple[str, str],
             rng: random.Random) -> list[tuple[str, str, bytes]]:
    """The two gateways' messages under their delivery plans, interleaved."""
    queues = {gw: deliver(rows, plan, rng) for (gw, rows), plan in
              zip(readings.items(), plans, strict=True)}
    out: list[tuple[str, str, bytes]] = []
    seq = dict.fromkeys(queues, 0)
    while any(queues.values()):
        gw = rng.choice([g for g, q in queues.items() if q])
        msg = RawReadings(gateway_id=gw, mqtt_topic=f"anlan/v1/gw/{gw}/readings",
                          received_at=datetime.now(UTC), seq=seq[gw],
                          readings=queues[gw].pop(0))
        seq[gw] += 1
        out.append((topics.READINGS_RAW, gw, msg.to_bytes()))
    return out


def _expected(settings: Settings, readings: dict[str, list[RawReading]], grid: str
              ) -> list[tuple[float, str, str]]:
    rows = [Reading(r.ts, r.sensor, r.kind, r.value) for rs in readings.values() for r in rs]
    plan = load_plans(settings.plans_dir)["rainstorm"]
    from anlan.registry import load_registry

    result = run_backtest(plan, rows, load_registry(settings.sensors_file))
    return [(c.ts.timestamp(), c.previous.value, c.level.value) for c in result.changes
            if c.region == grid]


def _signals_of(settings: Settings, grid: str, expected: list[tuple[float, str, str]]
                ) -> list[Signal]:
    final = expected[-1][2] if expected else "none"

    def done(values: list[bytes]) -> bool:
        sigs = [s for s in (Signal.from_bytes(v) for v in values) if s.region == grid]
        announced = [s for s in sigs if not s.late]
        return (not expected and not sigs) or bool(
            announced and announced[-1].level.value == final and
            announced[-1].ts.timestamp() == _entered(expected, final))

    values = run(collect(settings, topics.SIGNALS, done, timeout=60))
    return [s for s in (Signal.from_bytes(v) for v in values) if s.region == grid]


def _entered(expected: list[tuple[float, str, str]], level: str) -> float:
    return next(t for t, _, lv in reversed(expected) if lv == level)


def _check(signals: list[Signal], expected: list[tuple[float, str, str]]) -> None:
    announced = [s for s in signals if not s.late]
    numbers = [s.seq for s in signals]
    assert numbers == list(range(1, len(signals) + 1)), f"a signal was sent twice: {signals}"
    if not expected:
        assert not announced
        return
    final = expected[-1][2]
    assert announced and announced[-1].level.value == final
    assert announced[-1].ts.timestamp() == _entered(expected, final)
    told = {(s.ts.timestamp(), s.level.value) for s in signals}
    ups = [(t, lv) for t, prev, lv in expected if lv != "none" and (
        prev == "none" or ["none", "IV", "III", "II", "I"].index(lv) >
        ["none", "IV", "III", "II", "I"].index(prev))]
    missed = [u for u in ups if u not in told]
    assert not missed, f"crossings never told: {missed} (told {sorted(told)})"


_next_slot = iter(range(SLOTS))


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          phases=[Phase.explicit, Phase.generate],  # no shrinking against a live worker
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(hours=storms, plans=st.tuples(st.sampled_from(PLANS), st.sampled_from(PLANS)),
       seed=st.integers(0, 2**16))
def test_the_worker_reaches_the_backtests_levels_whatever_the_delivery(
        world: tuple[Settings, Child, list[dict[str, Any]], Path], hours: list[float],
        plans: tuple[str, str], seed: int) -> None:
    settings, _, slots, _ = world
    slot = slots[next(_next_slot)]
    rng = random.Random(seed)
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=20)
    readings = _readings(slot, hours, start, rng)
    run(produce(settings, _records(readings, plans, rng)))
    expected = _expected(settings, readings, slot["grid"])
    _check(_signals_of(settings, slot["grid"], expected), expected)


def test_a_worker_killed_in_the_middle_of_a_newest_first_backlog(
        world: tuple[Settings, Child, list[dict[str, Any]], Path]) -> None:
    settings, worker, slots, work = world
    slot = slots[SLOTS - 1]
    rng = random.Random(7)
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=20)
    readings = _readings(slot, [8.0] * 6 + [15.0] * 3 + [45.0] * 2 + [0.0] * 3, start, rng)
    records = _records(readings, ("newest_first", "one_backlog"), rng)
    half = len(records) // 2
    run(produce(settings, records[:half]))
    worker.kill()
    (worker.ready_dir / "worker").unlink(missing_ok=True)
    worker.start()
    run(produce(settings, records[half:]))
    expected = _expected(settings, readings, slot["grid"])
    _check(_signals_of(settings, slot["grid"], expected), expected)
