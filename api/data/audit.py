"""The audit log of API actions (table ``audit_log``)."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from api.data.rows import Conn


def record(conn: Conn, actor: str, action: str, target: str | None,
           detail: dict[str, Any] | None = None, dedup_key: str | None = None) -> None:
    """Append who did what; a repeated ``dedup_key`` adds nothing."""
    conn.execute("INSERT INTO audit_log (actor, action, target, detail, source, dedup_key) "
                 "VALUES (%s, %s, %s, %s, 'api', %s) ON CONFLICT (dedup_key) DO NOTHING",
                 (actor, action, target, Jsonb(detail or {}), dedup_key))
