"""A plan's missing_data rule applies live as in the backtest: silent sensors are assessed at
silence points by the worker's timer (process_tick) exactly as run_backtest assesses them."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from anlan.events import RawReading, RawReadings
from anlan.registry import Registry
from contingency_plans.backtest import Reading, run_backtest
from contingency_plans.loader import load_plans
from streams.assess import GatewayState, RegionState, process_message
from streams.assess.gateway import process_tick
from streams.plans import PlanBook

T0 = datetime(2026, 7, 20, 0, 0, tzinfo=UTC)
GRID = "360121100001-G1"


def _registry() -> Registry:
    return Registry.model_validate({"gateways": {"gw-1": {"region": "360121100001", "sensors": {
        "rg-1": {"kind": "rain_mm", "region": GRID, "interval_s": 300}}}}})


def _run(plan_id: str, silent_h: float) -> tuple[list[tuple[float, str]], list[tuple[float, str]]]:
    """A downpour, then the gauge falls silent: (live history, backtest history)."""
    plan = load_plans()[plan_id]
    book, reg = PlanBook(plans={plan_id: plan}), _registry()
    readings = [RawReading(sensor="rg-1", ts=T0 + timedelta(minutes=5 * (i + 1)),
                           kind="rain_mm", value=6.0) for i in range(24)]
    end = readings[-1].ts + timedelta(hours=silent_h)
    state, regions = GatewayState(), defaultdict(RegionState)
    changes = []
    for r in readings:  # in real time: each reading received as it is taken
        msg = RawReadings(gateway_id="gw-1", mqtt_topic="anlan/v1/gw/gw-1/readings",
                          received_at=r.ts, seq=0, readings=[r])
        changes += process_message(state, msg, reg, book).changes
    tick = readings[-1].ts
    while tick < end:  # the worker's timer, every 30 s of wall time, here every 7 min
        tick = min(tick + timedelta(minutes=7), end)
        changes += process_tick(state, reg, book, tick.timestamp(), tick)
    for c in changes:
        regions[c.region].apply(c, reg, book)
    live = [(h[0], h[2]) for rs in regions.values() for h in rs.plans[plan_id].history]
    result = run_backtest(plan, [Reading(r.ts, r.sensor, r.kind, r.value) for r in readings],
                          reg, until=end)
    return live, [(c.ts.timestamp(), c.level.value) for c in result.changes]


@pytest.mark.parametrize("plan_id", ["rainstorm", "urban_waterlogging"])
def test_a_silent_sensor_is_assessed_live_as_in_the_backtest(plan_id: str) -> None:
    live, backtest = _run(plan_id, silent_h=6)
    assert live == backtest and backtest


def test_missing_data_ignore_steps_down_and_clears_a_silent_sensors_level() -> None:
    live, _ = _run("urban_waterlogging", silent_h=6)
    assert live[-1][1] == "none"  # 20 min after the last reading the gauge no longer counts


def test_missing_data_hold_keeps_a_silent_sensors_level() -> None:
    live, _ = _run("rainstorm", silent_h=6)
    assert live[-1][1] != "none"  # held while the data are missing


def test_a_backlog_replayed_now_is_not_silence() -> None:
    """Old readings received just now: the sensor was heard from, its silence has not begun."""
    plan = load_plans()["rainstorm"]
    book, reg = PlanBook(plans={"rainstorm": plan}), _registry()
    now = datetime.now(UTC)
    readings = [RawReading(sensor="rg-1", ts=now - timedelta(hours=20, minutes=-5 * i),
                           kind="rain_mm", value=6.0) for i in range(24)]
    state = GatewayState()
    msg = RawReadings(gateway_id="gw-1", mqtt_topic="anlan/v1/gw/gw-1/readings",
                      received_at=now, seq=0, readings=readings)
    assert process_message(state, msg, reg, book).changes  # it reached a level
    assert process_tick(state, reg, book, now.timestamp() + 60, now) == []
