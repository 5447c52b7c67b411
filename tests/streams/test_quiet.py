"""Skipping quiet sensors changes nothing: the same conditions as evaluating every sensor."""

from __future__ import annotations

import random
from datetime import timedelta

from anlan.events import RawReading, RawReadings
from anlan.registry import Registry
from contingency_plans.loader import load_plans
from streams.assess import GatewayState, process_message
from streams.plans import PlanBook
from tests.streams.support import T0

KINDS = {"rain_mm": 3, "water_level_m": 2, "wind_mps": 2, "temperature_c": 1,
         "gas_lel_pct": 1}


def _registry() -> Registry:
    sensors = {}
    for kind, n in KINDS.items():
        for i in range(n):
            info: dict[str, object] = {"kind": kind, "region": f"360121100001-G{i % 2 + 1}",
                                       "interval_s": 300}
            if kind == "water_level_m":
                info["attrs"] = {"warning_level": 3.5, "guaranteed_level": 4.2}
            sensors[f"{kind}-{i}"] = info
    return Registry.model_validate({"gateways": {"gw-1": {"region": "360121100001",
                                                          "sensors": sensors}}})


def _value(kind: str, step: int, rng: random.Random, burst: bool) -> float:
    if kind == "rain_mm":
        return round(rng.uniform(4, 12) if burst else rng.choice([0, 0, 0.1, 0.2, 0.5]), 1)
    if kind == "water_level_m":
        return round(2.0 + (1.8 * rng.random() if burst else 0.1 * rng.random()), 2)
    if kind == "wind_mps":
        return round(rng.uniform(12, 30) if burst else rng.uniform(0, 8), 1)
    if kind == "temperature_c":
        return round(rng.uniform(35, 41) if burst else rng.uniform(20, 30), 1)
    return round(rng.uniform(10, 60) if burst else rng.uniform(0, 3), 1)


def _messages(seed: int, steps: int = 900) -> list[RawReadings]:
    rng = random.Random(seed)
    reg = _registry()
    out, burst = [], {kind: False for kind in KINDS}
    for step in range(steps):
        for kind in KINDS:  # weather comes and goes per kind
            if rng.random() < (0.08 if burst[kind] else 0.01):
                burst[kind] = not burst[kind]
        ts = T0 + timedelta(minutes=5 * step)
        readings = []
        for sid, info in reg.sensors.items():
            t = ts - timedelta(minutes=5) if rng.random() < 0.03 else ts  # late, out of order
            readings.append(RawReading(sensor=sid, ts=t, kind=info.kind,
                                       value=_value(info.kind, step, rng, burst[info.kind])))
        out.append(RawReadings(gateway_id="gw-1", mqtt_topic="anlan/v1/gw/gw-1/readings",
                               received_at=ts + timedelta(seconds=5), seq=step,
                               readings=readings))
    return out


def _settled(state: GatewayState, book: PlanBook) -> dict[str, object]:
    """The state with each condition log pruned to its horizon at the sensor's newest reading
    (a skipped quiet sensor prunes its log only when it is assessed again)."""
    from contingency_plans.course import _prune

    for sid, conds in state.conditions.items():
        latest = state.states[sid].latest()
        for cond in conds.values():
            if latest is not None:
                _prune(cond, latest[0] - book.horizon(next(iter(
                    k for k in KINDS if sid.startswith(k)))))
    return state.to_dict()


def test_skipping_quiet_sensors_sends_the_same_conditions_as_evaluating_all() -> None:
    reg, book = _registry(), PlanBook(plans=load_plans())
    skipped = total = changes = 0
    quiet_kinds: set[str] = set()
    for seed in range(3):
        fast, full = GatewayState(), GatewayState()
        for msg in _messages(seed):
            a = process_message(fast, msg, reg, book)
            quiet = len(fast.quiet)
            quiet_kinds |= {reg.sensors[sid].kind for sid in fast.quiet}
            b = process_message(full, msg, reg, book, skip_quiet=False)
            assert [c.to_bytes() for c in a.changes] == [c.to_bytes() for c in b.changes]
            skipped, total = skipped + quiet, total + len(reg.sensors)
            changes += len(a.changes)
        assert _settled(fast, book) == _settled(full, book)
    assert 0.3 < skipped / total < 0.95 and changes > 100  # quiet and active spells
    assert quiet_kinds == set(KINDS)
