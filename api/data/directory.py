"""Directory edits: load, change one entry, validate the whole directory, save — serialised.

The directory is reference data written directly (not through Kafka). Each edit runs in one
transaction holding the directory's table lock, so two editors never overwrite each other, and
readers (the dispatcher) see the old or the new directory, never half of one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from pydantic import ValidationError

from alerts.directory import Directory, parse_csv, parse_yaml
from alerts.directory import db as directory_db
from anlan.errors import PermanentError

SECTIONS = {"regions": "id", "people": "id", "volunteers": "person", "vulnerable": "id"}


def load(conn: psycopg.Connection[Any]) -> Directory:
    """The stored directory (empty when none was imported)."""
    return directory_db.load(conn)


def _explain(exc: ValidationError) -> PermanentError:
    msgs = [str(e["msg"]).removeprefix("Value error, ") for e in exc.errors()[:10]]
    return PermanentError("; ".join(msgs))


def edit(conn: psycopg.Connection[Any], change: Callable[[Directory], dict[str, Any]],
         source: str) -> Directory:
    """Apply ``change`` (directory → updated sections) and save, in one locked transaction.

    Raises :class:`PermanentError` when the result is not a consistent directory."""
    with conn.transaction():
        conn.execute("LOCK TABLE dir_regions IN EXCLUSIVE MODE")
        current = directory_db.load(conn)
        data = current.model_dump(mode="python", by_alias=True)
        data.update(change(current))
        try:
            updated = Directory.model_validate(data)
        except ValidationError as exc:
            raise _explain(exc) from exc
        directory_db.save(conn, updated, source)
    return updated


def upsert(conn: psycopg.Connection[Any], section: str, entry: dict[str, Any],
           source: str) -> Directory:
    """Insert or replace one entry of ``section`` (keyed by its id field)."""
    key = SECTIONS[section]

    def change(d: Directory) -> dict[str, Any]:
        rows = [e.model_dump(mode="python", by_alias=True) for e in getattr(d, section)]
        rows = [r for r in rows if r[key] != entry[key]] + [entry]
        return {section: rows}

    return edit(conn, change, source)


def delete(conn: psycopg.Connection[Any], section: str, entry_id: str, source: str) -> bool:
    """Remove one entry; False when there was none. Fails when others still refer to it."""
    key = SECTIONS[section]
    found = False

    def change(d: Directory) -> dict[str, Any]:
        nonlocal found
        rows = [e.model_dump(mode="python", by_alias=True) for e in getattr(d, section)]
        kept = [r for r in rows if r[key] != entry_id]
        found = len(kept) != len(rows)
        return {section: kept}

    edit(conn, change, source)
    return found


def import_csv(conn: psycopg.Connection[Any], text: str, source: str) -> Directory:
    """Merge a people sheet (CSV) into the stored directory."""
    def change(d: Directory) -> dict[str, Any]:
        merged = parse_csv(text, d, source)
        return {"people": [p.model_dump(mode="python", by_alias=True) for p in merged.people],
                "volunteers": [v.model_dump(mode="python", by_alias=True)
                               for v in merged.volunteers]}

    return edit(conn, change, source)


def import_yaml(conn: psycopg.Connection[Any], text: str, source: str) -> Directory:
    """Replace the whole directory with a YAML document."""
    new = parse_yaml(text, source)
    return edit(conn, lambda _d: new.model_dump(mode="python", by_alias=True), source)
