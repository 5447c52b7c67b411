"""Publishing events to Kafka from the dispatcher (deliveries, task changes, dead letters)."""

from __future__ import annotations

import logging
from typing import Protocol

from aiokafka import AIOKafkaProducer

from anlan.events import Event
from anlan.settings import Settings

log = logging.getLogger(__name__)


class Publisher(Protocol):
    async def publish(self, topic: str, key: str | None, event: Event) -> None: ...


class KafkaPublisher:
    """Sends events to contract topics (prefixed per settings) and waits for the broker's ack."""

    def __init__(self, settings: Settings, producer: AIOKafkaProducer) -> None:
        self.settings = settings
        self.producer = producer

    async def publish(self, topic: str, key: str | None, event: Event) -> None:
        await self.producer.send_and_wait(self.settings.topic(topic), event.to_bytes(),
                                          key=key.encode() if key else None)


class SafePublisher:
    """Wraps a publisher so that a broker failure is logged, never raised: the database
    already holds the record, and a lost delivery report must not stop a delivery."""

    def __init__(self, inner: Publisher) -> None:
        self.inner = inner
        self.failures = 0

    async def publish(self, topic: str, key: str | None, event: Event) -> None:
        try:
            await self.inner.publish(topic, key, event)
        except Exception as exc:  # noqa: BLE001
            self.failures += 1
            log.warning("could not publish to %s: %s", topic, exc)
