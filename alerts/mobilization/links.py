"""Personal links for task offers: a random token (256 bits) in the URL, only its SHA-256
stored, expiring. The API serves ``{public_base_url}/t/{token}`` and calls:

- :func:`resolve_token` (sync psycopg connection) or :func:`aresolve_token` (async) → :class:`Link`
  or None when unknown or expired;
- :func:`link_command` (pure) → the ``anlan.commands`` event to publish for a reply.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg import AsyncConnection

from anlan.errors import PermanentError
from anlan.events import Command, utcnow

TOKEN_BYTES = 32  # 256 random bits (at least 128 required)
LINK_PATH = "/t/{token}"
Action = Literal["accept", "decline", "checkin", "complete"]
ACTIONS: tuple[Action, ...] = ("accept", "decline", "checkin", "complete")


@dataclass(frozen=True)
class Link:
    """What a token opens: the task and the person, and the task's current state."""

    token_hash: str
    task_id: str
    person_id: str
    expires_at: datetime
    task_kind: str
    task_title: str
    task_state: str
    assignment_state: str | None


def new_token() -> str:
    """A fresh URL-safe token with 256 bits from the OS's CSPRNG."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_url(base_url: str, token: str) -> str:
    return base_url.rstrip("/") + LINK_PATH.format(token=token)


def link_command(link: Link, action: str, now: datetime | None = None,
                 detail: dict[str, Any] | None = None) -> Command:
    """The command for a reply through ``link``. Its id is derived from the link and action, so
    a double click is one command. Raises :class:`PermanentError` when expired or unknown."""
    now = now or utcnow()
    if action not in ACTIONS:
        raise PermanentError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
    if now >= link.expires_at:
        raise PermanentError("this link has expired")
    return Command(command_id=f"link:{link.token_hash[:24]}:{action}",
                   kind=f"task_{action}",  # type: ignore[arg-type]  # checked against ACTIONS
                   target=link.task_id, actor=link.person_id, ts=now,
                   detail={"via": "link", **(detail or {})})


_RESOLVE = (
    "SELECT l.token_hash, l.task_id, l.person_id, l.expires_at, t.kind, t.title, t.state, "
    "a.state FROM mob_links l JOIN mob_tasks t ON t.task_id = l.task_id "
    "LEFT JOIN mob_assignments a ON a.task_id = l.task_id AND a.person_id = l.person_id "
    "WHERE l.token_hash = %s AND l.expires_at > %s")


def _valid_shape(token: str) -> bool:
    return 16 <= len(token) <= 128 and all(c.isalnum() or c in "-_" for c in token)


def resolve_token(conn: psycopg.Connection[Any], token: str, now: datetime | None = None
                  ) -> Link | None:
    """The link of ``token`` (None when unknown or expired). Sync connection."""
    if not _valid_shape(token):
        return None
    row = conn.execute(_RESOLVE, (hash_token(token), now or utcnow())).fetchone()
    return _link(row, token)


async def aresolve_token(conn: AsyncConnection[Any], token: str, now: datetime | None = None
                         ) -> Link | None:
    """:func:`resolve_token` on an async connection."""
    if not _valid_shape(token):
        return None
    cur = await conn.execute(_RESOLVE, (hash_token(token), now or utcnow()))
    return _link(await cur.fetchone(), token)


def _link(row: Any, token: str) -> Link | None:
    if row is None or not hmac.compare_digest(row[0], hash_token(token)):
        return None
    return Link(*row)


async def create_link(conn: AsyncConnection[Any], task_id: str, person_id: str,
                      expires_at: datetime) -> str:
    """Store a new link (hashed) and return the token to put in the message."""
    token = new_token()
    await conn.execute("INSERT INTO mob_links (token_hash, task_id, person_id, expires_at) "
                       "VALUES (%s, %s, %s, %s)", (hash_token(token), task_id, person_id,
                                                   expires_at))
    return token
