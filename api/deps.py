"""Typed dependencies: the app state, a DB connection, the current user and their powers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated, Any

import psycopg
from fastapi import Cookie, Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from api.scope import ACTING_ROLES, DIRECTORY_ROLES, in_scope, narrow
from api.security import API_TOKEN_PREFIX, InvalidToken, read_token, token_hash
from api.state import AppState
from store import auth as auth_repo


class User(BaseModel):
    """The caller: a console user or the owner of an API token."""

    username: str
    display_name: str = ""
    role: str
    region: str
    person_id: str | None = None

    def scope_for(self, region: str | None) -> str:
        """The subtree to search: ``region`` when inside the user's area (their whole area
        when None); 403 when it lies outside."""
        scope = narrow(self.region, region)
        if scope is None:
            self.check_region(region)
        assert scope is not None
        return scope

    def check_region(self, region: str | None) -> None:
        """403 unless ``region`` lies in the user's subtree."""
        if not in_scope(self.region, region):
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"region {region} is outside your area ({self.region})")


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.anlan
    return state


State = Annotated[AppState, Depends(app_state)]


def db_conn(state: State) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection from the pool for the length of the request."""
    if state.pool is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "database not connected")
    with state.pool.connection() as conn:
        yield conn


DbConn = Annotated[psycopg.Connection[Any], Depends(db_conn)]
_bearer = HTTPBearer(auto_error=False, description="login token or API token (anl_…)")
STREAM_COOKIE = "anlan_stream"
_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def user_from_token(state: AppState, conn: psycopg.Connection[Any], token: str) -> User:
    """The user behind a login token or an API token; 401 when there is none, or when the
    token was revoked (logout, or an administrator's "revoke all")."""
    if token.startswith(API_TOKEN_PREFIX):
        row = auth_repo.user_by_token(conn, token_hash(token))
    else:
        claims = login_claims(state, token)
        row = auth_repo.login_token_user(conn, claims["sub"], claims["jti"])
        if row is not None and (not row["active"] or row["revoked"]
                                or row["token_version"] != claims["ver"]):
            row = None
    if row is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown, revoked or disabled "
                            "credentials", _UNAUTHORIZED)
    return User(username=row["username"], display_name=row["display_name"], role=row["role"],
                region=row["region"], person_id=row["person_id"])


def login_claims(state: AppState, token: str) -> dict[str, Any]:
    """The claims of a valid login token (signature, expiry); 401 otherwise."""
    try:
        return read_token(token, state.settings.api_secret, now=time.time())
    except InvalidToken as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc), _UNAUTHORIZED) from exc


def current_user(state: State, conn: DbConn,
                 creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> User:
    if creds is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not authenticated", _UNAUTHORIZED)
    return user_from_token(state, conn, creds.credentials)


CurrentUser = Annotated[User, Depends(current_user)]
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def stream_user(state: State, conn: DbConn,
                creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
                cookie: Annotated[str | None, Cookie(alias=STREAM_COOKIE)] = None,
                access_token: Annotated[str | None, Query(
                    description="for clients that can send neither a header nor the login "
                    "cookie (a token in a URL may be logged: prefer the header)")] = None
                ) -> User:
    """The caller of the stream: Bearer header, else the login cookie, else ``access_token``."""
    token = creds.credentials if creds is not None else (cookie or access_token)
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not authenticated", _UNAUTHORIZED)
    return user_from_token(state, conn, token)


StreamUser = Annotated[User, Depends(stream_user)]


def acting_user(user: CurrentUser) -> User:
    """A user allowed to acknowledge, resolve, escalate and issue alerts."""
    if user.role not in ACTING_ROLES:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {user.role} may not do this")
    return user


ActingUser = Annotated[User, Depends(acting_user)]


def directory_user(user: CurrentUser) -> User:
    """A user allowed to edit the directory (within their subtree)."""
    if user.role not in DIRECTORY_ROLES:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {user.role} may not edit")
    return user


DirectoryUser = Annotated[User, Depends(directory_user)]


def admin_user(user: CurrentUser) -> User:
    if user.role != "admin":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "administrators only")
    return user


AdminUser = Annotated[User, Depends(admin_user)]
