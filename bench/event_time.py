"""Live = backtest under each delivery of a backlog: the levels a region reaches and what is told.

One storm that peaks at orange (II), two gateways, three gauges in one grid, delivered in order,
as one backlog message, newest first, in shuffled chunks, with duplicated messages and with a
restart from serialised state; the region hears the gateways in a random interleaving. Prints
the levels with their event times (Beijing time) next to ``run_backtest`` over the same readings,
and what was announced (public) and told as late notices (duty officers).

    python -m bench.event_time [--quick]

The last line is the common JSON summary: modes whose levels equal the backtest, of all modes.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta, timezone

from anlan.events import RawReading, RawReadings, Signal
from anlan.registry import Registry
from contingency_plans.backtest import Reading, run_backtest
from contingency_plans.loader import load_plans
from streams.assess import GatewayState, RegionState, process_message
from streams.assess.region import ConditionChange
from streams.plans import PlanBook

BJ = timezone(timedelta(hours=8))
T0 = datetime(2026, 7, 20, 6, 0, tzinfo=UTC)
GRID = "360121100001-G1"
HOURS = [6.0] * 6 + [12.0] * 4 + [25.0] * 2 + [0.0] * 2  # mm/h: peaks at orange
GAUGES = {"gw-a": ("rg-a1", "rg-a2"), "gw-b": ("rg-b1",)}
MODES = ("in_order", "one_backlog", "newest_first", "shuffled_chunks", "duplicated", "restart")


def _registry() -> Registry:
    return Registry.model_validate({"gateways": {gw: {"region": GRID[:12], "sensors": {
        g: {"kind": "rain_mm", "region": GRID, "interval_s": 300} for g in gauges}}
        for gw, gauges in GAUGES.items()}})


def _readings() -> dict[str, list[RawReading]]:
    out: dict[str, list[RawReading]] = defaultdict(list)
    for gw, gauges in GAUGES.items():
        for n, gauge in enumerate(gauges):
            for i in range(len(HOURS) * 12):
                out[gw].append(RawReading(sensor=gauge, ts=T0 + timedelta(minutes=5 * (i + 1)),
                                          kind="rain_mm",
                                          value=round(HOURS[i // 12] * (1 + n / 5) / 12, 2)))
        out[gw].sort(key=lambda r: (r.ts, r.sensor))
    return out


def _deliver(rows: list[RawReading], mode: str, rng: random.Random) -> list[list[RawReading]]:
    steps = [[r for r in rows if r.ts == t] for t in sorted({r.ts for r in rows})]
    if mode == "one_backlog":
        return [rows]
    if mode == "newest_first":
        return [[r] for r in sorted(rows, key=lambda r: r.ts, reverse=True)]
    if mode == "shuffled_chunks":
        chunks = [sum(steps[i:i + 7], []) for i in range(0, len(steps), 7)]
        rng.shuffle(chunks)
        return chunks
    if mode == "duplicated":
        return [s for step in steps for s in ([step, step] if rng.random() < 0.3 else [step])]
    return steps


def _live(mode: str, readings: dict[str, list[RawReading]], seed: int
          ) -> tuple[list[tuple[float, str]], list[Signal]]:
    rng = random.Random(seed)
    reg, book = _registry(), PlanBook(plans={"rainstorm": load_plans()["rainstorm"]})
    received = max(r.ts for rs in readings.values() for r in rs) + timedelta(minutes=1)
    gateways = {gw: GatewayState() for gw in GAUGES}
    regions: dict[str, RegionState] = defaultdict(RegionState)
    queues: dict[str, list[ConditionChange]] = defaultdict(list)
    signals: list[Signal] = []
    pending = {gw: _deliver(readings[gw], "in_order" if mode == "restart" else mode, rng)
               for gw in GAUGES}
    sent = 0
    while any(pending.values()) or any(queues.values()):
        if any(pending.values()):
            gw = rng.choice([g for g, q in pending.items() if q])
            msg = RawReadings(gateway_id=gw, mqtt_topic=f"anlan/v1/gw/{gw}/readings",
                              received_at=received, seq=sent, readings=pending[gw].pop(0))
            queues[gw] += process_message(gateways[gw], msg, reg, book).changes
            sent += 1
        while any(queues.values()) and rng.random() < 0.8:
            gw = rng.choice([g for g, q in queues.items() if q])
            change = queues[gw].pop(0)
            signals += regions[change.region].apply(change, reg, book)
        if mode == "restart" and sent == 60:
            gateways = {k: GatewayState.from_dict(v.to_dict()) for k, v in gateways.items()}
            regions = defaultdict(RegionState, {k: RegionState.from_dict(v.to_dict())
                                                for k, v in regions.items()})
    history = [(h[0], h[2]) for h in regions[GRID].plans["rainstorm"].history]
    return history, [s for s in signals if s.region == GRID]


def _hm(t: float) -> str:
    return datetime.fromtimestamp(t, BJ).strftime("%H:%M")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed (the default is three)")
    args = parser.parse_args()
    readings = _readings()
    rows = [Reading(r.ts, r.sensor, r.kind, r.value) for rs in readings.values() for r in rs]
    result = run_backtest(load_plans()["rainstorm"], rows, _registry())
    expected = [(c.ts.timestamp(), c.level.value) for c in result.changes if c.region == GRID]
    print("backtest          " + " → ".join(f"{lv}@{_hm(t)}" for t, lv in expected))
    equal = total = 0
    for seed in (1,) if args.quick else (1, 2, 3):
        for mode in MODES:
            history, signals = _live(mode, readings, seed)
            same = history == expected
            equal, total = equal + same, total + 1
            public = [s for s in signals if not s.late]
            late = [s for s in signals if s.late]
            print(f"{mode:16s}  live {' → '.join(f'{lv}@{_hm(t)}' for t, lv in history)} "
                  f"{'== backtest' if same else '!= BACKTEST'}; announced "
                  f"{len(public)} ({' → '.join(s.level.value for s in public)}), late notices "
                  f"{', '.join(f'{s.level.value}@{_hm(s.ts.timestamp())}' for s in late) or '-'}"
                  f" (seed {seed})")
    print(json.dumps({"bench": "event_time", "value": equal, "unit": "modes equal to backtest",
                      "baseline": total, "ratio": round(equal / total, 3)}))


if __name__ == "__main__":
    main()
