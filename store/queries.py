"""Read queries over the store, for the API: plain functions taking a psycopg connection.

Region filters take a region id and match its subtree by prefix (360121 ⊃ 360121100 ⊃
360121100001 ⊃ 360121100001-G1); a grid (``…-G1``) is a leaf, so it does not contain ``…-G10``.
Rows come back as dicts. Nothing here writes.
"""

from __future__ import annotations

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


def gateway_seq_gap_totals(conn: Conn, since: datetime) -> list[Row]:
    """Per gateway since ``since``: ``gaps``, ``missing`` (messages) and ``last_gap_at``."""
    return _all(conn, "SELECT gateway_id, count(*) AS gaps, sum(missing) AS missing, "
                "max(at) AS last_gap_at FROM gateway_seq_gaps WHERE at >= %(since)s "
                "GROUP BY gateway_id ORDER BY gateway_id", {"since": since})


def gateway_too_late_totals(conn: Conn, since: datetime) -> list[Row]:
    """Per gateway: readings received since ``since`` too late to be assessed (flagged
    ``too_late``: older than the assessment's horizon)."""
    return _all(conn, "SELECT gateway_id, count(*) AS too_late FROM readings "
                "WHERE 'too_late' = ANY(flags) AND received_at >= %(since)s "
                "AND ts >= %(since)s - interval '15 days' GROUP BY gateway_id",
                {"since": since})


def gateway_seq_gaps(conn: Conn, gateway_ids: list[str], since: datetime,
                     limit: int = 200) -> list[Row]:
    """The seq gaps of ``gateway_ids`` reported since ``since``, newest first."""
    return _all(conn, "SELECT gateway_id, first_missing, last_missing, missing, at, bridge "
                "FROM gateway_seq_gaps WHERE gateway_id = ANY(%(ids)s) AND at >= %(since)s "
                "ORDER BY at DESC, gateway_id, first_missing LIMIT %(limit)s",
                {"ids": gateway_ids, "since": since, "limit": limit})


# ---------------------------------------------------------------- dead letters

def deadletters(conn: Conn, *, stage: str | None = None, key: str | None = None,
                since: datetime | None = None, limit: int = 100,
                preview_bytes: int = 4096) -> list[Row]:
    """The newest dead letters first (optionally of one stage, key or since a time), with
    ``head``: the first ``preview_bytes`` of the original, and ``size``: its full length."""
    return _all(conn, "SELECT id, stage, reason, source_topic, key, at, "
                "substring(original FROM 1 FOR %(n)s) AS head, "
                "octet_length(original) AS size FROM deadletters "
                "WHERE (%(stage)s::text IS NULL OR stage = %(stage)s) "
                "AND (%(key)s::text IS NULL OR key = %(key)s) "
                "AND (%(since)s::timestamptz IS NULL OR at >= %(since)s) "
                "ORDER BY at DESC, id DESC LIMIT %(limit)s",
                {"n": preview_bytes, "stage": stage, "key": key, "since": since,
                 "limit": limit})
