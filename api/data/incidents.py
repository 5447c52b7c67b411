"""Incident queries: list, one incident, and the raw material of its timeline."""

from __future__ import annotations

from datetime import datetime

from anlan.exercise import is_exercise
from api.data.rows import Conn, Row, fetch_all, fetch_one
from store import queries

_COLUMNS = ("incident_id, plan, hazard, region, level, status, last_change, opened_at, "
            "updated_at, acknowledged_by, resolved_at, exercise")


def list_incidents(conn: Conn, scope: str, *, status: str | None = None,
                   limit: int = 100) -> list[Row]:
    """Incidents in the subtree, most recently changed first (``store.queries``)."""
    return queries.list_incidents(conn, region=scope, status=status, limit=limit)


def get_incident(conn: Conn, incident_id: str) -> Row | None:
    return fetch_one(conn, f"SELECT {_COLUMNS}, evidence FROM incidents "
                     "WHERE incident_id = %(id)s", {"id": incident_id})


def timeline_rows(conn: Conn, incident_id: str, plan: str, region: str,
                  start: datetime, end: datetime | None) -> dict[str, list[Row]]:
    """Everything that happened to an incident, per source table (merged by api.timeline)."""
    p = {"id": incident_id, "plan": plan, "region": region, "start": start, "end": end,
         "exercise": is_exercise(incident_id)}  # a drill's signals are the drill's only
    return {
        "events": fetch_all(conn, "SELECT ts, change, level, previous, status, actor "
                            "FROM incident_events WHERE incident_id = %(id)s", p),
        "signals": fetch_all(conn, "SELECT ts, level, previous, evidence FROM signals WHERE "
                             "plan = %(plan)s AND region = %(region)s AND "
                             "exercise = %(exercise)s AND "
                             "ts >= %(start)s - interval '1 hour' AND "
                             "(%(end)s::timestamptz IS NULL OR ts <= %(end)s)", p),
        "alerts": fetch_all(conn, "SELECT sent AS ts, alert_id, msg_type, level, tier, headline "
                            "FROM alerts WHERE incident_id = %(id)s", p),
        "deliveries": fetch_all(conn, "SELECT at AS ts, recipient, channel, attempt, outcome, "
                                "error FROM deliveries WHERE incident_id = %(id)s", p),
        "commands": fetch_all(conn, "SELECT ts, kind, actor, detail FROM commands "
                              "WHERE target = %(id)s", p),
        "tasks": fetch_all(conn, "SELECT e.ts, e.state, t.task_id, t.kind, t.title FROM "
                           "task_events e JOIN tasks t ON t.task_id = e.task_id "
                           "WHERE t.incident_id = %(id)s", p),
        "too_late": too_late(conn, region, start, end),
    }


def too_late(conn: Conn, region: str, start: datetime, end: datetime | None) -> list[Row]:
    """Readings of the region that arrived during the incident too late to be assessed (older
    than the assessment's horizon: stored, flagged ``too_late``), per gateway."""
    return fetch_all(conn, "SELECT gateway_id, count(*) AS n, min(ts) AS oldest, "
                     "max(ts) AS newest, max(received_at) AS ts FROM readings "
                     "WHERE 'too_late' = ANY(flags) AND (region = %(region)s OR "
                     "region LIKE %(prefix)s) AND ts >= %(start)s - interval '15 days' AND "
                     "received_at >= %(start)s AND (%(end)s::timestamptz IS NULL OR "
                     "received_at <= %(end)s) GROUP BY gateway_id",
                     {"region": region, "prefix": region.split("-G")[0] + "%",
                      "start": start, "end": end})
