"""The state of one gateway (validation memory, per-sensor event-time state, the course of each
sensor under each plan, silence watch) and the pass over one gateway message.

Per message: validate every reading, add the good ones to their sensor's state, assess each
touched sensor under each plan at each of its new reading times in event-time order
(:mod:`contingency_plans.course`), and return only *changes* of a sensor's condition (and
heartbeats while it is at a level). A reading older than the sensor's newest re-assesses every
reading time from it on: a backlog that arrives late, in one message or newest first, is
assessed as if it had arrived in order.

A quiet sensor (no level under any plan, no heartbeat due) keeps the bound of how far it is
from every trigger (:func:`contingency_plans.evaluate.sensor_bound`); it is evaluated again
only when the readings added since exceed that bound, which for most sensors most of the time
is never. The bound is kept in memory only: after a restart the first message evaluates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from anlan.events import RawReadings
from anlan.registry import Registry, SensorInfo
from contingency_plans import course
from contingency_plans.compiled import combine_any
from contingency_plans.course import Condition
from contingency_plans.evaluate import region_of, sensor_bound
from contingency_plans.state import SensorState
from streams.assess.region import ConditionChange
from streams.plans import PlanBook
from streams.timers import Outage, SilenceWatch
from streams.validate import SensorMemory, ValidationResult, validate_message


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
    result = validate_message(msg, registry, state.memory, book.horizon)
    states, for_kind = state.states, book.for_kind
    new: dict[str, list[tuple[float, float | None]]] = {}  # sensor → (time, value to add)
    infos: dict[str, SensorInfo] = {}
    for info, reading, t in result.assessable:
        sid = info.sensor_id
        found = new.get(sid)
        if found is None:
            if sid not in states:
                if not for_kind(info.kind):
                    continue
                states[sid] = book.new_state(info.kind)
            found = new[sid] = []
            infos[sid] = info
        found.append((t, reading.value))
    for info, t in result.unassessed:  # e.g. a spike: not in the sums, still a reading time
        sid = info.sensor_id
        if sid in new or sid in states:
            new.setdefault(sid, []).append((t, None))
            infos[sid] = info
    out = GatewayOutput(result=result, changes=[])
    received = msg.received_at
    for sid, items in new.items():
        items.sort(key=lambda x: x[0])
        if items[0][0] < _assessed_until(state, sid):  # older than what was assessed
            out.changes.extend(_reassess(state, infos[sid], book, items, received))
        else:
            out.changes.extend(_assess_in_order(state, infos[sid], book, items, received,
                                                skip_quiet))
    _mark_last(out.changes)
    heard = {r.sensor for r in result.readings}
    out.recovered = state.watch.heard_from(msg.gateway_id, heard, msg.received_at.timestamp())
    return out


def _mark_last(changes: list[ConditionChange]) -> None:
    """Only a message's last change for a plan and region ends its news there (the region
    announces its level after it, not after each sensor of the message)."""
    seen: set[tuple[str, str]] = set()
    for change in reversed(changes):
        key = (change.plan, change.region)
        change.last_of_message = key not in seen
        seen.add(key)


def _assessed_until(state: GatewayState, sid: str) -> float:
    """The newest time a sensor was assessed at: its newest reading, or a silence point the
    timer assessed after it (a reading older than that re-assesses the course)."""
    last = state.states[sid].latest()
    newest = last[0] if last is not None else float("-inf")
    for cond in state.conditions.get(sid, {}).values():
        if cond.evaluated is not None and cond.evaluated > newest:
            newest = cond.evaluated
    return newest


def _assess_in_order(state: GatewayState, info: SensorInfo, book: PlanBook,
                     items: list[tuple[float, float | None]], received: datetime,
                     skip_quiet: bool) -> list[ConditionChange]:
    """New readings all newer than the sensor's newest: add each and assess at its time, in
    order (a quiet sensor is not assessed while its readings stay within its bound)."""
    sid = info.sensor_id
    sensor_state, quiet = state.states[sid], state.quiet
    changes: list[ConditionChange] = []
    skipped: float | None = None
    for i, (t, value) in enumerate(items):
        if value is not None:
            sensor_state.add(t, value)
            q = quiet.get(sid)
            if q is not None:
                q[0] -= value
                if value < 0 or q[0] <= 0 or value >= q[1]:
                    del quiet[sid]
        if skip_quiet and sid in quiet:
            skipped = t  # no trigger can have started to hold: nothing to send
            continue
        changes.extend(_assess_sensor(state, info, book, [t], None, received,
                                      last=i == len(items) - 1))
    if skipped is not None:  # the course has seen these reading times all the same
        for cond in state.conditions.get(sid, {}).values():
            if cond.evaluated is None or skipped > cond.evaluated:
                cond.reading = cond.evaluated = skipped
    return changes


def _reassess(state: GatewayState, info: SensorInfo, book: PlanBook,
              items: list[tuple[float, float | None]], received: datetime
              ) -> list[ConditionChange]:
    """Readings older than the sensor's newest: add them, then assess every reading time from
    the oldest of them on again (:func:`contingency_plans.course.run` with ``revise_from``)."""
    sid = info.sensor_id
    sensor_state = state.states[sid]
    for t, value in items:
        if value is not None:
            sensor_state.add(t, value)
    state.quiet.pop(sid, None)
    return _assess_sensor(state, info, book, list(state.memory[sid].seen), items[0][0],
                          received, last=True)


def process_tick(state: GatewayState, registry: Registry, book: PlanBook, now: float,
                 received: datetime) -> list[ConditionChange]:
    """A timer's tick at wall-clock ``now``: assess the silence points of every sensor still
    at a level or stepping down (the plans' ``missing_data`` rule), exactly as the backtest
    assesses them between and after readings.

    Silence is measured in real time: a sensor last heard from (its newest reading received)
    ``s`` seconds ago is silent in event time until its newest reading's time + ``s``. So a
    backlog replayed now is not silence, and a gateway that stopped is."""
    changes: list[ConditionChange] = []
    for sid, conds in state.conditions.items():
        info = registry.sensors.get(sid)
        heard = state.watch.sensor_heard(sid)
        sensor_state = state.states.get(sid)
        last = None if sensor_state is None else sensor_state.latest()
        if info is None or heard is None or last is None:
            continue
        until = last[0] + max(0.0, now - heard)
        plans = [plan for plan in book.for_kind(info.kind) if plan.id in conds]
        if all(course.quiet(plan, info, conds[plan.id], conds[plan.id].evaluated or 0.0)
               for plan in plans):
            continue
        if all((conds[p.id].evaluated or 0.0) >= until for p in plans):
            continue
        changes.extend(_assess_sensor(state, info, book, [], None, received, last=True,
                                      until=until))
    _mark_last(changes)
    return changes


def _assess_sensor(state: GatewayState, info: SensorInfo, book: PlanBook, points: list[float],
                   revise: float | None, received: datetime, *, last: bool,
                   until: float | None = None) -> list[ConditionChange]:
    """Run the sensor's course under each plan over ``points`` (reading times; ``until``: and
    the silence points up to then); ``last``: these are the message's last points for the
    sensor (its conditions then end the message's news)."""
    sid = info.sensor_id
    sensor_state = state.states[sid]
    conds = state.conditions.setdefault(sid, {})
    plans = book.for_kind(info.kind)
    horizon = book.horizon(info.kind)
    changes: list[ConditionChange] = []
    all_quiet = True
    for plan in plans:
        cond = conds.get(plan.id)
        if cond is None:
            cond = conds[plan.id] = Condition()
        sent = course.run(plan, info, sensor_state, cond, points, revise_from=revise,
                          until=until, horizon_s=horizon)
        region = region_of(plan, info)
        if sent:  # one event: the region takes a sensor's news of a message at once
            c = sent[0]
            changes.append(ConditionChange(
                plan=plan.id, region=region, sensor=sid, kind=info.kind,
                level=c.level, stale=c.stale, ts=datetime.fromtimestamp(c.t, UTC),
                evidence=c.evidence,
                revise_from=None if c.revise_from is None else
                datetime.fromtimestamp(c.revise_from, UTC),
                marker=c.marker, received=received, last_of_message=last,
                more=[{"t": m.t, "level": m.level.value, "stale": m.stale,
                       "evidence": m.evidence} for m in sent[1:]]))
        all_quiet = all_quiet and course.quiet(plan, info, cond, cond.evaluated or 0.0)
    if all_quiet and revise is None and points:
        t = points[-1]
        bound = combine_any([sensor_bound(plan, info, sensor_state, t) for plan in plans])
        if bound is not None:
            state.quiet[sid] = [bound[0], bound[1]]
    return changes
