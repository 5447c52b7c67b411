"""``anlan dispatch`` and ``anlan directory`` commands."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

import psycopg

from alerts.directory import db as dirdb
from alerts.directory.load import read_file
from alerts.directory.tree import RegionTree
from alerts.recipients import on_duty
from anlan.errors import PermanentError, StartupError
from anlan.events import utcnow
from anlan.kafka import resolve_broker
from anlan.settings import load_settings


def dispatch_main(argv: list[str]) -> int:
    """``anlan dispatch``: deliver alerts and run mobilization until SIGINT / SIGTERM."""
    from alerts.dispatch.service import DispatchService, ServiceOptions

    parser = argparse.ArgumentParser(prog="anlan dispatch", description=dispatch_main.__doc__)
    parser.add_argument("--tick", type=float, default=1.0, help="timer period in s (1.0)")
    parser.add_argument("--renotify-s", type=float, default=None,
                        help="re-notification interval when the alert names none "
                        "(default: the ack timeout)")
    parser.add_argument("--wave-s", type=float, default=300.0,
                        help="seconds a mobilization wave waits before the next (300)")
    parser.add_argument("--lease-s", type=float, default=90.0,
                        help="resend claims a dead dispatcher left after this long (90)")
    parser.add_argument("--no-import", action="store_true",
                        help="do not import ANLAN_DIRECTORY_FILE into an empty database")
    args = parser.parse_args(argv)
    settings = load_settings()
    settings.require_kafka()
    settings = resolve_broker(settings)
    options = ServiceOptions(tick_s=args.tick, import_directory=not args.no_import)
    options.dispatch.renotify_s = args.renotify_s
    options.dispatch.lease_s = args.lease_s
    options.mobilize.wave_s = args.wave_s

    logging.getLogger("apprise").setLevel(logging.WARNING)  # one line per send is noise

    async def main() -> None:
        service = DispatchService(settings, options)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, service.stop)
        await service.run()

    asyncio.run(main())
    return 0


def directory_main(argv: list[str]) -> int:
    """``anlan directory import FILE.yaml|FILE.csv`` / ``anlan directory show``."""
    parser = argparse.ArgumentParser(prog="anlan directory", description=directory_main.__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    imp = sub.add_parser("import", help="replace the directory (YAML) or upsert people (CSV)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--dry-run", action="store_true", help="validate only")
    sub.add_parser("show", help="print the regions tree, people and who is on duty now")
    args = parser.parse_args(argv)
    settings = load_settings()
    try:
        with psycopg.connect(settings.database_url, connect_timeout=5) as conn:
            if args.cmd == "import":
                return _import(conn, args.file, args.dry_run)
            return _show(conn)
    except psycopg.OperationalError as exc:
        raise StartupError(f"database: {str(exc).strip().splitlines()[0]}") from exc
    except psycopg.errors.UndefinedTable as exc:
        raise StartupError("the directory tables are missing; run `anlan db migrate`") from exc


def _import(conn: psycopg.Connection, path: Path, dry_run: bool) -> int:
    try:
        base = dirdb.load(conn) if path.suffix.lower() == ".csv" else None
        directory = read_file(path, base)
    except PermanentError as exc:
        print(f"anlan directory: {exc}")
        return 1
    if dry_run:
        print(f"{path}: valid ({len(directory.regions)} regions, {len(directory.people)} people)")
        return 0
    counts = dirdb.save(conn, directory, str(path))
    print("imported " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    return 0


def _show(conn: psycopg.Connection) -> int:
    directory = dirdb.load(conn)
    tree = RegionTree(directory)
    now = utcnow()
    people_by_region: dict[str, list[str]] = {}
    for p in directory.people:
        people_by_region.setdefault(p.region, []).append(
            f"{p.name}[{','.join(p.roles)}; {len(p.urls)} url(s)]")
    names = {p.id: p.name for p in directory.people}
    roots = [r.id for r in directory.regions if r.parent is None]
    for root in roots:
        for rid in tree.walk(root):
            depth = len(tree.ancestors(rid)) - 1
            duty = ", ".join(f"{names.get(pid, pid)} ({pid})"
                             for pid in on_duty(directory, rid, now))
            print(f"{'  ' * depth}{rid} {tree.name(rid)} ({tree.tier(rid)})"
                  + (f"  on duty: {duty}" if duty else ""))
            for line in people_by_region.get(rid, []):
                print(f"{'  ' * depth}  · {line}")
    print(f"{len(directory.volunteers)} volunteers, {len(directory.vulnerable)} vulnerable "
          "residents")
    return 0
