"""``anlan db …`` and ``anlan sink``: thin command-line adapters over the store."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from typing import Any

import psycopg

from anlan.errors import StartupError
from anlan.kafka import resolve_broker
from anlan.settings import load_settings
from anlan.stack.database import ensure_database


def db_main(argv: list[str]) -> int:
    """``anlan db migrate|status|retention``: schema and maintenance commands."""
    parser = argparse.ArgumentParser(prog="anlan db", description="database commands")
    parser.add_argument("--url", help="database URL (default: ANLAN_DATABASE_URL)")
    sub = parser.add_subparsers(dest="command", required=True)
    mig = sub.add_parser("migrate", help="apply pending schema migrations (idempotent)")
    mig.add_argument("--url", dest="sub_url", help=argparse.SUPPRESS)
    flavour = mig.add_mutually_exclusive_group()
    flavour.add_argument("--plain", action="store_true",
                         help="on a fresh database: do not use TimescaleDB even if available")
    flavour.add_argument("--timescale", action="store_true",
                         help="on a fresh database: require TimescaleDB (fails without it)")
    sub.add_parser("status", help="flavour, applied and pending migrations")
    ret = sub.add_parser("retention", help="delete readings older than --days now")
    ret.add_argument("--days", type=float, required=True)
    args = parser.parse_args(argv)

    url = ensure_database(getattr(args, "sub_url", None) or args.url
                          or load_settings().database_url)
    if args.command == "migrate":
        return _migrate(url, args.plain, args.timescale)
    if args.command == "status":
        return _status(url)
    return _retention(url, args.days)


def _migrate(url: str, plain: bool, timescale: bool) -> int:
    from store.migrate import flavour_of, migrate

    applied = migrate(url, timescale=False if plain else (True if timescale else None))
    with psycopg.connect(url) as conn:
        used = flavour_of(conn)
    if timescale and used != "timescale":
        print("TimescaleDB was requested but the database is plain PostgreSQL")
        return 1
    for name in applied:
        print(f"applied {name}")
    print(f"schema up to date ({used}; {len(applied)} applied)")
    return 0


def _status(url: str) -> int:
    from store.migrate import discover, flavour_of

    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('schema_migrations')").fetchone() == (None,):
            print("not migrated: run `anlan db migrate`")
            return 1
        used = flavour_of(conn)
        done: dict[str, Any] = dict(
            conn.execute("SELECT name, applied_at FROM schema_migrations").fetchall())
    pending = [m.name for m in discover()
               if m.name not in done and m.flavour in (None, used)]
    print(f"flavour {used}; {len(done)} applied; {len(pending)} pending")
    for name, at in sorted(done.items()):
        print(f"  applied  {name}  {at:%Y-%m-%d %H:%M:%S%z}")
    for name in pending:
        print(f"  pending  {name}")
    return 1 if pending else 0


def _retention(url: str, days: float) -> int:
    from store.retention import apply

    with psycopg.connect(url, autocommit=True) as conn:
        print(f"deleted {apply(conn, days)} (readings older than {days:g} days)")
    return 0


def sink_main(argv: list[str]) -> int:
    """``anlan sink``: write every topic to PostgreSQL until interrupted."""
    parser = argparse.ArgumentParser(prog="anlan sink",
                                     description="write the Kafka topics to PostgreSQL")
    parser.add_argument("--group", default="anlan-sink", help="Kafka consumer group id")
    parser.add_argument("--retention-days", type=float, default=365.0,
                        help="delete readings older than this (plain PostgreSQL); 0 keeps all")
    parser.add_argument("--no-migrate", action="store_true", help="do not migrate at start")
    parser.add_argument("--session-timeout", type=float, default=10.0,
                        help="Kafka consumer session timeout in seconds (how soon a dead sink's "
                        "partitions move on)")
    args = parser.parse_args(argv)

    settings = load_settings()
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, logging.root.level))
    settings = resolve_broker(settings)
    url = ensure_database(settings.database_url)
    if not args.no_migrate:
        from store.migrate import migrate

        migrate(url)
    from store.sink.runner import SinkOptions, run_sink

    session_ms = int(args.session_timeout * 1000)
    options = SinkOptions(group_id=args.group, retention_days=args.retention_days,
                          consumer_overrides={"session_timeout_ms": session_ms,
                                              "heartbeat_interval_ms": max(100, session_ms // 5)})

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)  # finish the batch in hand, then stop
        stats = await run_sink(settings, options, stop)
        logging.getLogger("store.sink").info(
            "sink stopped: %d records, %d rows, %d rejected, %d database retries",
            stats.records, stats.rows, stats.rejected, stats.db_retries)

    from aiokafka.errors import KafkaConnectionError

    try:
        asyncio.run(main())
    except KafkaConnectionError as exc:
        raise StartupError(f"Kafka at {settings.kafka_bootstrap or '(unset)'} does not answer "
                           f"({exc}) — check ANLAN_KAFKA_BOOTSTRAP") from exc
    return 0
