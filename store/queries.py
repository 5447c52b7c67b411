"""Read queries over the store, for the API: plain functions taking a psycopg connection.

Region filters take a region id and match its subtree by prefix (360121 ⊃ 360121100 ⊃
360121100001 ⊃ 360121100001-G1); a grid (``…-G1``) is a leaf, so it does not contain ``…-G10``.
Rows come back as dicts. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

Conn = psycopg.Connection[Any]
Row = dict[str, Any]
ORIGIN = datetime.fromisoformat("2000-01-01T00:00:00+00:00")  # bucket origin (= time_bucket's)
HOUR = timedelta(hours=1)
LEVELS = ("IV", "III", "II", "I")


def _all(conn: Conn, query: str, params: dict[str, Any]) -> list[Row]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)  # type: ignore[arg-type]
        return cur.fetchall()


def _one(conn: Conn, query: str, params: dict[str, Any]) -> Row | None:
    rows = _all(conn, query, params)
    return rows[0] if rows else None


def like_prefix(prefix: str) -> str:
    """A LIKE pattern matching strings that start with ``prefix`` (wildcards escaped)."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def subtree_sql(column: str, param: str = "region") -> str:
    """SQL: ``column`` lies in the subtree of region ``%(param)s`` (needs ``param_like``)."""
    return (f"({column} = %({param})s OR (strpos(%({param})s, '-G') = 0 "
            f"AND {column} LIKE %({param}_like)s))")


def subtree_params(region: str, param: str = "region") -> dict[str, Any]:
    return {param: region, f"{param}_like": like_prefix(region)}


# ---------------------------------------------------------------- readings

def _timescale(conn: Conn) -> bool:
    row = _one(conn, "SELECT value FROM schema_info WHERE key = 'flavour'", {})
    return bool(row and row["value"] == "timescale")


def sensor_history(conn: Conn, sensor_id: str, start: datetime, end: datetime,
                   bucket: timedelta = HOUR) -> list[Row]:
    """Per time bucket in ``[start, end)``: bucket start, n, min, max, avg, sum, last_ts.

    Uses the hourly continuous aggregate when TimescaleDB is present and the bucket is a whole
    number of hours; otherwise aggregates the readings with ``date_bin``.
    """
    if bucket <= timedelta(0):
        raise ValueError("bucket must be positive")
    params = {"sensor": sensor_id, "start": start, "end": end, "bucket": bucket,
              "origin": ORIGIN}
    if bucket % HOUR == timedelta(0) and _timescale(conn):
        return _all(conn, "SELECT date_bin(%(bucket)s, bucket, %(origin)s) AS bucket, "
                    "sum(n)::bigint AS n, min(min) AS min, max(max) AS max, "
                    "sum(sum) / nullif(sum(n), 0) AS avg, sum(sum) AS sum, "
                    "max(last_ts) AS last_ts FROM readings_hourly "
                    "WHERE sensor_id = %(sensor)s AND bucket >= "
                    "date_bin(%(bucket)s, %(start)s::timestamptz, %(origin)s) "
                    "AND bucket < %(end)s GROUP BY 1 ORDER BY 1", params)
    return _all(conn, "SELECT date_bin(%(bucket)s, ts, %(origin)s) AS bucket, count(*) AS n, "
                "min(value) AS min, max(value) AS max, avg(value) AS avg, sum(value) AS sum, "
                "max(ts) AS last_ts FROM readings WHERE sensor_id = %(sensor)s "
                "AND ts >= %(start)s AND ts < %(end)s GROUP BY 1 ORDER BY 1", params)


def sensor_readings(conn: Conn, sensor_id: str, start: datetime, end: datetime,
                    limit: int = 10_000) -> list[Row]:
    """Raw readings of a sensor in ``[start, end)``, oldest first."""
    return _all(conn, "SELECT ts, kind, value, flags FROM readings WHERE sensor_id = %(s)s "
                "AND ts >= %(start)s AND ts < %(end)s ORDER BY ts LIMIT %(limit)s",
                {"s": sensor_id, "start": start, "end": end, "limit": limit})


