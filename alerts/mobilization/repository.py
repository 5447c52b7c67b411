"""Mobilization state in PostgreSQL: tasks, assignments (offers), welfare checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from alerts.mobilization.waves import Window
from anlan.events import Task

Conn = AsyncConnection[Any]


@dataclass(frozen=True)
class TaskRow:
    task_id: str
    incident_id: str | None
    kind: str
    state: str
    region: str
    title: str
    quota: int
    skills: list[str]
    starts_at: datetime
    deadline: datetime | None
    wave: int
    wave_s: float
    next_wave_at: datetime | None
    exercise: bool

    @property
    def window(self) -> Window:
        return Window(self.starts_at, self.deadline or self.starts_at)


_TASK_COLS = ("task_id, incident_id, kind, state, region, title, quota, skills, starts_at, "
              "deadline, wave, wave_s, next_wave_at, exercise")


async def insert_task(conn: Conn, task: Task, state: str, window: Window | datetime,
                      wave_s: float, exercise: bool) -> bool:
    """Store a new task occupying ``window`` (or from its time until a given end); False when
    it is known already (a redelivered event)."""
    if isinstance(window, datetime):
        window = Window(task.ts, window)
    cur = await conn.execute(
        "INSERT INTO mob_tasks (task_id, incident_id, kind, state, region, title, quota, "
        "skills, starts_at, deadline, wave_s, exercise, payload) "
        "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (task_id) DO NOTHING",
        (task.task_id, task.incident_id, task.kind, state, task.region, task.title, task.quota,
         list(task.skills), window.start, window.end, wave_s, exercise,
         Jsonb(task.model_dump(mode="json"))))
    return cur.rowcount == 1


async def get_task(conn: Conn, task_id: str, lock: bool = False) -> TaskRow | None:
    cur = await conn.execute(f"SELECT {_TASK_COLS} FROM mob_tasks WHERE task_id = %s"
                             + (" FOR UPDATE" if lock else ""), (task_id,))
    row = await cur.fetchone()
    return TaskRow(*row) if row else None


async def set_task(conn: Conn, task_id: str, **fields: Any) -> None:
    sets = ", ".join(f"{k} = %s" for k in fields)
    await conn.execute(f"UPDATE mob_tasks SET {sets}, updated_at = now() WHERE task_id = %s",
                       (*fields.values(), task_id))


async def due_waves(conn: Conn, now: datetime, limit: int = 50) -> list[TaskRow]:
    cur = await conn.execute(
        f"SELECT {_TASK_COLS} FROM mob_tasks WHERE state = 'offered' AND next_wave_at <= %s "
        "ORDER BY next_wave_at LIMIT %s FOR UPDATE SKIP LOCKED", (now, limit))
    return [TaskRow(*r) for r in await cur.fetchall()]


async def open_tasks_of(conn: Conn, incident_id: str) -> list[TaskRow]:
    cur = await conn.execute(
        f"SELECT {_TASK_COLS} FROM mob_tasks WHERE incident_id = %s AND state IN "
        "('open', 'offered', 'accepted', 'checked_in') FOR UPDATE", (incident_id,))
    return [TaskRow(*r) for r in await cur.fetchall()]


async def assignments(conn: Conn, task_id: str) -> dict[str, str]:
    cur = await conn.execute("SELECT person_id, state FROM mob_assignments WHERE task_id = %s",
                             (task_id,))
    return {pid: state for pid, state in await cur.fetchall()}


async def add_assignment(conn: Conn, task: TaskRow, person_id: str, wave: int,
                         state: str = "offered") -> bool:
    w = task.window
    cur = await conn.execute(
        "INSERT INTO mob_assignments (task_id, person_id, wave, state, starts_at, ends_at) "
        "VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING",
        (task.task_id, person_id, wave, state, w.start, w.end))
    return cur.rowcount == 1


async def set_assignment(conn: Conn, task_id: str, person_id: str, state: str,
                         only_from: tuple[str, ...] | None = None) -> bool:
    query = ("UPDATE mob_assignments SET state = %s, updated_at = now() "
             "WHERE task_id = %s AND person_id = %s")
    params: tuple[Any, ...] = (state, task_id, person_id)
    if only_from:
        query += " AND state = ANY(%s)"
        params += (list(only_from),)
    cur = await conn.execute(query, params)
    return cur.rowcount == 1


async def commitments(conn: Conn, exclude_task: str | None = None
                      ) -> dict[str, list[Window]]:
    """Accepted (or checked-in) assignments per person: their busy windows."""
    cur = await conn.execute(
        "SELECT a.person_id, a.starts_at, a.ends_at FROM mob_assignments a "
        "JOIN mob_tasks t ON t.task_id = a.task_id WHERE a.state IN ('accepted', 'checked_in') "
        "AND t.state NOT IN ('cancelled', 'completed', 'expired') AND a.task_id <> %s",
        (exclude_task or "",))
    out: dict[str, list[Window]] = {}
    for pid, start, end in await cur.fetchall():
        out.setdefault(pid, []).append(Window(start, end))
    return out


async def lock_person(conn: Conn, person_id: str) -> None:
    """Serialise accepts of one person across tasks (no two overlapping acceptances)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ("mob:" + person_id,))


