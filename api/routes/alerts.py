"""Alerts: list, detail (evidence, timeline, delivery log), ack / resolve / escalate, manual.

Actions never change state here: each becomes a :class:`anlan.events.Command` on
``anlan.commands`` keyed by the incident id; the stream workers apply it and the sinks write the
result, which the list and detail then show (and ``/stream`` announces).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Path, Query, status
from pydantic import AwareDatetime, BaseModel, Field

from anlan.exercise import scoped_key
from api.commands import send_command
from api.data import alerts as repo
from api.data import audit
from api.data import incidents as incident_repo
from api.deps import ActingUser, CurrentUser, DbConn, State, User
from api.evidence import evidence_sensors
from api.plan_lookup import plan_for_hazard
from api.timeline import TimelineEntry, build_timeline
from api.validation import RequestBody

router = APIRouter(prefix="/alerts", tags=["alerts"])
LevelName = Literal["IV", "III", "II", "I"]
REGION = r"^\d{6}(\d{3}){0,2}(-G\d+)?$"
# ids carry "#", ":" and (through sensor ids) maybe "/": `:path` routes them percent-encoded
AlertId = Annotated[str, Path(max_length=128, description="the alert id, percent-encoded")]


class AlertSummary(BaseModel):
    alert_id: str
    incident_id: str
    msg_type: str
    cap_status: str
    plan: str
    hazard: str
    region: str
    level: str
    previous: str
    tier: int
    sent: datetime
    headline: str
    status: str = Field(description="duty status of the incident: open, acknowledged, resolved")
    acknowledged_by: str | None = None
    exercise: bool = False
    onset: datetime | None = Field(None, description="event time of the crossing")
    detected: datetime | None = Field(None, description="when the data showing it arrived")
    late: bool = Field(False, description="a late notice (补报): reached and over when found")


class Delivery(BaseModel):
    delivery_id: str
    alert_id: str
    recipient: str
    channel: str
    attempt: int
    outcome: str
    error: str | None = None
    at: datetime


class AlertDetail(AlertSummary):
    description: str
    instruction: str
    evidence: dict[str, Any]
    evidence_sensors: list[dict[str, Any]]
    references: list[str]
    incident: dict[str, Any] | None
    timeline: list[TimelineEntry]
    deliveries: list[Delivery]


class CommandAccepted(BaseModel):
    command_id: str
    kind: str
    target: str
    status: str = "accepted"


class ActionBody(RequestBody):
    note: str = Field("", max_length=500)


class EscalateBody(ActionBody):
    level: LevelName | None = Field(None, description="raise to this level (default: one up)")


class ManualAlert(RequestBody):
    region: str = Field(pattern=REGION)
    hazard: str = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")
    level: LevelName
    headline: str = Field(min_length=1, max_length=160)
    description: str = Field("", max_length=4000)
    instruction: str = Field("", max_length=2000)
    plan: str | None = Field(None, max_length=64, pattern=r"^[a-z][a-z0-9_]*$",
                             description="default: the plan for the hazard")
    exercise: bool = Field(False, description="a drill (the incident and alerts are Exercise)")


def _summary(row: dict[str, Any]) -> AlertSummary:
    return AlertSummary(**{k: row[k] for k in AlertSummary.model_fields})


def _scoped_alert(conn: DbConn, user: User, alert_id: str) -> dict[str, Any]:
    row = repo.get_alert(conn, alert_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id}")
    user.check_region(row["region"])
    return row


@router.get("", response_model=list[AlertSummary])
def list_alerts(
    user: CurrentUser, conn: DbConn,
    level: Annotated[list[LevelName] | None, Query(description="one or more levels")] = None,
    status_: Annotated[Literal["active", "open", "acknowledged", "resolved"] | None,
                       Query(alias="status")] = None,
    region: Annotated[str | None, Query(pattern=REGION)] = None,
    since: AwareDatetime | None = None, until: AwareDatetime | None = None,
    latest: Annotated[bool, Query(description="one row per incident (its newest alert)")] = True,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[AlertSummary]:
    """Alerts in your area (or the sub-region ``region``), newest first."""
    scope = user.scope_for(region)
    rows = repo.list_alerts(conn, repo.AlertFilter(
        scope=scope, levels=tuple(level or ()), status=status_, since=since, until=until,
        latest_only=latest, limit=limit, offset=offset))
    return [_summary(r) for r in rows]


@router.get("/{alert_id:path}", response_model=AlertDetail)
def get_alert(alert_id: AlertId, user: CurrentUser,
              conn: DbConn) -> AlertDetail:
    """One alert with its evidence, its incident's timeline and the delivery log."""
    row = _scoped_alert(conn, user, alert_id)
    incident = incident_repo.get_incident(conn, row["incident_id"])
    start = incident["opened_at"] if incident else row["sent"]
    end = incident["resolved_at"] if incident else None
    timeline = build_timeline(incident_repo.timeline_rows(
        conn, row["incident_id"], row["plan"], row["region"], start, end))
    return AlertDetail(
        **_summary(row).model_dump(), description=row["description"],
        instruction=row["instruction"], evidence=row["evidence"] or {},
        evidence_sensors=evidence_sensors(row["evidence"]), references=row["references"],
        incident=incident, timeline=timeline,
        deliveries=[Delivery(**d) for d in repo.deliveries(conn, row["incident_id"])])


