"""Users and tokens of the API (tables ``api_users``, ``api_tokens``, ``api_revoked_tokens``;
migrations 0200, 0210).

Hashing happens in the caller (``api.security``): this module stores and finds hashes only.
Every function takes a psycopg connection and commits nothing itself unless noted (run it under
an autocommit connection or a transaction).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

Conn = psycopg.Connection[Any]
Row = dict[str, Any]

_USER_COLUMNS = ("username, display_name, password_hash, role, region, person_id, active, "
                 "token_version, created_at")


class UserExists(Exception):
    """A user with that name already exists."""


def _one(conn: Conn, query: str, params: tuple[Any, ...] | dict[str, Any]) -> Row | None:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)  # type: ignore[arg-type]
        return cur.fetchone()


def _all(conn: Conn, query: str, params: tuple[Any, ...] | dict[str, Any]) -> list[Row]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)  # type: ignore[arg-type]
        return cur.fetchall()


def create_user(conn: Conn, username: str, password_hash: str, role: str, region: str, *,
                display_name: str = "", person_id: str | None = None,
                replace: bool = False) -> Row:
    """Insert a user (or replace its password, role and region when ``replace``)."""
    conflict = ("DO UPDATE SET password_hash = EXCLUDED.password_hash, role = EXCLUDED.role, "
                "region = EXCLUDED.region, display_name = EXCLUDED.display_name, "
                "person_id = EXCLUDED.person_id, active = true, updated_at = now()"
                if replace else "DO NOTHING")
    row = _one(conn, "INSERT INTO api_users (username, display_name, password_hash, role, "
               "region, person_id) VALUES (%s, %s, %s, %s, %s, %s) "
               f"ON CONFLICT (username) {conflict} RETURNING {_USER_COLUMNS}",
               (username, display_name, password_hash, role, region, person_id))
    if row is None:
        raise UserExists(username)
    return row


def get_user(conn: Conn, username: str) -> Row | None:
    """The user named ``username`` (active or not), with its password hash."""
    return _one(conn, f"SELECT {_USER_COLUMNS} FROM api_users WHERE username = %s", (username,))


def login_token_user(conn: Conn, username: str, jti: str) -> Row | None:
    """The user named ``username`` with ``revoked``: whether the login token ``jti`` is on the
    deny list (one round trip for every request with a login token)."""
    return _one(conn, f"SELECT {_USER_COLUMNS}, EXISTS (SELECT 1 FROM api_revoked_tokens "
                "WHERE jti = %s) AS revoked FROM api_users WHERE username = %s", (jti, username))


def revoke_login_token(conn: Conn, jti: str, username: str, expires_at: datetime) -> None:
    """Put one login token on the deny list (until ``expires_at``), and drop expired entries."""
    with conn.transaction():
        conn.execute("INSERT INTO api_revoked_tokens (jti, username, expires_at) "
                     "SELECT %s, username, %s FROM api_users WHERE username = %s "
                     "ON CONFLICT (jti) DO NOTHING", (jti, expires_at, username))
        conn.execute("DELETE FROM api_revoked_tokens WHERE expires_at < now()")


def revoke_all_tokens(conn: Conn, username: str) -> bool:
    """Void every token of ``username``: raise the token version (older login tokens stop
    working) and revoke the live API tokens. False when there is no such user."""
    with conn.transaction():
        cur = conn.execute("UPDATE api_users SET token_version = token_version + 1, "
                           "updated_at = now() WHERE username = %s", (username,))
        if cur.rowcount != 1:
            return False
        conn.execute("UPDATE api_tokens SET revoked_at = now() WHERE username = %s "
                     "AND revoked_at IS NULL", (username,))
    return True


def list_users(conn: Conn, scope: str | None = None) -> list[Row]:
    """Users whose region lies in the subtree ``scope`` (all when None), without hashes."""
    rows = _all(conn, f"SELECT {_USER_COLUMNS} FROM api_users WHERE %(s)s::text IS NULL "
                "OR region = %(s)s OR (strpos(%(s)s, '-G') = 0 "
                "AND left(region, length(%(s)s)) = %(s)s) ORDER BY username", {"s": scope})
    for row in rows:
        row.pop("password_hash", None)
    return rows


def set_active(conn: Conn, username: str, active: bool) -> bool:
    """Enable or disable a user; False when there is no such user."""
    cur = conn.execute("UPDATE api_users SET active = %s, updated_at = now() "
                       "WHERE username = %s", (active, username))
    return cur.rowcount == 1


def set_password(conn: Conn, username: str, password_hash: str) -> bool:
    cur = conn.execute("UPDATE api_users SET password_hash = %s, updated_at = now() "
                       "WHERE username = %s", (password_hash, username))
    return cur.rowcount == 1


def count_users(conn: Conn) -> int:
    row = conn.execute("SELECT count(*) FROM api_users").fetchone()
    return int(row[0]) if row else 0


def create_token(conn: Conn, token_hash: str, username: str, name: str) -> Row:
    """Store an API token's hash for ``username``; returns id, name, created_at."""
    row = _one(conn, "INSERT INTO api_tokens (token_hash, username, name) VALUES (%s, %s, %s) "
               "RETURNING id, username, name, created_at", (token_hash, username, name))
    assert row is not None
    return row


def user_by_token(conn: Conn, token_hash: str) -> Row | None:
    """The active user owning an unrevoked token with this hash (and mark the token used)."""
    return _one(conn, "UPDATE api_tokens t SET last_used_at = now() FROM api_users u "
                "WHERE t.token_hash = %s AND t.revoked_at IS NULL AND u.username = t.username "
                "AND u.active RETURNING u.username, u.display_name, u.role, u.region, "
                "u.person_id, u.active, u.created_at", (token_hash,))


def list_tokens(conn: Conn, username: str) -> list[Row]:
    return _all(conn, "SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens "
                "WHERE username = %s ORDER BY id", (username,))


def revoke_token(conn: Conn, token_id: int, username: str) -> bool:
    """Revoke one of ``username``'s tokens; False when it has no such live token."""
    cur = conn.execute("UPDATE api_tokens SET revoked_at = now() WHERE id = %s AND "
                       "username = %s AND revoked_at IS NULL", (token_id, username))
    return cur.rowcount == 1
