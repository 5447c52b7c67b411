"""Creating users and API tokens (shared by the routes and ``anlan api create-user``)."""

from __future__ import annotations

from typing import Any

import psycopg

from api.scope import ROLES
from api.security import hash_password, new_api_token, token_hash
from store import auth as auth_repo


def create_user(conn: psycopg.Connection[Any], username: str, password: str, role: str,
                region: str, *, display_name: str = "", person_id: str | None = None,
                replace: bool = False) -> dict[str, Any]:
    """Create (or with ``replace`` reset) a user; ``ValueError`` for a bad role or password."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < 8:
        raise ValueError("password must have at least 8 characters")
    row = auth_repo.create_user(conn, username, hash_password(password), role, region,
                                display_name=display_name, person_id=person_id, replace=replace)
    row.pop("password_hash", None)
    return row


def issue_api_token(conn: psycopg.Connection[Any], username: str, name: str
                    ) -> tuple[str, dict[str, Any]]:
    """A new API token for ``username``: (the token, shown once; its stored row)."""
    token = new_api_token()
    return token, auth_repo.create_token(conn, token_hash(token), username, name)
