"""Alerts for the CAP endpoints: raw alert events, and the dispatcher's stored CAP XML."""

from __future__ import annotations

from datetime import datetime

from api.data.rows import Conn, Row, fetch_all, fetch_one
from api.scope import scope_params, scope_sql


def alert_raw(conn: Conn, alert_id: str) -> Row | None:
    """The alert's stored event (``raw``) and the CAP XML the dispatcher sent, if any."""
    return fetch_one(conn, "SELECT a.alert_id, a.incident_id, a.region, a.raw, d.cap_xml FROM "
                     "alerts a LEFT JOIN dispatch_alerts d ON d.alert_id = a.alert_id "
                     "WHERE a.alert_id = %(id)s", {"id": alert_id})


def earlier_alerts(conn: Conn, incident_id: str) -> list[Row]:
    return fetch_all(conn, "SELECT alert_id, raw FROM alerts WHERE incident_id = %(id)s",
                     {"id": incident_id})


def feed_alerts(conn: Conn, scope: str, since: datetime, limit: int) -> list[Row]:
    """Actual alerts in the subtree sent since ``since``, newest first."""
    return fetch_all(conn, "SELECT alert_id, incident_id, msg_type, region, level, hazard, "
                     "headline, description, sent FROM alerts WHERE status = 'Actual' AND "
                     f"sent >= %(since)s AND {scope_sql('region')} ORDER BY sent DESC "
                     "LIMIT %(limit)s", {**scope_params(scope), "since": since, "limit": limit})
