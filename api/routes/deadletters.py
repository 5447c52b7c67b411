"""Dead letters: what the bridge, the streams, the sinks or the dispatcher rejected, and why.

For the people who fix gateways and data (administrators, technicians, duty officers): a
gateway sending bad timestamps or an unregistered sensor shows up here with the reason and the
original bytes. Dead letters carry no region, so the list is not scoped by area.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import AwareDatetime, BaseModel

from api.deps import CurrentUser, DbConn, User
from api.scope import DEADLETTER_ROLES
from store import queries

router = APIRouter(prefix="/deadletters", tags=["deadletters"])
PREVIEW_BYTES = 4096


def _reader(user: CurrentUser) -> User:
    if user.role not in DEADLETTER_ROLES:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {user.role} may not read these")
    return user


class DeadLetterRow(BaseModel):
    id: int
    stage: str
    reason: str
    source_topic: str
    key: str | None
    at: datetime
    original_text: str  # the first 4 KiB as UTF-8 (undecodable bytes replaced)
    original_b64: str  # the first 4 KiB, exact
    original_size: int


@router.get("", response_model=list[DeadLetterRow])
def list_deadletters(user: Annotated[User, Depends(_reader)], conn: DbConn,
                     stage: Annotated[str | None, Query(max_length=32)] = None,
                     key: Annotated[str | None, Query(max_length=128,
                                                      description="e.g. a gateway id")] = None,
                     since: AwareDatetime | None = None,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[DeadLetterRow]:
    """The newest dead letters first, optionally of one stage, key or since a time."""
    rows = queries.deadletters(conn, stage=stage, key=key, since=since, limit=limit,
                               preview_bytes=PREVIEW_BYTES)
    return [DeadLetterRow(id=r["id"], stage=r["stage"], reason=r["reason"],
                          source_topic=r["source_topic"], key=r["key"], at=r["at"],
                          original_text=bytes(r["head"]).decode("utf-8", "replace"),
                          original_b64=base64.b64encode(bytes(r["head"])).decode(),
                          original_size=r["size"]) for r in rows]
