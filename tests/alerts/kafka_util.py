"""Read a topic from the start without a consumer group (tests only)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from anlan.settings import Settings


async def read_topic(settings: Settings, topic: str, done: Callable[[list[bytes]], bool],
                     timeout: float = 20.0) -> list[bytes]:
    """Values of ``topic`` (contract name) from the beginning until ``done(values)``."""
    name = settings.topic(topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None,
                                enable_auto_commit=False)
    await consumer.start()
    values: list[bytes] = []
    try:
        parts = consumer.partitions_for_topic(name) or set()
        if not parts:
            await consumer.force_metadata_update()
            parts = consumer.partitions_for_topic(name) or set()
        consumer.assign([TopicPartition(name, p) for p in parts])
        await consumer.seek_to_beginning()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not done(values) and loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                values.extend(r.value for r in records if r.value is not None)
    finally:
        await consumer.stop()
    return values
