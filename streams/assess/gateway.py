"""The state of one gateway (validation memory, per-sensor event-time state, the last condition
sent per sensor and plan, silence watch) and the pass over one gateway message.

Per message: validate every reading, add the good ones to their sensor's state, evaluate each
touched sensor once per plan (at its newest reading time), and return only *changes* of a
sensor's condition. While a sensor is (or recently was) at a level, a heartbeat is also sent
every :data:`HEARTBEAT_S` of event time so that the region's tracker can step down and clear on
time; quiet sensors send nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from anlan.events import Level, RawReadings
from anlan.registry import Registry, SensorInfo
from contingency_plans.evaluate import region_of, sensor_level
from contingency_plans.state import SensorState
from streams.assess.region import ConditionChange
from streams.plans import PlanBook
from streams.timers import Outage, SilenceWatch
from streams.validate import SensorMemory, ValidationResult, validate_message

HEARTBEAT_S = 600.0
"""Event-time interval of condition heartbeats from an active sensor."""


@dataclass
class Condition:
    """The last condition of a sensor under one plan that was sent to the region."""

    level: Level = Level.NONE
    sent: float = 0.0  # event time of the last change or heartbeat sent
    active: float | None = None  # last event time the sensor was at a level

    def to_list(self) -> list[Any]:
        return [self.level.value, self.sent, self.active]

    @classmethod
    def from_list(cls, data: list[Any]) -> Condition:
        return cls(Level(data[0]), float(data[1]), data[2])


@dataclass
class GatewayState:
    """Everything the streams keep about one gateway (the ``gateways`` table value)."""

    partition: int = -1
    memory: dict[str, SensorMemory] = field(default_factory=dict)
    states: dict[str, SensorState] = field(default_factory=dict)
    conditions: dict[str, dict[str, Condition]] = field(default_factory=dict)
    watch: SilenceWatch = field(default_factory=SilenceWatch)

    def to_dict(self) -> dict[str, Any]:
        return {"p": self.partition,
                "m": {k: v.to_dict() for k, v in self.memory.items()},
                "s": {k: v.to_dict() for k, v in self.states.items()},
                "c": {k: {p: c.to_list() for p, c in v.items()}
                      for k, v in self.conditions.items()},
                "w": self.watch.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GatewayState:
        return cls(partition=int(data.get("p", -1)),
                   memory={k: SensorMemory.from_dict(v) for k, v in data.get("m", {}).items()},
                   states={k: SensorState.from_dict(v) for k, v in data.get("s", {}).items()},
                   conditions={k: {p: Condition.from_list(c) for p, c in v.items()}
                               for k, v in data.get("c", {}).items()},
                   watch=SilenceWatch.from_dict(data.get("w", {})))


@dataclass
class GatewayOutput:
    """What one gateway message produced."""

    result: ValidationResult
    changes: list[ConditionChange] = field(default_factory=list)
    recovered: list[Outage] = field(default_factory=list)


def process_message(state: GatewayState, msg: RawReadings, registry: Registry,
                    book: PlanBook) -> GatewayOutput:
    """Validate and assess one gateway message, updating ``state`` in place."""
    result = validate_message(msg, registry, state.memory)
    touched: dict[str, SensorInfo] = {}
    for info, reading, t in result.assessable:
        plans = book.for_kind(info.kind)
        if not plans:
            continue
        sensor_state = state.states.get(info.sensor_id)
        if sensor_state is None:
            sensor_state = state.states[info.sensor_id] = book.new_state(info.kind)
        sensor_state.add(t, reading.value)
        touched[info.sensor_id] = info
    out = GatewayOutput(result=result)
    for info in touched.values():
        out.changes.extend(_assess_sensor(state, info, book))
    heard = sorted({r.sensor for r in result.readings})
    out.recovered = state.watch.heard_from(msg.gateway_id, heard, msg.received_at.timestamp())
    return out


def _assess_sensor(state: GatewayState, info: SensorInfo, book: PlanBook
                   ) -> list[ConditionChange]:
    sensor_state = state.states[info.sensor_id]
    latest = sensor_state.latest()
    if latest is None:
        return []
    t = latest[0]
    now: datetime | None = None  # made only when a change is sent
    conds = state.conditions.setdefault(info.sensor_id, {})
    changes: list[ConditionChange] = []
    for plan in book.for_kind(info.kind):
        cond = conds.get(plan.id) or Condition()
        a = sensor_level(plan, info, sensor_state, t, current=cond.level)
        if a.level is not Level.NONE:
            cond.active = t
        changed = a.level != cond.level
        if not changed and not _heartbeat_due(cond, plan, info.region, t):
            conds[plan.id] = cond
            continue
        cond.level, cond.sent = a.level, t
        conds[plan.id] = cond
        if now is None:
            now = datetime.fromtimestamp(t, UTC)
        changes.append(ConditionChange(
            plan=plan.id, region=region_of(plan, info), sensor=info.sensor_id, kind=info.kind,
            level=a.level, stale=a.stale, ts=now, evidence=a.evidence))
    return changes


def _heartbeat_due(cond: Condition, plan: Any, region: str, t: float) -> bool:
    if cond.active is None or t - cond.sent < HEARTBEAT_S:
        return False
    step = plan.for_region(region)[1]
    return t - cond.active <= step.quiet + step.hold + HEARTBEAT_S
