"""Adapter: the directory model ↔ the store's directory repository."""

from __future__ import annotations

from typing import Any

import psycopg
from pydantic import ValidationError

from alerts.directory.model import Directory
from anlan.errors import PermanentError
from store.directory import directory_version, read_directory, replace_directory


def save(conn: psycopg.Connection[Any], directory: Directory, source: str) -> dict[str, int]:
    """Replace the stored directory with ``directory``; counts per section."""
    return replace_directory(conn, directory.model_dump(mode="python", by_alias=True), source)


def load(conn: psycopg.Connection[Any]) -> Directory:
    """The stored directory (empty when none was imported)."""
    rows = read_directory(conn)
    for person in rows["people"]:
        if person.get("phone") is None:
            person.pop("phone", None)
    try:
        return Directory.model_validate(rows)
    except ValidationError as exc:  # someone edited the tables by hand
        raise PermanentError(f"stored directory is inconsistent: {exc}") from exc


def version(conn: psycopg.Connection[Any]) -> int:
    return directory_version(conn)
