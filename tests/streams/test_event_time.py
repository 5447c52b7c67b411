"""Live = backtest, whatever the delivery (the pure path; tests/streams/test_event_time_live.py
runs the real worker).

Random storms × delivery plans (in order; one backlog message per gateway; newest first; shuffled
chunks; duplicated messages; a restart from serialised state in the middle), the regions hearing
the gateways' condition changes in a random interleaving: the levels each region reaches, with
their event times, equal what ``run_backtest`` computes over the same readings.
"""

from __future__ import annotations

import os
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anlan.events import Level, RawReading, RawReadings, Signal
from anlan.registry import Registry
from contingency_plans.backtest import Reading, run_backtest
from contingency_plans.loader import load_plans
from streams.assess import GatewayState, RegionState, process_message
from streams.assess.region import ConditionChange
from streams.plans import PlanBook

T0 = datetime(2026, 7, 20, 0, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)
GRID = "360121100001-G1"
EXAMPLES = int(os.environ.get("ANLAN_EVENT_TIME_EXAMPLES", "25"))
"""Examples per property (``ANLAN_EVENT_TIME_EXAMPLES=500`` for a long run)."""


def registry() -> Registry:
    """Two gateways, three gauges in one grid (the region hears both gateways) and one alone."""
    return Registry.model_validate({"gateways": {
        "gw-a": {"region": "360121100001", "sensors": {
            "rg-a1": {"kind": "rain_mm", "region": GRID, "interval_s": 300},
            "rg-a2": {"kind": "rain_mm", "region": GRID, "interval_s": 300}}},
        "gw-b": {"region": "360121100001", "sensors": {
            "rg-b1": {"kind": "rain_mm", "region": GRID, "interval_s": 300},
            "rg-b2": {"kind": "rain_mm", "region": "360121100001-G2", "interval_s": 300}}},
    }})


def book() -> PlanBook:
    return PlanBook(plans={"rainstorm": load_plans()["rainstorm"]})


storms = st.lists(st.sampled_from([0.0, 0.0, 2.0, 8.0, 15.0, 30.0, 45.0, 60.0]),
                  min_size=3, max_size=9)
"""Hourly rain intensities (mm/h) of a storm of 3 to 9 hours."""


