"""Login, the current user, API tokens and user administration."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from api import accounts
from api.data import audit
from api.deps import (
    STREAM_COOKIE,
    AdminUser,
    BearerCredentials,
    CurrentUser,
    DbConn,
    State,
    User,
    login_claims,
)
from api.scope import ROLES
from api.security import API_TOKEN_PREFIX, hash_password, sign_token, verify_password
from api.validation import RequestBody
from store import auth as auth_repo

router = APIRouter(prefix="/auth", tags=["auth"])
users_router = APIRouter(prefix="/users", tags=["auth"])


class Login(RequestBody):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class LoginResult(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    user: User


class TokenRequest(RequestBody):
    name: str = Field(min_length=1, max_length=100, description="what the token is for")


class NewToken(BaseModel):
    id: int
    name: str
    token: str = Field(description="shown once; store it now")
    created_at: datetime


class TokenInfo(BaseModel):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewUser(RequestBody):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=256)
    role: str = Field(pattern="^(" + "|".join(ROLES) + ")$")
    region: str = Field(min_length=6, max_length=32, pattern=r"^\d{6}(\d{3}){0,2}(-G\d+)?$")
    display_name: str = Field("", max_length=100)
    person_id: str | None = Field(None, max_length=64)


async def login_body(request: Request) -> Login:
    """The credentials as JSON, or as an OAuth2 password form (``username``, ``password``)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.form()
            return Login.model_validate({k: form.get(k) for k in ("username", "password")
                                         if form.get(k) is not None})
        return Login.model_validate_json(await request.body() or b"{}")
    except ValidationError as exc:
        # without the input: a body that is not UTF-8 text would be echoed back as bytes
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])}
             for e in exc.errors(include_url=False, include_input=False)]) from exc


LOGIN_OPENAPI = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": Login.model_json_schema()},
    "application/x-www-form-urlencoded": {"schema": Login.model_json_schema()}}}}


@router.post("/login", response_model=LoginResult, openapi_extra=LOGIN_OPENAPI,
             responses={429: {"description": "too many failed logins from this address (or "
                              "for this name from it); see Retry-After"}})
def login(body: Annotated[Login, Depends(login_body)], state: State, conn: DbConn,
          request: Request, response: Response) -> LoginResult:
    """Exchange a username and password (JSON or form) for a signed login token. The token is
    also set as an HttpOnly cookie valid only for ``/api/v1/stream`` (EventSource sends it, so
    no token travels in a URL). Failed logins are limited per address and user name and per
    address (429 with ``Retry-After`` once spent)."""
    address = request.client.host if request.client else "?"
    wait = state.login_throttle.retry_after(address, body.username)
    if wait > 0:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many failed logins; wait",
                            headers={"Retry-After": str(wait)})
    row = auth_repo.get_user(conn, body.username)
    if row is None or not row["active"] or not verify_password(body.password,
                                                               row["password_hash"]):
        state.login_throttle.failed(address, body.username)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
    state.login_throttle.succeeded(address, body.username)
    ttl = state.options.token_ttl_s
    token = sign_token(row["username"], state.settings.api_secret, now=time.time(), ttl_s=ttl,
                       version=row["token_version"])
    user = User(username=row["username"], display_name=row["display_name"], role=row["role"],
                region=row["region"], person_id=row["person_id"])
    response.set_cookie(STREAM_COOKIE, token, max_age=int(ttl), path="/api/v1/stream",
                        httponly=True, samesite="strict")
    audit.record(conn, user.username, "login", None, {})
    return LoginResult(access_token=token, expires_in=int(ttl), user=user)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(creds: BearerCredentials, state: State, conn: DbConn, response: Response) -> None:
    """End the login token sent as ``Authorization: Bearer``: it is put on the deny list
    (every API process refuses it from now on), and the stream cookie is deleted. Always 204;
    API tokens (``anl_…``) are revoked with ``DELETE /auth/tokens/{id}`` instead."""
    response.delete_cookie(STREAM_COOKIE, path="/api/v1/stream")
    if creds is None or creds.credentials.startswith(API_TOKEN_PREFIX):
        return
    try:
        claims = login_claims(state, creds.credentials)
    except HTTPException:
        return  # expired or not ours: nothing to end
    auth_repo.revoke_login_token(conn, claims["jti"], claims["sub"],
                                 datetime.fromtimestamp(claims["exp"], UTC))
    audit.record(conn, claims["sub"], "logout", None, {})