IdemKey = Annotated[str | None, Header(
    alias="Idempotency-Key", max_length=128,
    description="retry with the same key: the same command (applied once)")]


def _act(kind: str, alert_id: str, body: ActionBody, user: User, conn: DbConn,
         state: State, extra: dict[str, Any] | None = None,
         idem: str | None = None) -> CommandAccepted:
    row = _scoped_alert(conn, user, alert_id)
    if row["status"] == "resolved":
        raise HTTPException(status.HTTP_409_CONFLICT, "the incident is already resolved")
    detail = {"alert_id": alert_id, "note": body.note, "via": "api", **(extra or {})}
    cmd = send_command(state, kind, row["incident_id"], user.username, detail,
                       idempotency_key=idem)
    audit.record(conn, user.username, kind, row["incident_id"], detail,
                 dedup_key=f"cmd:{cmd.command_id}")
    return CommandAccepted(command_id=cmd.command_id, kind=kind, target=cmd.target)


@router.post("/{alert_id:path}/ack", response_model=CommandAccepted,
             status_code=status.HTTP_202_ACCEPTED)
def ack(alert_id: AlertId, user: ActingUser, conn: DbConn, state: State, idem: IdemKey = None,
        body: ActionBody | None = None) -> CommandAccepted:
    """Acknowledge the alert's incident (stops the escalation clock)."""
    return _act("ack", alert_id, body or ActionBody(note=""), user, conn, state, idem=idem)


@router.post("/{alert_id:path}/resolve", response_model=CommandAccepted,
             status_code=status.HTTP_202_ACCEPTED)
def resolve(alert_id: AlertId, user: ActingUser, conn: DbConn, state: State,
            idem: IdemKey = None, body: ActionBody | None = None) -> CommandAccepted:
    """Resolve the alert's incident (a Cancel alert follows)."""
    return _act("resolve", alert_id, body or ActionBody(note=""), user, conn, state, idem=idem)


@router.post("/{alert_id:path}/escalate", response_model=CommandAccepted,
             status_code=status.HTTP_202_ACCEPTED)
def escalate(alert_id: AlertId, user: ActingUser, conn: DbConn, state: State,
             idem: IdemKey = None, body: EscalateBody | None = None) -> CommandAccepted:
    """Escalate the incident (to ``level``, or notify the next tier up)."""
    body = body or EscalateBody(note="", level=None)
    extra = {"level": body.level} if body.level else {}
    return _act("escalate", alert_id, body, user, conn, state, extra, idem=idem)


@router.post("", response_model=CommandAccepted, status_code=status.HTTP_202_ACCEPTED)
def manual_alert(body: ManualAlert, user: ActingUser, conn: DbConn, state: State,
                 idem: IdemKey = None) -> CommandAccepted:
    """Issue an alert by hand for a region in your area: a ``manual_alert`` command keyed by
    ``plan:region``; the worker opens the incident of that plan and region, or raises it to
    ``level``, and issues the alert. With ``exercise`` it is a ``drill`` command for the
    exercise scope (``EXERCISE:plan:region``): the drill's own incident, ``Exercise`` alerts
    saying 【演练】 and exercise tasks — never a real incident's."""
    user.check_region(body.region)
    kind = "drill" if body.exercise else "manual_alert"
    plan = body.plan or plan_for_hazard(state.settings.plans_dir, body.hazard)
    target = scoped_key(f"{plan}:{body.region}", body.exercise)
    detail = {**body.model_dump(), "via": "api"}
    cmd = send_command(state, kind, target, user.username, detail, idempotency_key=idem)
    audit.record(conn, user.username, kind, target, detail, dedup_key=f"cmd:{cmd.command_id}")
    return CommandAccepted(command_id=cmd.command_id, kind=kind, target=target)
