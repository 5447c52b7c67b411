"""Incidents: list and detail (alerts, timeline, tasks, delivery log)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel

from api.data import alerts as alert_repo
from api.data import incidents as repo
from api.data import tasks as task_repo
from api.deps import CurrentUser, DbConn
from api.evidence import evidence_sensors
from api.timeline import TimelineEntry, build_timeline

router = APIRouter(prefix="/incidents", tags=["incidents"])


class Incident(BaseModel):
    incident_id: str
    plan: str
    hazard: str
    region: str
    level: str
    status: str
    last_change: str
    opened_at: datetime
    updated_at: datetime
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    exercise: bool = False


class IncidentDetail(Incident):
    evidence: dict[str, Any]
    evidence_sensors: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    deliveries: list[dict[str, Any]]
    timeline: list[TimelineEntry]


@router.get("", response_model=list[Incident])
def list_incidents(
    user: CurrentUser, conn: DbConn,
    status_: Annotated[Literal["active", "open", "acknowledged", "resolved"] | None,
                       Query(alias="status")] = None,
    region: Annotated[str | None, Query(pattern=r"^\d{6}(\d{3}){0,2}(-G\d+)?$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[Incident]:
    """Incidents in your area, most recently changed first."""
    scope = user.scope_for(region)
    rows = repo.list_incidents(conn, scope, status=status_, limit=limit)
    return [Incident(**{k: r[k] for k in Incident.model_fields}) for r in rows]


@router.get("/{incident_id:path}", response_model=IncidentDetail)
def get_incident(incident_id: Annotated[str, Path(max_length=128)], user: CurrentUser,
                 conn: DbConn) -> IncidentDetail:
    """One incident with its alerts, tasks, delivery log and timeline."""
    row = repo.get_incident(conn, incident_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id}")
    user.check_region(row["region"])
    timeline = build_timeline(repo.timeline_rows(conn, incident_id, row["plan"], row["region"],
                                                 row["opened_at"], row["resolved_at"]))
    return IncidentDetail(
        **{k: row[k] for k in Incident.model_fields}, evidence=row["evidence"] or {},
        evidence_sensors=evidence_sensors(row["evidence"]),
        alerts=alert_repo.alerts_of_incident(conn, incident_id),
        tasks=task_repo.list_tasks(conn, row["region"], incident_id=incident_id),
        deliveries=alert_repo.deliveries(conn, incident_id), timeline=timeline)
