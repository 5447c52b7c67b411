"""Retention of readings: drop what is older than N days.

With TimescaleDB a retention policy (migration 0002) drops old chunks; :func:`apply` then calls
``drop_chunks`` directly. On plain PostgreSQL it deletes in bounded batches (short transactions,
no long locks); the sink runs it periodically (``anlan sink --retention-days``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import psycopg

if TYPE_CHECKING:
    from store.sink.writer import Writer

BATCH = 50_000
_DELETE = ("DELETE FROM readings WHERE ctid = ANY (ARRAY(SELECT ctid FROM readings "
           "WHERE ts < now() - make_interval(secs => %s) LIMIT %s))")
_FLAVOUR = "SELECT value FROM schema_info WHERE key = 'flavour'"
_DROP_CHUNKS = "SELECT count(*) FROM drop_chunks('readings', older_than => make_interval(secs => %s))"


def apply(conn: psycopg.Connection[Any], days: float, batch: int = BATCH) -> int:
    """Delete readings older than ``days``; return the rows (plain) or chunks (Timescale) dropped.

    Runs its own short transactions when ``conn`` is in autocommit mode.
    """
    if days <= 0:
        return 0
    secs = days * 86400.0
    row = conn.execute(_FLAVOUR).fetchone()
    if row and row[0] == "timescale":
        res = conn.execute(_DROP_CHUNKS, (secs,)).fetchone()
        return int(res[0]) if res else 0
    total = 0
    while True:
        n = conn.execute(_DELETE, (secs, batch)).rowcount
        total += max(n, 0)
        if n < batch:
            return total


def apply_with(writer: Writer, days: float) -> int:
    """:func:`apply` on the sink writer's connection (raises ``RetryableError`` when down)."""
    from anlan.errors import RetryableError

    writer.connect()
    assert writer.conn is not None
    try:
        return apply(writer.conn, days)
    except psycopg.Error as exc:
        writer.close()
        raise RetryableError(f"retention failed: {exc}") from exc
