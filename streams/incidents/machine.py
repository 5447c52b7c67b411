"""The incident state machine of one plan + region (pure, idempotent).

Signals carry the assessed level of a plan for a region (the plans' level tracker already did
escalate-at-once, hysteresis, hold and quiet-before-clear, which is what suppresses flapping).
Here: no incident and a level → open; a higher level → escalate; a lower one → de-escalate;
``none`` → clear. Commands: ack, resolve, escalate (manual, sets a floor automatic signals do not
go below), manual_alert and drill (open or raise by hand). Every transition is decided from the
state alone — a replayed signal or command is a no-op, and ids are deterministic, so a replay
that escapes the state still yields the same ids.

A slot belongs to one scope (:mod:`anlan.exercise`): the real one, or the exercise scope of
drills, whose incidents, alerts (``Exercise``) and tasks are its own. A signal or command of the
other scope is never applied to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from anlan.events import Alert, Command, IncidentEvent, Level, Signal, Task
from streams.incidents.messages import make_alert, make_event, make_late_alert, make_tasks
from streams.incidents.model import (
    MAX_CLOSED,
    MAX_REMEMBERED,
    Incident,
    command_target,
    incident_id_for,
    incident_slot_key,
    parse_target,
)
from streams.incidents.planview import PlanView


@dataclass
class Outputs:
    """What one transition emits."""

    incidents: list[IncidentEvent] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    rejected: str | None = None  # reason a command could not apply (dead letter)

    def __bool__(self) -> bool:
        return bool(self.incidents or self.alerts or self.tasks or self.rejected)


@dataclass
class Slot:
    """Everything about one plan + region (the value of the incidents table)."""

    plan: str
    region: str
    current: Incident | None = None
    signal_level: Level = Level.NONE
    signal_ts: float | None = None
    closed: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    signals: list[str] = field(default_factory=list)  # identities of unnumbered signals
    signal_seq: int = 0  # the region's number of the last signal applied
    exercise: bool = False  # the drills' slot of this plan + region (anlan.exercise)

    @property
    def key(self) -> str:
        """Its table key (scoped: the real and the exercise slot never share state)."""
        return incident_slot_key(self.plan, self.region, self.exercise)

    def to_dict(self) -> dict[str, Any]:
        return {"plan": self.plan, "region": self.region,
                "current": self.current.to_dict() if self.current else None,
                "signal_level": self.signal_level.value, "signal_ts": self.signal_ts,
                "closed": self.closed, "commands": self.commands, "signals": self.signals,
                "signal_seq": self.signal_seq, "exercise": self.exercise}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Slot:
        current = data.get("current")
        return cls(plan=data["plan"], region=data["region"],
                   current=Incident.from_dict(current) if current else None,
                   signal_level=Level(data.get("signal_level", "none")),
                   signal_ts=data.get("signal_ts"), closed=list(data.get("closed", [])),
                   commands=list(data.get("commands", [])),
                   signals=list(data.get("signals", [])),
                   signal_seq=int(data.get("signal_seq", 0)),
                   exercise=bool(data.get("exercise", False)))


def apply_signal(slot: Slot, signal: Signal, plan: PlanView) -> Outputs:
    """Apply an assessed level change; a signal applied before is a no-op.

    A region numbers its signals (``seq``) in the order it decided them; each number is applied
    once (a region that re-assessed a backlog may announce a level whose onset is older than the
    last one's, and may announce the same change again after learning more, so neither the time
    nor the content tells a repeat). Unnumbered signals fall back to their identity. A ``late``
    signal (a level reached and already over when found) does not move the incident: it is
    recorded on it and told to the duty officers as a late notice. Signals of the other scope
    (a drill's for a real slot, a real one for a drill's) are no-ops."""
    if signal.exercise != slot.exercise:
        return Outputs()
    if signal.seq:
        if signal.seq <= slot.signal_seq:
            return Outputs()
        slot.signal_seq = signal.seq
    else:
        identity = f"{signal.ts.timestamp()}|{signal.previous.value}|{signal.level.value}|" \
                   f"{int(signal.late)}"
        if identity in slot.signals:
            return Outputs()
        slot.signals.append(identity)
        del slot.signals[:-MAX_REMEMBERED]
    evidence = {**signal.evidence, "onset": signal.ts.isoformat()}
    if signal.detected is not None:
        evidence["detected"] = signal.detected.isoformat()
    if signal.late:
        return late_notice(slot, signal, plan, evidence)
    slot.signal_level, slot.signal_ts = signal.level, signal.ts.timestamp()
    floor = slot.current.manual_floor if slot.current else Level.NONE
    return _move(slot, max(signal.level, floor), signal.ts, plan, None, evidence)


def late_notice(slot: Slot, signal: Signal, plan: PlanView, evidence: dict[str, Any]
                ) -> Outputs:
    """A level the data show was reached at ``signal.ts`` and is already over: recorded on
    the open incident (or on its own, closed on arrival) and sent to the duty officers only
    (【补报】, CAP Update of the open incident with the real onset)."""
    cur = slot.current
    record = cur if cur is not None else Incident(
        incident_id=incident_id_for(slot.plan, slot.region, signal.ts), plan=slot.plan,
        hazard=plan.hazard, region=slot.region, level=signal.level,
        opened_at=signal.ts.isoformat())
    evidence = {**evidence, "late": True, "late_level": signal.level.value}
    out = Outputs(incidents=[make_event(record, "late_notice", signal.previous, signal.ts, None,
                                        evidence, level=signal.level,
                                        status=None if cur else "resolved")])
    out.alerts.append(make_late_alert(record, plan, signal, evidence,
                                      "Update" if cur is not None and cur.alerts else "Alert"))
    return out


def apply_command(slot: Slot, command: Command, plan: PlanView) -> Outputs:
    """Apply a duty officer's command; a command applied before is a no-op, a command of the
    other scope is rejected (a drill never raises, updates or cancels a real incident)."""
    if command.command_id in slot.commands:
        return Outputs()
    target = command_target(command.kind, command.target)
    if target is not None and target.exercise != slot.exercise:
        return Outputs(rejected=f"{command.kind}: {command.target} is "
                       f"{'a drill' if target.exercise else 'real'}, the incident "
                       f"{slot.key} is not")
    out = _command(slot, command, plan)
    if not out.rejected:
        slot.commands.append(command.command_id)
        del slot.commands[:-MAX_REMEMBERED]
    return out


def _command(slot: Slot, cmd: Command, plan: PlanView) -> Outputs:
    cur = slot.current
    targets_current = cur is not None and cmd.target in (cur.incident_id, _slot_target(slot))
    if cmd.kind in ("ack", "resolve", "escalate") and not targets_current:
        if cmd.target in slot.closed:
            return Outputs()  # late command for a closed incident
        return Outputs(rejected=f"{cmd.kind}: no open incident {cmd.target}")
    evidence = {"command": cmd.command_id, "by": cmd.actor, **cmd.detail}
    if cmd.kind == "ack":
        assert cur is not None
        if cur.status == "acknowledged":
            return Outputs()
        cur.status = "acknowledged"
        return Outputs(incidents=[make_event(cur, "acknowledged", cur.level, cmd.ts, cmd.actor,
                                             evidence)])
    if cmd.kind == "resolve":
        assert cur is not None
        return _close(slot, "resolved", cmd.ts, plan, cmd.actor, evidence)
    requested = _requested_level(cmd.detail, cur.level if cur else Level.NONE)
    if requested is None:
        return Outputs(rejected=f"{cmd.kind}: detail.level is not a warning level")
    if cmd.kind == "escalate":
        assert cur is not None
        if requested <= cur.level:
            return Outputs()
    if cmd.kind in ("manual_alert", "drill") and parse_target(cmd.target) is None:
        return Outputs(rejected=f"{cmd.kind}: target must be plan:region")
    if cur is not None:
        cur.manual_floor = max(cur.manual_floor, requested)
    return _move(slot, max(requested, cur.level if cur else Level.NONE), cmd.ts, plan,
                 cmd.actor, evidence, manual=True)


def _slot_target(slot: Slot) -> str:
    return slot.key


def _requested_level(detail: dict[str, Any], current: Level) -> Level | None:
    raw = detail.get("level")
    if raw is None:
        return Level.from_rank(max(current.rank + 1, 1))
    for level in Level:
        if raw in (level.value, level.colour, level.rank) and level is not Level.NONE:
            return level
    return None


def _move(slot: Slot, target: Level, ts: datetime, plan: PlanView, actor: str | None,
          evidence: dict[str, Any], manual: bool = False) -> Outputs:
    cur = slot.current
    if cur is None:
        return _open(slot, target, ts, plan, actor, evidence, manual) \
            if target > Level.NONE else Outputs()
    if target == cur.level:
        return Outputs()
    if target == Level.NONE:
        return _close(slot, "cleared", ts, plan, actor, evidence)
    previous, cur.level = cur.level, target
    change = "escalated" if target > previous else "de-escalated"
    out = Outputs(incidents=[make_event(cur, change, previous, ts, actor, evidence)])
    out.alerts.append(make_alert(cur, plan, "Update", previous, ts, evidence))
    if target > previous:
        out.tasks.extend(make_tasks(cur, plan, ts))
    return out


def _open(slot: Slot, level: Level, ts: datetime, plan: PlanView, actor: str | None,
          evidence: dict[str, Any], manual: bool) -> Outputs:
    cur = Incident(incident_id=incident_id_for(slot.plan, slot.region, ts, slot.exercise),
                   plan=slot.plan, hazard=plan.hazard, region=slot.region, level=level,
                   opened_at=ts.isoformat(), manual_floor=level if manual else Level.NONE,
                   exercise=slot.exercise)
    slot.current = cur
    out = Outputs(incidents=[make_event(cur, "opened", Level.NONE, ts, actor, evidence)])
    out.alerts.append(make_alert(cur, plan, "Alert", Level.NONE, ts, evidence))
    out.tasks.extend(make_tasks(cur, plan, ts))
    return out


def _close(slot: Slot, change: str, ts: datetime, plan: PlanView, actor: str | None,
           evidence: dict[str, Any]) -> Outputs:
    cur = slot.current
    assert cur is not None
    out = Outputs(incidents=[make_event(cur, change, cur.level, ts, actor, evidence,
                                        level=Level.NONE, status="resolved")])
    out.alerts.append(make_alert(cur, plan, "Cancel", cur.level, ts, evidence))
    slot.current = None
    slot.closed.append(cur.incident_id)
    del slot.closed[:-MAX_CLOSED]
    return out