def latest_readings(conn: Conn, region: str | None = None, kind: str | None = None,
                    sensor_ids: list[str] | None = None) -> list[Row]:
    """The newest reading of each sensor (optionally in a region subtree, of a kind)."""
    where: list[str] = ["true"]
    params: dict[str, Any] = {}
    if region:
        where.append(subtree_sql("region"))
        params.update(subtree_params(region))
    if kind:
        where.append("kind = %(kind)s")
        params["kind"] = kind
    if sensor_ids is not None:
        where.append("sensor_id = ANY(%(ids)s)")
        params["ids"] = sensor_ids
    return _all(conn, "SELECT sensor_id, ts, kind, value, region, gateway_id, flags "
                f"FROM readings_latest WHERE {' AND '.join(where)} ORDER BY sensor_id", params)


# ---------------------------------------------------------------- incidents

def incident(conn: Conn, incident_id: str) -> Row | None:
    """The current state of one incident."""
    return _one(conn, "SELECT * FROM incidents WHERE incident_id = %(id)s", {"id": incident_id})


def list_incidents(conn: Conn, region: str | None = None, status: str | None = None,
                   limit: int = 100) -> list[Row]:
    """Incidents in a region subtree, most recently changed first; ``status`` is open,
    acknowledged, resolved, or ``active`` (not resolved)."""
    where: list[str] = ["true"]
    params: dict[str, Any] = {"limit": limit}
    if region:
        where.append(subtree_sql("region"))
        params.update(subtree_params(region))
    if status == "active":
        where.append("status <> 'resolved'")
    elif status:
        where.append("status = %(status)s")
        params["status"] = status
    return _all(conn, f"SELECT * FROM incidents WHERE {' AND '.join(where)} "
                "ORDER BY updated_at DESC, incident_id LIMIT %(limit)s", params)


def gateway_statuses(conn: Conn) -> list[Row]:
    """The last known status of every gateway."""
    return _all(conn, "SELECT gateway_id, status, at FROM gateway_status ORDER BY gateway_id", {})


def incident_timeline(conn: Conn, incident_id: str) -> list[Row]:
    """Everything that happened to an incident, oldest first: state changes, alerts,
    deliveries, commands and task changes, each row with ``ts``, ``what`` and details."""
    return _all(conn, """
        SELECT ts, 'incident' AS what, change AS detail, level, actor, evidence AS data
          FROM incident_events WHERE incident_id = %(id)s
        UNION ALL
        SELECT sent, 'alert', msg_type || ' ' || alert_id, level, NULL, jsonb_build_object(
                 'alert_id', alert_id, 'headline', headline, 'tier', tier)
          FROM alerts WHERE incident_id = %(id)s
        UNION ALL
        SELECT at, 'delivery', outcome, NULL, recipient, jsonb_build_object(
                 'alert_id', alert_id, 'channel', channel, 'attempt', attempt, 'error', error)
          FROM deliveries WHERE incident_id = %(id)s
        UNION ALL
        SELECT ts, 'command', kind, NULL, actor, detail FROM commands WHERE target = %(id)s
        UNION ALL
        SELECT e.ts, 'task', e.state, NULL, NULL, jsonb_build_object(
                 'task_id', t.task_id, 'kind', t.kind, 'title', t.title)
          FROM task_events e JOIN tasks t USING (task_id) WHERE t.incident_id = %(id)s
        ORDER BY 1, 2""", {"id": incident_id})


# ---------------------------------------------------------------- alerts

@dataclass(frozen=True)
class AlertFilter:
    """Filters of :func:`list_alerts` (all optional)."""

    region: str | None = None  # subtree
    levels: tuple[str, ...] = ()  # "IV" … "I"
    status: str | None = None  # CAP status: Actual, Exercise, System, Test
    msg_type: str | None = None  # Alert, Update, Cancel
    incident_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    offset: int = 0


