"""Migrations: naming, statement splitting (pure) and idempotence on the real PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import psycopg
import pytest

from anlan.stack.database import drop_database, ensure_database
from store.migrate import (
    MIGRATIONS_DIR,
    MigrationError,
    discover,
    flavour_of,
    migrate,
    split_statements,
    timescale_available,
)


def test_discover_orders_files_and_reads_flavours() -> None:
    found = discover()
    names = [m.name for m in found]
    assert names == sorted(names)
    assert names[0] == "0001_core"
    by_name = {m.name: m for m in found}
    assert by_name["0002_readings_storage.plain"].flavour == "plain"
    assert by_name["0002_readings_storage.timescale"].flavour == "timescale"
    assert by_name["0002_readings_storage.timescale"].no_transaction
    assert not by_name["0001_core"].no_transaction


def test_discover_rejects_bad_names(tmp_path: Path) -> None:
    (tmp_path / "1_oops.sql").write_text("SELECT 1;")
    with pytest.raises(ValueError, match="NNNN_name"):
        discover(tmp_path)


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT 1; SELECT 2;", ["SELECT 1", "SELECT 2"]),
    ("SELECT ';'; -- a; comment\nSELECT 2", ["SELECT ';'", "-- a; comment\nSELECT 2"]),
    ("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;",
     ["CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql"]),
    ("SELECT 'it''s; fine';", ["SELECT 'it''s; fine'"]),
    ("-- only a comment\n;\n", []),
])
def test_split_statements(sql: str, expected: list[str]) -> None:
    assert split_statements(sql) == expected


def test_timescale_statements_split_cleanly() -> None:
    text = (MIGRATIONS_DIR / "0002_readings_storage.timescale.sql").read_text()
    stmts = split_statements(text)
    assert len(stmts) == 6
    assert "create_hypertable" in stmts[0] and "CREATE MATERIALIZED VIEW" in stmts[4]


@pytest.fixture()
def fresh_url() -> object:
    url = ensure_database(f"postgresql://postgres@127.0.0.1:5432/anlan_mig_{uuid.uuid4().hex[:8]}")
    yield url
    drop_database(url)


@pytest.mark.integration
def test_migrate_twice_is_a_no_op(database_url: str) -> None:
    assert migrate(database_url) == []  # the fixture migrated already
    with psycopg.connect(database_url) as conn:
        before = conn.execute("SELECT name, applied_at FROM schema_migrations "
                              "ORDER BY name").fetchall()
        assert migrate(database_url) == []
        after = conn.execute("SELECT name, applied_at FROM schema_migrations "
                             "ORDER BY name").fetchall()
    assert before == after
    assert {"0001_core", "0002_readings_storage.plain"} <= {n for n, _ in after}


@pytest.mark.integration
def test_fresh_database_gets_the_plain_flavour_here(fresh_url: str) -> None:
    applied = migrate(fresh_url)
    assert applied[:2] == ["0001_core", "0002_readings_storage.plain"]
    assert "0002_readings_storage.timescale" not in applied
    assert migrate(fresh_url) == []
    with psycopg.connect(fresh_url) as conn:
        assert flavour_of(conn) == "plain"
        assert conn.execute("SELECT count(*) FROM readings_hourly").fetchone() == (0,)
    assert timescale_available(fresh_url) is False  # this machine has no TimescaleDB


@pytest.mark.integration
def test_concurrent_migrators_apply_each_file_once(fresh_url: str) -> None:
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(migrate(fresh_url))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    applied = [name for r in results for name in r]
    assert len(applied) == len(set(applied))
    assert "0001_core" in applied


@pytest.mark.integration
def test_failed_migration_rolls_back_and_is_retried(fresh_url: str, tmp_path: Path) -> None:
    (tmp_path / "0001_ok.sql").write_text("CREATE TABLE t1 (x int);")
    (tmp_path / "0002_bad.sql").write_text("CREATE TABLE t2 (x int); SELECT no_such_fn();")
    with pytest.raises(MigrationError, match="0002_bad"):
        migrate(fresh_url, folder=tmp_path)
    with psycopg.connect(fresh_url) as conn:
        assert conn.execute("SELECT to_regclass('t2')").fetchone() == (None,)
        assert [r[0] for r in conn.execute("SELECT name FROM schema_migrations")] == ["0001_ok"]
    (tmp_path / "0002_bad.sql").write_text("CREATE TABLE t2 (x int);")
    assert migrate(fresh_url, folder=tmp_path) == ["0002_bad"]


@pytest.mark.parametrize("migration", discover(), ids=lambda m: m.name)
def test_every_migration_parses(migration: object) -> None:
    """Syntax check with PostgreSQL's own parser (pglast), so the TimescaleDB flavour — which
    this machine cannot run — is at least well-formed."""
    pglast = pytest.importorskip("pglast")
    for stmt in split_statements(migration.path.read_text()):  # type: ignore[attr-defined]
        pglast.parse_sql(stmt)