def readings_of(hours: list[float], rng: random.Random) -> dict[str, list[RawReading]]:
    """Every gauge's 5-minute readings of the storm (each gauge a little different)."""
    out: dict[str, list[RawReading]] = defaultdict(list)
    for gw, gauges in (("gw-a", ("rg-a1", "rg-a2")), ("gw-b", ("rg-b1", "rg-b2"))):
        for gauge in gauges:
            scale = rng.choice([0.6, 1.0, 1.3])
            for i in range(len(hours) * 12 + 24):  # and two dry hours after it
                mm = hours[i // 12] * scale / 12 if i < len(hours) * 12 else 0.0
                out[gw].append(RawReading(sensor=gauge, ts=T0 + STEP * (i + 1), kind="rain_mm",
                                          value=round(mm, 2)))
    for gw in out:
        out[gw].sort(key=lambda r: (r.ts, r.sensor))
    return out


def deliver(readings: list[RawReading], plan: str, rng: random.Random) -> list[list[RawReading]]:
    """The gateway's messages under a delivery plan."""
    by_time: dict[datetime, list[RawReading]] = defaultdict(list)
    for r in readings:
        by_time[r.ts].append(r)
    steps = [by_time[t] for t in sorted(by_time)]
    if plan == "in_order":
        return steps
    if plan == "one_backlog":
        return [list(readings)]
    if plan == "newest_first":
        return [[r] for r in sorted(readings, key=lambda r: r.ts, reverse=True)]
    if plan == "shuffled_chunks":
        chunks = [sum(steps[i:i + 7], []) for i in range(0, len(steps), 7)]
        rng.shuffle(chunks)
        return chunks
    if plan == "duplicated":
        out = []
        for step in steps:
            out.append(step)
            if rng.random() < 0.3:
                out.append(step)
        out += steps[: len(steps) // 3]  # and a replay of the first third at the end
        return out
    raise AssertionError(plan)


class Live:
    """The worker's pure path: gateway states, condition changes queued per gateway (one
    partition each), regions consuming the queues in a random interleaving."""

    def __init__(self, reg: Registry, plans: PlanBook, rng: random.Random) -> None:
        self.reg, self.book, self.rng = reg, plans, rng
        self.gateways: dict[str, GatewayState] = {}
        self.regions: dict[str, RegionState] = {}
        self.queues: dict[str, list[ConditionChange]] = defaultdict(list)
        self.signals: list[Signal] = []

    def feed(self, gateway: str, readings: list[RawReading], received: datetime) -> None:
        msg = RawReadings(gateway_id=gateway, mqtt_topic=f"anlan/v1/gw/{gateway}/readings",
                          received_at=received, seq=0, readings=readings)
        state = self.gateways.setdefault(gateway, GatewayState())
        self.queues[gateway] += process_message(state, msg, self.reg, self.book).changes

    def drain(self, everything: bool = False) -> None:
        while any(self.queues.values()):
            gw = self.rng.choice([g for g, q in self.queues.items() if q])
            change = self.queues[gw].pop(0)
            region = self.regions.setdefault(change.region, RegionState())
            self.signals += region.apply(change, self.reg, self.book)
            if not everything and self.rng.random() < 0.2:
                return

    def restart(self) -> None:
        """As a restarted worker: state recovered from its serialised form."""
        self.gateways = {k: GatewayState.from_dict(v.to_dict()) for k, v in self.gateways.items()}
        self.regions = {k: RegionState.from_dict(v.to_dict()) for k, v in self.regions.items()}

    def history(self) -> dict[str, list[tuple[float, str]]]:
        return {region: [(h[0], h[2]) for h in state.plans["rainstorm"].history]
                for region, state in self.regions.items() if "rainstorm" in state.plans}


def backtest(readings: dict[str, list[RawReading]]) -> dict[str, list[tuple[float, str]]]:
    rows = [Reading(r.ts, r.sensor, r.kind, r.value) for rs in readings.values() for r in rs]
    result = run_backtest(book().plans["rainstorm"], rows, registry())
    out: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for c in result.changes:
        out[c.region].append((c.ts.timestamp(), c.level.value))
    return dict(out)


PLANS = ["in_order", "one_backlog", "newest_first", "shuffled_chunks", "duplicated"]


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(hours=storms, plans=st.tuples(st.sampled_from(PLANS), st.sampled_from(PLANS)),
       seed=st.integers(0, 2**16), restart=st.booleans())
def test_live_levels_and_times_equal_the_backtest(hours: list[float], plans: tuple[str, str],
                                                  seed: int, restart: bool) -> None:
    rng = random.Random(seed)
    readings = readings_of(hours, rng)
    live = Live(registry(), book(), rng)
    end = max(r.ts for rs in readings.values() for r in rs)
    messages = [(gw, m) for gw, plan in zip(("gw-a", "gw-b"), plans, strict=True)
                for m in deliver(readings[gw], plan, rng)]
    # the two gateways' messages interleave; each gateway's stay in its own order
    order = sorted(range(len(messages)), key=lambda i: (rng.random(), 0))
    by_gateway = {gw: [m for g, m in messages if g == gw] for gw in ("gw-a", "gw-b")}
    cursor = {gw: 0 for gw in by_gateway}
    for n, _ in enumerate(order):
        gw = rng.choice([g for g in by_gateway if cursor[g] < len(by_gateway[g])])
        live.feed(gw, by_gateway[gw][cursor[gw]], end + timedelta(minutes=1))
        cursor[gw] += 1
        live.drain()
        if restart and n == len(order) // 2:
            live.restart()
    live.drain(everything=True)
    expected = backtest(readings)
    assert live.history() == {r: h for r, h in expected.items() if r in live.history()}
    assert all(not h for r, h in expected.items() if r not in live.history())


def test_a_backlog_in_one_message_raises_every_level_the_backtest_raises() -> None:
    """The issue's first case: 14 hours delivered at once used to raise only blue."""
    rng = random.Random(1)
    hours = [8.0] * 6 + [15.0] * 3 + [45.0] * 2 + [0.0] * 3
    readings = readings_of(hours, rng)
    end = max(r.ts for rs in readings.values() for r in rs)
    live = Live(registry(), book(), rng)
    for gw in ("gw-a", "gw-b"):
        live.feed(gw, readings[gw], end + timedelta(minutes=1))
    live.drain(everything=True)
    expected = backtest(readings)
    assert len({lv for _, lv in expected[GRID]} - {"none"}) >= 3  # several levels, not one
    assert live.history()[GRID] == expected[GRID]


def test_newest_first_one_per_message_is_not_mistaken_for_duplicates() -> None:
    """The issue's second case: 64 of 96 readings were flagged duplicates, no alert at all."""
    rng = random.Random(2)
    hours = [8.0] * 6 + [15.0] * 3 + [45.0] * 2 + [0.0] * 3
    readings = readings_of(hours, rng)
    end = max(r.ts for rs in readings.values() for r in rs)
    live = Live(registry(), book(), rng)
    for gw in ("gw-a", "gw-b"):
        for msg in deliver(readings[gw], "newest_first", rng):
            live.feed(gw, msg, end + timedelta(minutes=1))
            live.drain(everything=True)
    expected = backtest(readings)
    assert live.history()[GRID] == expected[GRID]
    announced = [s for s in live.signals if s.region == GRID and not s.late]
    assert announced and announced[-1].level == Level(expected[GRID][-1][1])