_ALERT_COLUMNS = ('a.alert_id, a.incident_id, a.msg_type, a."references", a.status, a.plan, '
                  "a.hazard, a.region, a.level, a.previous, a.tier, a.sent, a.headline")


def list_alerts(conn: Conn, f: AlertFilter = AlertFilter()) -> list[Row]:
    """Alerts matching ``f``, newest first, with their incident's current status."""
    where: list[str] = ["true"]
    params: dict[str, Any] = {"limit": f.limit, "offset": f.offset}
    if f.region:
        where.append(subtree_sql("a.region"))
        params.update(subtree_params(f.region))
    for name, value in (("status", f.status), ("msg_type", f.msg_type),
                        ("incident_id", f.incident_id)):
        if value:
            where.append(f"a.{name} = %({name})s")
            params[name] = value
    if f.levels:
        where.append("a.level = ANY(%(levels)s)")
        params["levels"] = list(f.levels)
    if f.since:
        where.append("a.sent >= %(since)s")
        params["since"] = f.since
    if f.until:
        where.append("a.sent < %(until)s")
        params["until"] = f.until
    return _all(conn, f"SELECT {_ALERT_COLUMNS}, i.status AS incident_status FROM alerts a "
                "LEFT JOIN incidents i USING (incident_id) "
                f"WHERE {' AND '.join(where)} ORDER BY a.sent DESC, a.alert_id DESC "
                "LIMIT %(limit)s OFFSET %(offset)s", params)


def active_alerts(conn: Conn, region: str | None = None, include_exercise: bool = True
                  ) -> list[Row]:
    """The latest alert of each incident still in force, in a region subtree, worst first.

    In force: the incident's latest alert is not a Cancel and the incident (when known) is
    not resolved.
    """
    where: list[str] = ["true"]
    params: dict[str, Any] = {}
    if region:
        where.append(subtree_sql("a.region"))
        params.update(subtree_params(region))
    if not include_exercise:
        where.append("a.status = 'Actual'")
    return _all(conn, f"""
        SELECT * FROM (
          SELECT DISTINCT ON (a.incident_id) {_ALERT_COLUMNS}, i.status AS incident_status
            FROM alerts a LEFT JOIN incidents i USING (incident_id)
           WHERE {' AND '.join(where)}
           ORDER BY a.incident_id, a.sent DESC, a.alert_id DESC) latest
         WHERE msg_type <> 'Cancel' AND coalesce(incident_status, 'open') <> 'resolved'
         ORDER BY array_position(ARRAY['I','II','III','IV'], level), sent DESC""", params)


def alert(conn: Conn, alert_id: str) -> Row | None:
    """One alert in full (texts, evidence, raw event) with its incident's status."""
    return _one(conn, "SELECT a.*, i.status AS incident_status FROM alerts a "
                "LEFT JOIN incidents i USING (incident_id) WHERE a.alert_id = %(id)s",
                {"id": alert_id})


def delivery_log(conn: Conn, alert_id: str) -> list[Row]:
    """Every delivery attempt of an alert, oldest first."""
    return _all(conn, "SELECT delivery_id, recipient, channel, attempt, outcome, error, at "
                "FROM deliveries WHERE alert_id = %(id)s ORDER BY at, delivery_id",
                {"id": alert_id})


def deadletters(conn: Conn, limit: int = 100, stage: str | None = None) -> list[Row]:
    """The most recent dead letters (original bytes included)."""
    return _all(conn, "SELECT id, stage, reason, source_topic, key, original, at FROM deadletters "
                "WHERE %(stage)s::text IS NULL OR stage = %(stage)s "
                "ORDER BY at DESC, id DESC LIMIT %(limit)s", {"stage": stage, "limit": limit})