async def insert_welfare(conn: Conn, task: Task, remind_at: datetime | None) -> bool:
    cur = await conn.execute(
        "INSERT INTO mob_welfare (task_id, incident_id, resident_id, grid, responsible, "
        "next_remind_at) VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING",
        (task.task_id, task.incident_id, task.detail["resident_id"], task.region,
         task.detail["assignee"], remind_at))
    return cur.rowcount == 1


async def due_welfare_reminders(conn: Conn, now: datetime, every_s: float, limit: int = 100
                                ) -> list[tuple[str, str, int]]:
    """Open welfare checks whose reminder is due: (task id, responsible, reminder number);
    the next reminder is scheduled in the caller's transaction."""
    cur = await conn.execute(
        "UPDATE mob_welfare w SET reminders = w.reminders + 1, "
        "next_remind_at = %s + make_interval(secs => %s) FROM (SELECT task_id FROM mob_welfare "
        "WHERE state = 'open' AND next_remind_at <= %s ORDER BY next_remind_at LIMIT %s "
        "FOR UPDATE SKIP LOCKED) d WHERE w.task_id = d.task_id "
        "RETURNING w.task_id, w.responsible, w.reminders", (now, every_s, now, limit))
    return [(t, p, n) for t, p, n in await cur.fetchall()]


async def task_detail(conn: Conn, task_id: str) -> dict[str, Any]:
    cur = await conn.execute("SELECT payload FROM mob_tasks WHERE task_id = %s", (task_id,))
    row = await cur.fetchone()
    return dict((row[0] if row else {}).get("detail") or {})


async def set_welfare(conn: Conn, task_id: str, state: str) -> None:
    await conn.execute(
        "UPDATE mob_welfare SET state = %s, next_remind_at = NULL, checked_at = CASE WHEN "
        "%s = 'checked' THEN now() ELSE checked_at END WHERE task_id = %s AND state = 'open'",
        (state, state, task_id))


async def welfare_status(conn: Conn, incident_id: str) -> dict[str, str]:
    """resident id → open / checked / cancelled, for an incident."""
    cur = await conn.execute("SELECT resident_id, state FROM mob_welfare WHERE incident_id = %s",
                             (incident_id,))
    return {rid: state for rid, state in await cur.fetchall()}


async def incident_is_exercise(conn: Conn, incident_id: str | None) -> bool:
    """True when an alert of the incident seen by the dispatcher is a drill (``Exercise``)."""
    if not incident_id:
        return False
    cur = await conn.execute(
        "SELECT 1 FROM dispatch_alerts WHERE incident_id = %s "
        "AND payload->>'status' = 'Exercise' LIMIT 1", (incident_id,))
    return await cur.fetchone() is not None


async def overdue(conn: Conn, now: datetime, limit: int = 50) -> list[TaskRow]:
    """Tasks still looking for people after their deadline, locked for this transaction."""
    cur = await conn.execute(
        f"SELECT {_TASK_COLS} FROM mob_tasks WHERE state IN ('open', 'offered') "
        "AND deadline <= %s ORDER BY deadline LIMIT %s FOR UPDATE SKIP LOCKED", (now, limit))
    return [TaskRow(*r) for r in await cur.fetchall()]
