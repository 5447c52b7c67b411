"""Test data for API tests: events written to the store exactly as the sink writes them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from anlan import topics
from anlan.events import (
    Alert,
    DeadLetter,
    Delivery,
    Event,
    GatewayStatus,
    IncidentEvent,
    Level,
    Readings,
    Report,
    SeqGap,
    Signal,
    Task,
)
from store.sink.decode import build_batch
from store.sink.writer import Writer


def run_async(factory: Callable[[], Any]) -> Any:
    """Run a coroutine to completion on a fresh loop in its own thread (works while the
    calling thread runs a loop, as sync Playwright does)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


TOPIC_OF = {Alert: topics.ALERTS, IncidentEvent: topics.INCIDENTS, Delivery: topics.DELIVERIES,
            Signal: topics.SIGNALS, Task: topics.TASKS, Readings: topics.READINGS,
            GatewayStatus: topics.GATEWAY_STATUS, SeqGap: topics.GATEWAY_STATUS,
            Report: topics.REPORTS_RAW,
            DeadLetter: topics.DEADLETTER}


def store_events(url: str, *events: Event) -> None:
    """Write events to the query store through the store's own sink code."""
    writer = Writer(url)
    try:
        batch = build_batch((TOPIC_OF[type(e)], None, e.to_bytes()) for e in events)
        assert batch.rejected == 0, batch.rows
        writer.write(batch)
    finally:
        writer.close()


def incident(region: str, level: Level = Level.I, *, status: str = "open",
             change: str = "opened", incident_id: str | None = None,
             ts: datetime | None = None, actor: str | None = None,
             evidence: dict[str, Any] | None = None) -> IncidentEvent:
    return IncidentEvent(
        incident_id=incident_id or f"inc-{uuid.uuid4().hex[:10]}", plan="rainstorm-cma",
        hazard="rainstorm", region=region, change=change, level=level,  # type: ignore[arg-type]
        status=status, ts=ts or datetime.now(UTC), actor=actor,  # type: ignore[arg-type]
        evidence=evidence or {})


def alert_for(inc: IncidentEvent, *, headline: str = "暴雨红色预警", msg_type: str = "Alert",
              sent: datetime | None = None, evidence: dict[str, Any] | None = None) -> Alert:
    return Alert(alert_id=f"al-{uuid.uuid4().hex[:12]}", incident_id=inc.incident_id,
                 msg_type=msg_type, plan=inc.plan, hazard=inc.hazard,  # type: ignore[arg-type]
                 region=inc.region, level=inc.level, sent=sent or inc.ts + timedelta(seconds=1),
                 headline=headline, description="河口村1小时降雨量超过50毫米",
                 instruction="立即转移低洼地区群众", evidence=evidence or inc.evidence)


def delivery(a: Alert, recipient: str, outcome: str = "sent") -> Delivery:
    return Delivery(delivery_id=uuid.uuid4().hex, alert_id=a.alert_id, incident_id=a.incident_id,
                    recipient=recipient, channel="json", attempt=1, at=a.sent + timedelta(seconds=2),
                    outcome=outcome)  # type: ignore[arg-type]


def wait_commands(settings: Any, command_ids: set[str], timeout: float = 20.0
                  ) -> dict[str, tuple[bytes | None, Any]]:
    """(key, Command) of each command id, read from ``anlan.commands`` from the beginning."""
    found = find_commands(settings, lambda c: c.command_id in command_ids, len(command_ids),
                          timeout)
    return {cmd.command_id: (key, cmd) for key, cmd in found}


def find_commands(settings: Any, match: Callable[[Any], bool], want: int = 1,
                  timeout: float = 20.0) -> list[tuple[bytes | None, Any]]:
    """The first ``want`` commands on ``anlan.commands`` for which ``match`` is true."""
    import asyncio

    from anlan.events import Command
    from anlan.kafka import make_consumer

    async def run() -> list[tuple[bytes | None, Any]]:
        consumer = make_consumer(settings, topics.COMMANDS, group_id=None)
        await consumer.start()
        found: dict[str, tuple[bytes | None, Any]] = {}
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while len(found) < want and loop.time() < deadline:
                batches = await consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    for rec in records:
                        cmd = Command.from_bytes(rec.value or b"")
                        if match(cmd):
                            found[cmd.command_id] = (rec.key, cmd)
        finally:
            await consumer.stop()
        return list(found.values())

    return run_async(run)


def offer_task(url: str, task: Task, person_id: str, ttl: timedelta = timedelta(hours=2)) -> str:
    """Store a mobilization task offered to ``person_id`` through the alerts' own repository;
    return the personal-link token."""

    import psycopg

    from alerts.mobilization import repository as mob
    from alerts.mobilization.links import create_link

    async def run() -> str:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await mob.insert_task(conn, task, "offered", task.ts + ttl, 300.0, False)
            row = await mob.get_task(conn, task.task_id)
            assert row is not None
            await mob.add_assignment(conn, row, person_id, 0)
            return await create_link(conn, task.task_id, person_id, task.ts + ttl)

    return run_async(run)


def produce(settings: Any, topic: str, key: str, event: Event) -> None:
    """Produce one event to a contract topic (waits for the broker's ack)."""

    from anlan.kafka import make_producer

    async def run() -> None:
        producer = make_producer(settings)
        await producer.start()
        try:
            await producer.send_and_wait(settings.topic(topic), event.to_bytes(),
                                         key=key.encode())
        finally:
            await producer.stop()

    run_async(run)
