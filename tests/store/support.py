"""Event factories and helpers for the store tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from anlan import topics
from anlan.events import Alert, Command, Delivery, IncidentEvent, Level, Reading, Readings, Task
from anlan.kafka import make_producer
from anlan.settings import Settings

T0 = datetime(2026, 7, 20, 0, 0, tzinfo=UTC)


def readings_event(gw: str, seq: int, n: int = 20, start: datetime = T0,
                   region: str = "360121100001-G1") -> Readings:
    """A gateway message with ``n`` sensors, one reading each, at ``start + seq`` minutes."""
    ts = start + timedelta(minutes=seq)
    return Readings(gateway_id=gw, seq=seq, received_at=ts, readings=[
        Reading(sensor=f"{gw}-s{i:02d}", ts=ts, kind="rain_mm", value=float(seq % 50) + i / 10,
                region=region) for i in range(n)])


def incident_event(iid: str, change: str, level: Level, ts: datetime, status: str = "open",
                   region: str = "360121100", actor: str | None = None) -> IncidentEvent:
    return IncidentEvent(incident_id=iid, plan="rainstorm", hazard="rainstorm", region=region,
                         change=change, level=level, status=status, ts=ts,  # type: ignore[arg-type]
                         actor=actor)


def alert_event(aid: str, iid: str, level: Level, sent: datetime, msg_type: str = "Alert",
                region: str = "360121100", status: str = "Actual") -> Alert:
    return Alert(alert_id=aid, incident_id=iid, msg_type=msg_type, status=status,  # type: ignore[arg-type]
                 plan="rainstorm", hazard="rainstorm", region=region, level=level, sent=sent,
                 headline=f"{level.colour} rainstorm warning", evidence={"sum_mm": 55.5})


def delivery_event(did: str, aid: str, iid: str, at: datetime, outcome: str = "sent") -> Delivery:
    return Delivery(delivery_id=did, alert_id=aid, incident_id=iid, recipient="p-001",
                    channel="json", attempt=1, outcome=outcome, at=at)  # type: ignore[arg-type]


def task_event(tid: str, iid: str, state: str, ts: datetime) -> Task:
    return Task(task_id=tid, incident_id=iid, kind="mobilization", state=state,  # type: ignore[arg-type]
                region="360121100001", title="sandbags", quota=3, skills=["rescue"], ts=ts)


def command_event(cid: str, target: str, ts: datetime, kind: str = "ack") -> Command:
    return Command(command_id=cid, kind=kind, target=target, actor="duty-1", ts=ts)  # type: ignore[arg-type]


async def produce(settings: Settings, records: Iterable[tuple[str, bytes | None, bytes]]) -> int:
    """Send ``(contract topic, key, value)`` records and wait for every ack."""
    producer = make_producer(settings)
    await producer.start()
    n = 0
    try:
        futures = [await producer.send(settings.topic(t), value=v, key=k) for t, k, v in records]
        for f in futures:
            await f
            n += 1
    finally:
        await producer.stop()
    return n


def count(url: str, table: str, where: str = "true") -> int:
    with psycopg.connect(url, connect_timeout=5) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()  # type: ignore[call-overload]
        return int(row[0]) if row else 0


async def wait_until(check: Callable[[], bool], timeout: float = 30.0,
                     interval: float = 0.1) -> bool:
    """Poll ``check`` (run in a thread) until it is true or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if await asyncio.to_thread(check):
                return True
        except psycopg.OperationalError:
            pass
        await asyncio.sleep(interval)
    return False


def readings_records(gw: str, seqs: Iterable[int], n: int = 20
                     ) -> list[tuple[str, bytes | None, bytes]]:
    return [(topics.READINGS, gw.encode(), readings_event(gw, s, n).to_bytes()) for s in seqs]


def rows(url: str, query: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()  # type: ignore[call-overload]
