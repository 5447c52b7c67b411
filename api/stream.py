"""Live changes for SSE clients: a Kafka consumer of alerts and incidents fanned out in-process.

Each API process reads ``anlan.alerts`` and ``anlan.incidents`` without a consumer group (every
process sees every event, from the end of the log) and hands each event to the connected
clients whose region scope covers the event's region. A client that falls behind by more than
its queue is told to ``resync`` (re-fetch the lists) instead of blocking the others.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError

from anlan import topics
from anlan.events import Alert, IncidentEvent
from anlan.kafka import make_consumer
from anlan.settings import Settings
from api.metrics import ApiMetrics
from api.scope import in_scope

log = logging.getLogger(__name__)


@dataclass(eq=False)
class StreamClient:
    """One SSE connection: its region scope and its queue of pending events."""

    scope: str
    queue: asyncio.Queue[dict[str, Any]]
    lagged: bool = False


@dataclass
class StreamHub:
    """Fan-out of change events to SSE clients (one per API process)."""

    queue_size: int = 500
    clients: set[StreamClient] = field(default_factory=set)

    def subscribe(self, scope: str) -> StreamClient:
        client = StreamClient(scope=scope, queue=asyncio.Queue(self.queue_size))
        self.clients.add(client)
        return client

    def unsubscribe(self, client: StreamClient) -> None:
        self.clients.discard(client)

    def publish(self, event: dict[str, Any], region: str) -> int:
        """Queue ``event`` for every client whose scope covers ``region``; clients reached."""
        reached = 0
        for client in self.clients:
            if not in_scope(client.scope, region):
                continue
            try:
                client.queue.put_nowait(event)
                reached += 1
            except asyncio.QueueFull:
                client.lagged = True
        return reached


    def resync_all(self) -> None:
        """Tell every client to re-fetch (events may have been missed)."""
        for client in self.clients:
            try:
                client.queue.put_nowait({"type": "resync", "data": {}})
            except asyncio.QueueFull:
                client.lagged = True


def decode(topic: str, value: bytes) -> tuple[dict[str, Any], str] | None:
    """(SSE event, region) of a Kafka record of the alerts or incidents topic; None if bad."""
    try:
        if topic.endswith(topics.ALERTS):
            alert = Alert.from_bytes(value)
            return {"type": "alert", "data": alert.model_dump(mode="json")}, alert.region
        if topic.endswith(topics.INCIDENTS):
            inc = IncidentEvent.from_bytes(value)
            return {"type": "incident", "data": inc.model_dump(mode="json")}, inc.region
    except ValidationError as exc:
        log.warning("stream: skipping a malformed record on %s: %s", topic, exc.errors()[:1])
    return None


async def _assigned(consumer: AIOKafkaConsumer, timeout: float) -> None:
    """Wait until partitions are assigned and their start positions resolved."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not consumer.assignment():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("no partitions assigned to the stream consumer")
        await asyncio.sleep(0.05)
    for tp in consumer.assignment():
        await consumer.position(tp)


async def run_stream(settings: Settings, hub: StreamHub, metrics: ApiMetrics,
                     ready: asyncio.Event, timeout: float = 10.0) -> None:
    """Consume alerts and incidents from the end of the log into ``hub`` until cancelled."""
    consumer = make_consumer(settings, topics.ALERTS, topics.INCIDENTS,
                             group_id=None,  # type: ignore[arg-type]  # no group: every process
                             auto_offset_reset="latest", enable_auto_commit=False)
    await consumer.start()
    try:
        await _assigned(consumer, timeout)
        ready.set()
        async for record in consumer:
            decoded = decode(record.topic, record.value or b"")
            if decoded is None:
                continue
            event, region = decoded
            hub.publish(event, region)
            metrics.stream_events.labels(event["type"]).inc()
    finally:
        await consumer.stop()


async def supervise_stream(settings: Settings, hub: StreamHub, metrics: ApiMetrics,
                           ready: asyncio.Event, backoff_max_s: float = 30.0) -> None:
    """Keep :func:`run_stream` running: after a failure (broker gone, rebalance error) wait,
    start again from the end of the log and tell the clients to re-fetch what they missed."""
    backoff = 0.5
    while True:
        try:
            await run_stream(settings, hub, metrics, ready)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any consumer failure: restart it
            ready.clear()
            log.warning("live stream consumer failed (%r); restarting in %.1f s", exc, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, backoff_max_s)
            hub.resync_all()


async def sse_events(client: StreamClient, keepalive_s: float) -> AsyncIterator[str]:
    """The SSE text of ``client``'s events, with keep-alive comments while idle."""
    yield "retry: 3000\n\n"
    while True:
        if client.lagged:
            client.lagged = False
            while not client.queue.empty():
                client.queue.get_nowait()
            yield "event: resync\ndata: {}\n\n"
        try:
            event = await asyncio.wait_for(client.queue.get(), keepalive_s)
        except TimeoutError:
            yield ": keep-alive\n\n"
            continue
        yield f"event: {event['type']}\ndata: {json.dumps(event['data'], ensure_ascii=False)}\n\n"
