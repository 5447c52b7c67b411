"""Build the incident events, CAP-style alerts and tasks an incident transition emits."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from anlan.events import Alert, IncidentEvent, Level, Task
from anlan.exercise import cap_status
from streams.incidents.model import Incident
from streams.incidents.planview import LevelActions, PlanView

MsgType = Literal["Alert", "Update", "Cancel"]
BEIJING = timezone(timedelta(hours=8))


def make_event(cur: Incident, change: str, previous: Level, ts: datetime, actor: str | None,
               evidence: dict[str, Any], level: Level | None = None,
               status: str | None = None) -> IncidentEvent:
    """The ``anlan.incidents`` event of a transition."""
    return IncidentEvent(
        incident_id=cur.incident_id, plan=cur.plan, hazard=cur.hazard, region=cur.region,
        change=change, level=cur.level if level is None else level,  # type: ignore[arg-type]
        previous=previous, status=status or cur.status,  # type: ignore[arg-type]
        ts=ts, actor=actor, evidence=evidence, exercise=cur.exercise)


def make_alert(cur: Incident, plan: PlanView, msg_type: MsgType, previous: Level,
               ts: datetime, evidence: dict[str, Any]) -> Alert:
    """The next CAP message of the incident; its id is deterministic (incident id + ordinal)
    and it references every earlier message of the incident. Records the id in ``cur``."""
    alert_id = f"{cur.incident_id}#{len(cur.alerts) + 1}"
    level = Level.NONE if msg_type == "Cancel" else cur.level
    shown = previous if msg_type == "Cancel" else cur.level
    actions = plan.actions(shown)
    name = plan.name or plan.plan_id
    if msg_type == "Cancel":
        headline = f"{cur.region}{name}{shown.colour_zh}预警解除"
        description = f"{cur.region}：{name}{shown.colour_zh}预警解除。"
        instruction = ""
    else:
        headline = actions.headline or f"{name}{shown.colour_zh}预警（{shown.value}级）"
        verb = {"Alert": "发布", "Update": "调整为"}[msg_type]
        description = actions.description or f"{cur.region}：{verb}{name}{shown.colour_zh}预警。"
        description += _evidence_text(evidence)
        instruction = actions.instruction
    alert = Alert(
        alert_id=alert_id, incident_id=cur.incident_id, msg_type=msg_type,
        references=list(cur.alerts), status=cap_status(cur.exercise),
        plan=cur.plan, hazard=cur.hazard, region=cur.region, level=level, previous=previous,
        sent=ts, onset=_onset(evidence, ts), detected=_detected(evidence), headline=headline, description=description, instruction=instruction,
        evidence=_with_plan_fields(evidence, actions),
        notify=[dict(n) for n in actions.notify] if msg_type != "Cancel"
        else [dict(n) for n in plan.actions(previous).notify],
        ack_timeout_s=actions.ack_timeout_s if msg_type != "Cancel" else None)
    cur.alerts.append(alert_id)
    return alert


OFFICERS = ("duty_officer",)
"""Who a late notice goes to."""


def make_late_alert(cur: Incident, plan: PlanView, signal: Any, evidence: dict[str, Any],
                    msg_type: MsgType) -> Alert:
    """The 【补报】 message of a level reached at ``signal.ts`` and already over: to the duty
    officers of the level's tiers only, with the real onset. Records its id in ``cur``."""
    alert_id = f"{cur.incident_id}#{len(cur.alerts) + 1}"
    level = signal.level
    actions = plan.actions(level)
    name = plan.name or plan.plan_id
    onset = signal.ts.astimezone(BEIJING).strftime("%m-%d %H:%M")
    notify = [dict(n) for n in actions.notify if n.get("role") in OFFICERS] or [
        {"role": "duty_officer", "tier": "township"}]
    alert = Alert(
        alert_id=alert_id, incident_id=cur.incident_id, msg_type=msg_type,
        references=list(cur.alerts), status="Exercise" if cur.exercise else "Actual",
        plan=cur.plan, hazard=cur.hazard, region=cur.region, level=level,
        previous=signal.previous, sent=signal.detected or signal.ts,
        headline=f"{cur.region}{name}{level.colour_zh}预警（补报：{onset}已达到，现已解除）",
        description=f"{cur.region}：迟到的数据表明{onset}（北京时间）已达到{name}"
                    f"{level.colour_zh}预警标准，该级别现已不再维持。仅通报值班人员，请核实并"
                    f"记录。" + _evidence_text(evidence),
        instruction="", evidence={**evidence, **({"cap": actions.cap} if actions.cap else {})},
        notify=notify, ack_timeout_s=None, late=True, onset=signal.ts,
        detected=signal.detected)  # no re-notification, no escalation: a record to check
    cur.alerts.append(alert_id)
    return alert


def make_tasks(cur: Incident, plan: PlanView, ts: datetime) -> list[Task]:
    """The tasks of the incident's current level not created before (ids are deterministic)."""
    out: list[Task] = []
    for spec in plan.actions(cur.level).tasks:
        task_id = f"{cur.incident_id}:{spec.kind}:{cur.level.value}"
        if task_id in cur.tasks:
            continue
        cur.tasks.append(task_id)
        out.append(Task(
            task_id=task_id, incident_id=cur.incident_id, kind=spec.kind,  # type: ignore[arg-type]
            state="open", region=cur.region, title=spec.title, quota=spec.quota,
            skills=list(spec.skills), ts=ts,
            deadline=ts + timedelta(seconds=spec.deadline_s) if spec.deadline_s else None,
            detail={"plan": cur.plan, "level": cur.level.value, **spec.detail},
            exercise=cur.exercise))
    return out


def _with_plan_fields(evidence: dict[str, Any], actions: LevelActions) -> dict[str, Any]:
    """The evidence plus what the dispatcher takes from the plan level: its CAP fields
    (``cap``) and re-notification interval (``renotify_interval_s``)."""
    out = dict(evidence)
    if actions.cap:
        out["cap"] = actions.cap
    if actions.renotify_s:
        out["renotify_interval_s"] = actions.renotify_s
    return out


def _onset(evidence: dict[str, Any], ts: datetime) -> datetime:
    raw = evidence.get("onset")
    return datetime.fromisoformat(raw) if isinstance(raw, str) else ts


def _detected(evidence: dict[str, Any]) -> datetime | None:
    raw = evidence.get("detected")
    return datetime.fromisoformat(raw) if isinstance(raw, str) else None


def _evidence_text(evidence: dict[str, Any]) -> str:
    summary = evidence.get("summary")
    return f"{summary}" if isinstance(summary, str) and summary else ""
