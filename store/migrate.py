"""Versioned SQL migrations: ``store/migrations/NNNN_name[.flavour].sql`` in lexical order.

Each file runs once, in its own transaction, and is recorded in ``schema_migrations``; running
:func:`migrate` again applies nothing. Concurrent callers serialise on an advisory lock.

Flavours: a file named ``NNNN_x.sql`` always runs; ``NNNN_x.plain.sql`` runs only on plain
PostgreSQL and ``NNNN_x.timescale.sql`` only with TimescaleDB. The flavour is chosen on the
first migration of a database (TimescaleDB when the extension is available *and* preloaded, and
``CREATE EXTENSION`` succeeds) and recorded in ``schema_info``, so a database never mixes both.

A file whose first line is ``-- migrate: no-transaction`` runs statement by statement in
autocommit (continuous aggregates cannot be created inside a transaction); write such files so
that each statement is idempotent.

Number ranges: store 0001–0099, alerts (directory, dispatch) 01xx, API (users, tokens) 02xx.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import psycopg

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
LOCK_KEY = 0x616E6C616E  # "anlan": advisory lock serialising concurrent migrators
NO_TRANSACTION = "-- migrate: no-transaction"
Flavour = Literal["plain", "timescale"]

log = logging.getLogger(__name__)
_NAME = re.compile(r"^(\d{4})_[A-Za-z0-9_\-]+(\.(plain|timescale))?\.sql$")


@dataclass(frozen=True)
class Migration:
    """One migration file."""

    name: str  # file name without ``.sql``; the key recorded in ``schema_migrations``
    path: Path
    flavour: Flavour | None  # None: runs on both

    @property
    def no_transaction(self) -> bool:
        first = self.path.read_text(encoding="utf-8").lstrip().splitlines()[:1]
        return bool(first) and first[0].strip().lower() == NO_TRANSACTION


def discover(folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files of ``folder`` in lexical order; raises on a badly named ``.sql``."""
    found = []
    for path in sorted(folder.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ValueError(f"migration file name {path.name!r} is not NNNN_name[.flavour].sql")
        flavour = match.group(3)
        found.append(Migration(path.name[:-4], path, flavour))  # type: ignore[arg-type]
    return found


def timescale_available(url: str) -> bool:
    """True when TimescaleDB can be used: installed already, or available *and* preloaded.

    Probed on its own short connection: ``CREATE EXTENSION timescaledb`` without
    ``shared_preload_libraries`` kills the backend, so we never try it blindly.
    """
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone():
                return True
            avail = conn.execute(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone()
            preload = conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone()
    except psycopg.Error as exc:
        log.warning("timescaledb probe failed (%s); using plain PostgreSQL", exc)
        return False
    libs = {p.strip().strip('"') for p in str(preload[0] if preload else "").split(",")}
    return bool(avail) and "timescaledb" in libs


def _enable_timescale(url: str) -> bool:
    """Create the extension (on its own connection); False when that is refused."""
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        return True
    except psycopg.Error as exc:
        log.warning("CREATE EXTENSION timescaledb failed (%s); using plain PostgreSQL", exc)
        return False


_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    name       text PRIMARY KEY,
    flavour    text,
    applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS schema_info (
    key   text PRIMARY KEY,
    value text NOT NULL
);
"""


def _flavour(conn: psycopg.Connection[Any], url: str, timescale: bool | None) -> Flavour:
    """The database's recorded flavour, or choose and record one on first use."""
    row = conn.execute("SELECT value FROM schema_info WHERE key = 'flavour'").fetchone()
    if row:
        return "timescale" if row[0] == "timescale" else "plain"
    wanted = timescale_available(url) if timescale is None else timescale
    chosen: Flavour = "timescale" if wanted and _enable_timescale(url) else "plain"
    with conn.transaction():
        conn.execute("INSERT INTO schema_info (key, value) VALUES ('flavour', %s) "
                     "ON CONFLICT (key) DO NOTHING", (chosen,))
    return chosen


def split_statements(text: str) -> list[str]:
    """Split SQL on ``;`` outside quotes, comments and dollar-quoted bodies."""
    out, buf, i, n = [], [], 0, len(text)
    while i < n:
        ch = text[i]
        if text.startswith("--", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            buf.append(text[i:j])
            i = j
            continue
        if ch == "'":
            j = text.find("'", i + 1)
            while j >= 0 and text.startswith("''", j):
                j = text.find("'", j + 2)
            j = n if j < 0 else j + 1
            buf.append(text[i:j])
            i = j
            continue
        tag = re.match(r"\$[A-Za-z_]*\$", text[i:]) if ch == "$" else None
        if tag:
            j = text.find(tag.group(0), i + len(tag.group(0)))
            j = n if j < 0 else j + len(tag.group(0))
            buf.append(text[i:j])
            i = j
            continue
        if ch == ";":
            out.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    out.append("".join(buf))
    return [s.strip() for s in out if _has_code(s)]


def _has_code(stmt: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in stmt.splitlines())


def _apply(conn: psycopg.Connection[Any], m: Migration, flavour: Flavour) -> None:
    text = m.path.read_text(encoding="utf-8")
    record = ("INSERT INTO schema_migrations (name, flavour) VALUES (%s, %s) "
              "ON CONFLICT (name) DO NOTHING")
    if m.no_transaction:
        for stmt in split_statements(text):
            conn.execute(stmt)  # type: ignore[call-overload]
        conn.execute(record, (m.name, flavour))
        return
    with conn.transaction():
        conn.execute(text)  # type: ignore[call-overload]  # several statements, no params
        conn.execute(record, (m.name, flavour))


def migrate(url: str, *, timescale: bool | None = None,
            folder: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations to the database at ``url``; return the names applied.

    ``timescale`` forces the flavour on a fresh database (None: detect). Idempotent.
    """
    migrations = discover(folder)
    applied_now: list[str] = []
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            conn.execute(_BOOKKEEPING)
            flavour = _flavour(conn, url, timescale)
            done = {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
            for m in migrations:
                if m.name in done or (m.flavour is not None and m.flavour != flavour):
                    continue
                log.info("applying migration %s", m.name)
                try:
                    _apply(conn, m, flavour)
                except psycopg.Error as exc:
                    raise MigrationError(f"migration {m.name} failed: {exc}") from exc
                applied_now.append(m.name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    return applied_now


def flavour_of(conn: psycopg.Connection[Any]) -> Flavour:
    """The flavour recorded in a migrated database (``plain`` when unknown)."""
    row = conn.execute("SELECT value FROM schema_info WHERE key = 'flavour'").fetchone()
    return "timescale" if row and row[0] == "timescale" else "plain"


class MigrationError(RuntimeError):
    """A migration file failed; its transaction was rolled back."""
