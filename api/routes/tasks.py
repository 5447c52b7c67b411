"""Tasks (list, detail) and the volunteer's personal-link endpoints.

A volunteer has no account: the personal link ``/t/{token}`` from their message is their
credential for one task. Its replies (accept, decline, check in, complete) become commands on
``anlan.commands`` keyed by the task id; token resolution and the command's shape come from
``alerts.mobilization.links``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, Field

from alerts.mobilization.links import link_command, resolve_token
from anlan import topics
from anlan.errors import PermanentError
from api.commands import produce
from api.data import audit
from api.data import tasks as repo
from api.deps import CurrentUser, DbConn, State
from api.validation import RequestBody

router = APIRouter(prefix="/tasks", tags=["tasks"])
links_router = APIRouter(prefix="/links", tags=["tasks"])
TOKEN = Path(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")


class Task(BaseModel):
    task_id: str
    incident_id: str | None
    kind: str
    state: str
    region: str
    title: str
    quota: int
    skills: list[str]
    deadline: datetime | None
    created_at: datetime
    updated_at: datetime
    detail: dict[str, Any]


class TaskDetail(Task):
    events: list[dict[str, Any]]
    assignments: list[dict[str, Any]]


class LinkTask(BaseModel):
    """What a volunteer sees on their task page (no other people's data)."""

    task_id: str
    kind: str
    title: str
    task_state: str
    assignment_state: str | None
    region: str | None = None
    region_name: str | None = None
    deadline: datetime | None = None
    description: str = ""
    expires_at: datetime


class LinkReply(RequestBody):
    note: str = Field("", max_length=500)


class ReplyAccepted(BaseModel):
    command_id: str
    action: str
    status: str = "accepted"


@router.get("", response_model=list[Task])
def list_tasks(user: CurrentUser, conn: DbConn,
               state: Annotated[str | None, Query(
                   pattern="^(active|open|offered|accepted|checked_in|completed|cancelled|"
                   "expired)$")] = None,
               incident_id: str | None = None,
               region: Annotated[str | None, Query(pattern=r"^\d{6}(\d{3}){0,2}(-G\d+)?$")] = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[Task]:
    """Tasks in your area (``state=active``: not yet completed, cancelled or expired)."""
    scope = user.scope_for(region)
    return [Task(**r) for r in repo.list_tasks(conn, scope, state=state, incident_id=incident_id,
                                               limit=limit)]


@router.get("/{task_id:path}", response_model=TaskDetail)
def get_task(task_id: Annotated[str, Path(max_length=128)], user: CurrentUser,
             conn: DbConn) -> TaskDetail:
    """One task with its state changes and who was offered it."""
    row = repo.get_task(conn, task_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no task {task_id}")
    user.check_region(row["region"])
    return TaskDetail(**row, events=repo.task_events(conn, task_id),
                      assignments=repo.assignments(conn, task_id))


@links_router.get("/{token}", response_model=LinkTask)
def open_link(token: Annotated[str, TOKEN], conn: DbConn) -> LinkTask:
    """The task behind a personal link (404 when unknown or expired)."""
    link = resolve_token(conn, token)
    if link is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown or expired link")
    task = repo.get_task(conn, link.task_id) or {}
    offered = repo.offered_task(conn, link.task_id) or {}
    detail = task.get("detail") or offered.get("detail") or {}
    return LinkTask(task_id=link.task_id, kind=link.task_kind, title=link.task_title,
                    task_state=task.get("state", link.task_state),
                    assignment_state=link.assignment_state,
                    region=task.get("region") or offered.get("region"),
                    region_name=offered.get("region_name"),
                    deadline=task.get("deadline") or offered.get("deadline"),
                    expires_at=link.expires_at,
                    description=str(detail.get("description", "")))


@links_router.post("/{token}/{action}", response_model=ReplyAccepted,
                   status_code=status.HTTP_202_ACCEPTED)
def reply(token: Annotated[str, TOKEN],
          action: Literal["accept", "decline", "checkin", "complete"],
          conn: DbConn, state: State, body: LinkReply | None = None) -> ReplyAccepted:
    """Reply through a personal link; a double tap is the same command (same id)."""
    link = resolve_token(conn, token)
    if link is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown or expired link")
    try:
        command = link_command(link, action, detail={"note": body.note} if body else None)
    except PermanentError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    produce(state, topics.COMMANDS, command.target, command)
    state.metrics.commands.labels(command.kind).inc()
    audit.record(conn, link.person_id, command.kind, link.task_id, {"via": "link"},
                 dedup_key=f"cmd:{command.command_id}")
    return ReplyAccepted(command_id=command.command_id, action=action)
