"""Dispatch state in PostgreSQL: alerts seen, notification claims (dedup), attempts, watches.

Claims make sending idempotent and crash-safe: every (alert, person, round) is inserted as
``sending`` in one transaction before anything is sent, then marked ``sent`` / ``failed``. A
redelivered alert finds its claims and sends nothing; claims left ``sending`` by a dispatcher
that died are found by :func:`stale_claims` after the lease and sent again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from alerts.notify.sender import Attempt
from anlan.events import Alert

Conn = AsyncConnection[Any]
OPS = "_ops"  # person id of the operations channel (settings.default_notify_urls)


@dataclass(frozen=True)
class Claim:
    alert_id: str
    person_id: str
    round: int


@dataclass(frozen=True)
class Watch:
    incident_id: str
    alert_id: str
    state: str
    step: int
    renotify_round: int
    ack_timeout_s: float | None
    renotify_s: float | None
    next_escalate_at: datetime | None
    next_renotify_at: datetime | None


async def record_alert(conn: Conn, alert: Alert, identifier: str, cap_xml: str) -> bool:
    """Store an alert once; True when it was new."""
    cur = await conn.execute(
        "INSERT INTO dispatch_alerts (alert_id, incident_id, identifier, payload, cap_xml) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (alert_id) DO NOTHING",
        (alert.alert_id, alert.incident_id, identifier, Jsonb(alert.model_dump(mode="json")),
         cap_xml))
    return cur.rowcount == 1


async def get_alerts(conn: Conn, alert_ids: Iterable[str]) -> dict[str, Alert]:
    cur = await conn.execute("SELECT alert_id, payload FROM dispatch_alerts "
                             "WHERE alert_id = ANY(%s)", (list(alert_ids),))
    return {aid: Alert.model_validate(payload) for aid, payload in await cur.fetchall()}


async def cap_of(conn: Conn, alert_id: str) -> str | None:
    cur = await conn.execute("SELECT cap_xml FROM dispatch_alerts WHERE alert_id = %s",
                             (alert_id,))
    row = await cur.fetchone()
    return row[0] if row else None


async def claim(conn: Conn, incident_id: str, claims: list[Claim], owner: str) -> list[Claim]:
    """Insert claims (one round trip); return the ones this call created (the others exist)."""
    if not claims:
        return []
    cur = await conn.execute(
        "INSERT INTO dispatch_notifications (alert_id, person_id, round, incident_id, state, "
        "owner) SELECT a, p, r, %s, 'sending', %s FROM unnest(%s::text[], %s::text[], "
        "%s::int[]) AS c(a, p, r) ON CONFLICT (alert_id, person_id, round) DO NOTHING "
        "RETURNING alert_id, person_id, round",
        (incident_id, owner, [c.alert_id for c in claims], [c.person_id for c in claims],
         [c.round for c in claims]))
    created = {Claim(*row) for row in await cur.fetchall()}
    return [c for c in claims if c in created]


async def finish(conn: Conn, c: Claim, state: str, channel: str | None) -> None:
    await conn.execute(
        "UPDATE dispatch_notifications SET state = %s, channel = %s, done_at = now() "
        "WHERE alert_id = %s AND person_id = %s AND round = %s",
        (state, channel, c.alert_id, c.person_id, c.round))


async def stale_claims(conn: Conn, lease_s: float, owner: str, limit: int = 100
                       ) -> list[Claim]:
    """Take over claims left ``sending`` longer than ``lease_s`` (their dispatcher died)."""
    cur = await conn.execute(
        "UPDATE dispatch_notifications n SET owner = %s, claimed_at = now() "
        "FROM (SELECT alert_id, person_id, round FROM dispatch_notifications "
        "      WHERE state = 'sending' AND claimed_at < now() - make_interval(secs => %s) "
        "      ORDER BY claimed_at LIMIT %s FOR UPDATE SKIP LOCKED) s "
        "WHERE n.alert_id = s.alert_id AND n.person_id = s.person_id AND n.round = s.round "
        "RETURNING n.alert_id, n.person_id, n.round", (owner, lease_s, limit))
    return [Claim(*row) for row in await cur.fetchall()]


async def record_attempt(conn: Conn, incident_id: str, c: Claim, attempt: Attempt) -> str:
    """Store one attempt (and refresh the claim's lease); return its delivery id."""
    delivery_id = uuid.uuid4().hex
    await conn.execute(
        "WITH attempt AS (INSERT INTO dispatch_attempts (delivery_id, alert_id, incident_id, "
        "person_id, round, channel, url_index, attempt, outcome, error, at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)) "
        "UPDATE dispatch_notifications SET claimed_at = now() "  # the lease stays fresh
        "WHERE alert_id = %s AND person_id = %s AND round = %s AND state = 'sending'",
        (delivery_id, c.alert_id, incident_id, c.person_id, c.round, attempt.channel,
         attempt.url_index, attempt.attempt, attempt.outcome, attempt.error, attempt.at,
         c.alert_id, c.person_id, c.round))
    return delivery_id


async def notified_people(conn: Conn, incident_id: str) -> list[str]:
    """Everyone messaged (or being messaged) about the incident, not the ops channel."""
    cur = await conn.execute(
        "SELECT DISTINCT person_id FROM dispatch_notifications WHERE incident_id = %s "
        "AND person_id <> %s AND state IN ('sending', 'sent', 'failed') ORDER BY person_id",
        (incident_id, OPS))
    return [r[0] for r in await cur.fetchall()]


# ------------------------------------------------------------------ escalation watch

_WATCH_COLS = ("incident_id, alert_id, state, step, renotify_round, ack_timeout_s, renotify_s, "
               "next_escalate_at, next_renotify_at")


async def get_watch(conn: Conn, incident_id: str, lock: bool = False) -> Watch | None:
    cur = await conn.execute(
        f"SELECT {_WATCH_COLS} FROM dispatch_watch WHERE incident_id = %s"
        + (" FOR UPDATE" if lock else ""), (incident_id,))
    row = await cur.fetchone()
    return Watch(*row) if row else None


async def put_watch(conn: Conn, w: Watch) -> None:
    await conn.execute(
        f"INSERT INTO dispatch_watch ({_WATCH_COLS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s) "
        "ON CONFLICT (incident_id) DO UPDATE SET alert_id = excluded.alert_id, "
        "state = excluded.state, step = excluded.step, "
        "renotify_round = excluded.renotify_round, ack_timeout_s = excluded.ack_timeout_s, "
        "renotify_s = excluded.renotify_s, next_escalate_at = excluded.next_escalate_at, "
        "next_renotify_at = excluded.next_renotify_at, updated_at = now()",
        (w.incident_id, w.alert_id, w.state, w.step, w.renotify_round, w.ack_timeout_s,
         w.renotify_s, w.next_escalate_at, w.next_renotify_at))


async def close_watch(conn: Conn, incident_id: str, state: str, by: str) -> bool:
    """Mark the incident acknowledged / resolved; True when the state changed."""
    cur = await conn.execute(
        "UPDATE dispatch_watch SET state = %s, closed_by = %s, next_escalate_at = NULL, "
        "next_renotify_at = NULL, updated_at = now() WHERE incident_id = %s AND state <> %s "
        "AND state <> 'resolved'", (state, by, incident_id, state))
    return cur.rowcount == 1


async def due_watches(conn: Conn, now: datetime, limit: int = 50) -> list[Watch]:
    """Open watches with a timer due, locked for this transaction (SKIP LOCKED)."""
    cur = await conn.execute(
        f"SELECT {_WATCH_COLS} FROM dispatch_watch WHERE state = 'open' AND "
        "(next_escalate_at <= %s OR next_renotify_at <= %s) ORDER BY updated_at LIMIT %s "
        "FOR UPDATE SKIP LOCKED", (now, now, limit))
    return [Watch(*row) for row in await cur.fetchall()]
