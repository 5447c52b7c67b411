"""Task queries: the store's ``tasks`` / ``task_events`` and the mobilization assignments."""

from __future__ import annotations

from api.data.rows import Conn, Row, fetch_all, fetch_one
from api.scope import scope_params, scope_sql

_COLUMNS = ("task_id, incident_id, kind, state, region, title, quota, skills, deadline, "
            "created_at, updated_at, detail")


def list_tasks(conn: Conn, scope: str, *, state: str | None = None,
               incident_id: str | None = None, limit: int = 200) -> list[Row]:
    where = [scope_sql("region")]
    if state == "active":
        where.append("state IN ('open', 'offered', 'accepted', 'checked_in')")
    elif state:
        where.append("state = %(state)s")
    if incident_id:
        where.append("incident_id = %(inc)s")
    return fetch_all(conn, f"SELECT {_COLUMNS} FROM tasks WHERE {' AND '.join(where)} "
                     "ORDER BY updated_at DESC LIMIT %(limit)s",
                     {**scope_params(scope), "state": state, "inc": incident_id, "limit": limit})


def get_task(conn: Conn, task_id: str) -> Row | None:
    return fetch_one(conn, f"SELECT {_COLUMNS} FROM tasks WHERE task_id = %(id)s",
                     {"id": task_id})


def task_events(conn: Conn, task_id: str) -> list[Row]:
    return fetch_all(conn, "SELECT ts, state FROM task_events WHERE task_id = %(id)s "
                     "ORDER BY ts", {"id": task_id})


def assignments(conn: Conn, task_id: str) -> list[Row]:
    """Who was offered the task and how they replied (mobilization's ``mob_assignments``)."""
    return fetch_all(conn, "SELECT a.person_id, p.name, a.state, a.wave, a.updated_at FROM "
                     "mob_assignments a LEFT JOIN dir_people p ON p.id = a.person_id "
                     "WHERE a.task_id = %(id)s ORDER BY a.wave, a.person_id", {"id": task_id})


def offered_task(conn: Conn, task_id: str) -> Row | None:
    """A task as mobilization holds it (``mob_tasks``), for pages opened before the sink wrote
    the ``tasks`` row: region, deadline and the event's detail."""
    return fetch_one(conn, "SELECT t.task_id, t.kind, t.state, t.region, t.title, t.deadline, "
                     "coalesce(t.payload -> 'detail', '{}'::jsonb) AS detail, r.name AS "
                     "region_name FROM mob_tasks t LEFT JOIN dir_regions r ON r.id = t.region "
                     "WHERE t.task_id = %(id)s", {"id": task_id})
