"""Kafka client factories with Anlan's delivery settings (acks=all, idempotent when supported)."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from anlan.settings import Settings


def make_producer(settings: Settings, **overrides: Any) -> AIOKafkaProducer:
    """A producer that waits for all in-sync replicas (``acks=all``) and is idempotent on a real
    Kafka (``ANLAN_KAFKA_IDEMPOTENT_PRODUCER``; the embedded tansu broker does not support it)."""
    options: dict[str, Any] = dict(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        enable_idempotence=settings.kafka_idempotent_producer,
        linger_ms=5,
        max_batch_size=1 << 20,
        max_request_size=4 << 20,
        request_timeout_ms=30_000,
    )
    options.update(overrides)
    return AIOKafkaProducer(**options)


def make_consumer(settings: Settings, *topic_names: str, group_id: str,
                  **overrides: Any) -> AIOKafkaConsumer:
    """A consumer of the given contract topic names (prefixed per settings), manual commits."""
    options: dict[str, Any] = dict(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=2000,
    )
    options.update(overrides)
    return AIOKafkaConsumer(*(settings.topic(t) for t in topic_names), **options)
