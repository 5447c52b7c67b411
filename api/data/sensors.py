"""Sensors and gateways: stored readings and statuses (via ``store.queries`` where it offers
the query; the gateway status read is ours)."""

from __future__ import annotations

from datetime import datetime, timedelta

from api.data.rows import Conn, Row, fetch_all
from api.scope import scope_params, scope_sql
from store import queries

HOURLY_AFTER = timedelta(hours=48)  # longer ranges come as hourly means


def latest(conn: Conn, scope: str) -> dict[str, Row]:
    """The newest stored reading of each sensor in the subtree, by sensor id."""
    return {r["sensor_id"]: r for r in queries.latest_readings(conn, region=scope)}


def gateway_status(conn: Conn) -> dict[str, Row]:
    return {r["gateway_id"]: r for r in queries.gateway_statuses(conn)}


def seq_gap_totals(conn: Conn, since: datetime) -> dict[str, Row]:
    """Per gateway: seq gaps, messages missing and the last gap's time since ``since``."""
    return {r["gateway_id"]: r for r in queries.gateway_seq_gap_totals(conn, since)}


def too_late_totals(conn: Conn, since: datetime) -> dict[str, int]:
    """Per gateway: readings received since ``since`` too late to be assessed."""
    return {r["gateway_id"]: int(r["too_late"])
            for r in queries.gateway_too_late_totals(conn, since)}


def seq_gaps(conn: Conn, gateway_ids: list[str], since: datetime) -> list[Row]:
    return queries.gateway_seq_gaps(conn, gateway_ids, since)


def history(conn: Conn, sensor_id: str, since: datetime, until: datetime,
            limit: int = 5000) -> tuple[str, list[Row]]:
    """(resolution, [{ts, value}]) of a sensor between ``since`` and ``until``: raw readings
    for ranges up to 48 h, hourly means beyond."""
    if until - since <= HOURLY_AFTER:
        rows = queries.sensor_readings(conn, sensor_id, since, until, limit=limit)
        return "raw", [{"ts": r["ts"], "value": r["value"]} for r in rows]
    rows = queries.sensor_history(conn, sensor_id, since, until)
    return "hourly", [{"ts": r["bucket"], "value": r["avg"]} for r in rows[:limit]]


def readings_between(conn: Conn, scope: str, kinds: list[str], since: datetime,
                     until: datetime, limit: int) -> list[Row]:
    """Stored readings of ``kinds`` in the subtree, oldest first (input of a backtest)."""
    return fetch_all(conn, "SELECT ts, sensor_id, kind, value FROM readings WHERE "
                     f"kind = ANY(%(kinds)s) AND {scope_sql('region')} AND ts >= %(since)s "
                     "AND ts < %(until)s ORDER BY ts LIMIT %(limit)s",
                     {"kinds": kinds, **scope_params(scope), "since": since, "until": until,
                      "limit": limit})