@router.get("/me", response_model=User)
def me(user: CurrentUser) -> User:
    """The caller."""
    return user


@router.post("/tokens", response_model=NewToken, status_code=status.HTTP_201_CREATED)
def create_token(body: TokenRequest, user: CurrentUser, conn: DbConn) -> NewToken:
    """Issue an API token acting as the caller (for integrations)."""
    token, row = accounts.issue_api_token(conn, user.username, body.name)
    return NewToken(id=row["id"], name=row["name"], token=token, created_at=row["created_at"])


@router.get("/tokens", response_model=list[TokenInfo])
def list_tokens(user: CurrentUser, conn: DbConn) -> list[TokenInfo]:
    return [TokenInfo(**r) for r in auth_repo.list_tokens(conn, user.username)]


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: Annotated[int, Path(ge=1)], user: CurrentUser, conn: DbConn) -> None:
    if not auth_repo.revoke_token(conn, token_id, user.username):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such live token")


@users_router.get("", response_model=list[User])
def list_users(user: AdminUser, conn: DbConn) -> list[User]:
    """Users in the administrator's subtree."""
    return [User(**{k: r[k] for k in User.model_fields}) for r in
            auth_repo.list_users(conn, user.region)]


@users_router.post("", response_model=User, status_code=status.HTTP_201_CREATED)
def create_user(body: NewUser, user: AdminUser, conn: DbConn) -> User:
    """Create a user inside the administrator's subtree."""
    user.check_region(body.region)
    try:
        row = accounts.create_user(conn, body.username, body.password, body.role, body.region,
                                   display_name=body.display_name, person_id=body.person_id)
    except auth_repo.UserExists as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, f"user {body.username} exists") from exc
    audit.record(conn, user.username, "create_user", body.username,
                 {"role": body.role, "region": body.region})
    return User(**{k: row[k] for k in User.model_fields})


class UserChange(RequestBody):
    """What an administrator may change; any other field is a 422."""

    active: bool | None = Field(None, description="false: the user can no longer log in, and "
                                "their login and API tokens stop working at once")
    password: str | None = Field(None, min_length=8, max_length=256)


@users_router.patch("/{username}", status_code=status.HTTP_204_NO_CONTENT)
def change_user(username: Annotated[str, Path(max_length=64)], body: UserChange,
                user: AdminUser, conn: DbConn) -> None:
    """Disable / enable a user or reset their password (inside the administrator's subtree)."""
    row = auth_repo.get_user(conn, username)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user {username}")
    user.check_region(row["region"])
    if body.active is not None:
        auth_repo.set_active(conn, username, body.active)
    if body.password is not None:
        auth_repo.set_password(conn, username, hash_password(body.password))
    audit.record(conn, user.username, "change_user", username,
                 {"active": body.active, "password": body.password is not None})


@users_router.post("/{username}/revoke-tokens", status_code=status.HTTP_204_NO_CONTENT)
def revoke_user_tokens(username: Annotated[str, Path(max_length=64)], user: AdminUser,
                       conn: DbConn) -> None:
    """Void all of a user's tokens at once (a lost phone, a leaked token): every login token
    issued so far and every API token. The user may log in again (disable them with
    ``PATCH /users/{name}`` to stop that)."""
    row = auth_repo.get_user(conn, username)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user {username}")
    user.check_region(row["region"])
    auth_repo.revoke_all_tokens(conn, username)
    audit.record(conn, user.username, "revoke_tokens", username, {})
