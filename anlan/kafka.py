"""Kafka client factories with Anlan's delivery settings (acks=all, idempotent when supported)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from anlan.settings import Settings

log = logging.getLogger(__name__)

TANSU_CLUSTER_ID = "tansu_cluster"
"""The cluster id the tansu broker reports (it is not configurable in the version we pin)."""


async def detect_broker(bootstrap: str, timeout: float = 15.0) -> str:
    """``"tansu"`` or ``"kafka"``: which broker answers at ``bootstrap`` (by its cluster id)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap,
                                request_timeout_ms=int(timeout * 1000))
    await asyncio.wait_for(admin.start(), timeout)
    try:
        cluster = await asyncio.wait_for(admin.describe_cluster(), timeout)
    finally:
        await admin.close()
    return "tansu" if cluster.get("cluster_id") == TANSU_CLUSTER_ID else "kafka"


def resolve_broker(settings: Settings) -> Settings:
    """``settings`` with ``kafka_broker`` known and the idempotent producer off for tansu.

    With ``ANLAN_KAFKA_BROKER=auto`` (the default) the broker is asked once; when it does not
    answer, the settings are returned unchanged (the part retries Kafka as it always does).
    """
    kind = settings.kafka_broker
    if kind == "auto" and settings.kafka_bootstrap:
        try:
            kind = asyncio.run(detect_broker(settings.kafka_bootstrap))
        except (KafkaError, OSError, asyncio.TimeoutError) as exc:
            log.warning("could not ask Kafka at %s which broker it is (%s); assuming a real "
                        "Kafka", settings.kafka_bootstrap, type(exc).__name__)
            return settings
    return settings.model_copy(update=dict(
        kafka_broker=kind,
        kafka_idempotent_producer=settings.kafka_idempotent_producer and kind != "tansu"))


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
