"""``anlan worker``: run a Faust stream worker until SIGTERM / Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import logging

from anlan.errors import StartupError
from anlan.kafka import resolve_broker
from anlan.registry import load_registry
from anlan.settings import Settings, load_settings
from anlan.stack.kafka import create_topics
from streams.app import INTERNAL, create_app, internal_topic, load_book

log = logging.getLogger(__name__)


def ensure_internal_topics(settings: Settings) -> None:
    """Create the contract topics and the streams' internal topics (idempotent)."""
    from anlan import topics

    names = [*topics.ALL_TOPICS, *(internal_topic(settings, n) for n in INTERNAL)]
    asyncio.run(create_topics(settings, names))


def worker_main(argv: list[str]) -> int:
    """``anlan worker``: validate, assess and run the incident lifecycle."""
    parser = argparse.ArgumentParser(
        prog="anlan worker", description="Run a Faust stream worker (validate → assess → "
        "incidents). Run several with the same ANLAN_WORKER_ID to share the partitions.")
    parser.add_argument("--loglevel", default=None, help="log level (default ANLAN_LOG_LEVEL)")
    args = parser.parse_args(argv)
    settings = load_settings()
    settings.require_kafka()
    settings = resolve_broker(settings)
    registry = load_registry(settings.sensors_file)
    try:
        book = load_book(settings)
    except Exception as exc:  # the plans' loader names the file and field
        raise StartupError(f"contingency plans in {settings.plans_dir}: {exc}") from exc
    settings.worker_data_dir.mkdir(parents=True, exist_ok=True)
    ensure_internal_topics(settings)
    app = create_app(settings, registry=registry, book=book)
    import faust

    level = (args.loglevel or settings.log_level).upper()
    worker = faust.Worker(app, loglevel=level, quiet=True, redirect_stdouts=False,
                          override_logging=False)
    logging.getLogger().setLevel(level)
    worker.execute_from_commandline()
    return worker.exitcode if isinstance(getattr(worker, "exitcode", 0), int) else 0
