"""Sensors and gateways: the registry (settings.sensors_file) joined with stored state."""

from __future__ import annotations

from datetime import datetime, timedelta

from api.data.rows import Conn, Row, fetch_all
from api.scope import scope_sql

HOURLY_AFTER = timedelta(hours=48)  # longer ranges come from the hourly view


def latest(conn: Conn, scope: str) -> dict[str, Row]:
    """The newest stored reading of each sensor in the subtree, by sensor id."""
    rows = fetch_all(conn, "SELECT sensor_id, ts, kind, value, region, gateway_id, flags "
                     f"FROM readings_latest WHERE {scope_sql('region')}", {"scope": scope})
    return {r["sensor_id"]: r for r in rows}


def gateway_status(conn: Conn) -> dict[str, Row]:
    return {r["gateway_id"]: r for r in
            fetch_all(conn, "SELECT gateway_id, status, at FROM gateway_status")}


def history(conn: Conn, sensor_id: str, since: datetime, until: datetime,
            limit: int = 5000) -> tuple[str, list[Row]]:
    """(resolution, points) of a sensor between ``since`` and ``until``: raw readings for
    ranges up to 48 h, hourly means beyond."""
    params = {"s": sensor_id, "since": since, "until": until, "limit": limit}
    if until - since <= HOURLY_AFTER:
        return "raw", fetch_all(conn, "SELECT ts, value, flags FROM readings WHERE "
                                "sensor_id = %(s)s AND ts >= %(since)s AND ts < %(until)s "
                                "ORDER BY ts LIMIT %(limit)s", params)
    return "hourly", fetch_all(conn, "SELECT bucket AS ts, avg AS value, min, max, n FROM "
                               "readings_hourly WHERE sensor_id = %(s)s AND bucket >= %(since)s "
                               "AND bucket < %(until)s ORDER BY bucket LIMIT %(limit)s", params)
