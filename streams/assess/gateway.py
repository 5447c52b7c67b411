"""The state of one gateway (validation memory, per-sensor event-time state, the last condition
sent per sensor and plan, silence watch) and the pass over one gateway message.

Per message: validate every reading, add the good ones to their sensor's state, evaluate each
touched sensor once per plan (at its newest reading time), and return only *changes* of a
sensor's condition. While a sensor is (or recently was) at a level, a heartbeat is also sent
every :data:`HEARTBEAT_S` of event time so that the region's tracker can step down and clear on
time; quiet sensors send nothing.

A quiet sensor (no level under any plan, no heartbeat due) keeps the bound of how far it is
from every trigger (:func:`contingency_plans.evaluate.sensor_bound`); it is evaluated again
only when the readings added since exceed that bound, which for most sensors most of the time
is never. The bound is kept in memory only: after a restart the first message evaluates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from anlan.events import Level, RawReadings
from anlan.registry import Registry, SensorInfo
from contingency_plans.compiled import combine_any
from contingency_plans.evaluate import region_of, sensor_bound, sensor_level
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
    quiet: dict[str, list[float]] = field(default_factory=dict, compare=False, repr=False)
    """Sensor id → ``[budget left, cap]`` of a quiet sensor (see the module docstring)."""

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
                    book: PlanBook, *, skip_quiet: bool = True) -> GatewayOutput:
    """Validate and assess one gateway message, updating ``state`` in place.

    ``skip_quiet=False`` evaluates every touched sensor (the same output, slower)."""
    result = validate_message(msg, registry, state.memory)
    touched: dict[str, SensorInfo] = {}
    quiet, states, for_kind = state.quiet, state.states, book.for_kind
    for info, reading, t in result.assessable:
        sid = info.sensor_id
        sensor_state = states.get(sid)
        if sensor_state is None:
            if not for_kind(info.kind):
                continue
            sensor_state = states[sid] = book.new_state(info.kind)
        value = reading.value
        sensor_state.add(t, value)
        touched[sid] = info
        q = quiet.get(sid)
        if q is not None:
            q[0] -= value
            if value < 0 or q[0] <= 0 or value >= q[1]:
                del quiet[sid]
    out = GatewayOutput(result=result)
    for sid, info in touched.items():
        if skip_quiet and sid in quiet:
            continue  # no trigger can have started to hold: nothing to send
        out.changes.extend(_assess_sensor(state, info, book))
    heard = {r.sensor for r in result.readings}
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
    plans = book.for_kind(info.kind)
    quiet = True  # at no level and no heartbeat due under any plan
    for plan in plans:
        cond = conds.get(plan.id) or Condition()
        a = sensor_level(plan, info, sensor_state, t, current=cond.level)
        if a.level is not Level.NONE:
            cond.active = t
            quiet = False
        elif cond.active is not None and quiet:
            quiet = t - cond.active > _heartbeat_span(plan, info.region)
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
    if quiet:
        bound = combine_any([sensor_bound(plan, info, sensor_state, t) for plan in plans])
        if bound is not None:
            state.quiet[info.sensor_id] = [bound[0], bound[1]]
    return changes


def _heartbeat_span(plan: Any, region: str) -> float:
    """How long after a sensor was last at a level its heartbeats go on."""
    step = plan.for_region(region)[1]
    return step.quiet + step.hold + HEARTBEAT_S


def _heartbeat_due(cond: Condition, plan: Any, region: str, t: float) -> bool:
    if cond.active is None or t - cond.sent < HEARTBEAT_S:
        return False
    return t - cond.active <= _heartbeat_span(plan, region)
