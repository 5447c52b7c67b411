"""Tiny query helpers returning dict rows."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

Conn = psycopg.Connection[Any]
Row = dict[str, Any]
Params = dict[str, Any]


def fetch_all(conn: Conn, query: str, params: Params | None = None) -> list[Row]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params or {})  # type: ignore[arg-type]
        return cur.fetchall()


def fetch_one(conn: Conn, query: str, params: Params | None = None) -> Row | None:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params or {})  # type: ignore[arg-type]
        return cur.fetchone()
