"""The stack runner's pieces against real services."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from anlan import topics
from anlan.errors import StartupError
from anlan.settings import Settings
from anlan.stack.database import ensure_database
from anlan.stack.kafka import create_topics


def test_topics_created_with_configured_partitions(settings: Settings) -> None:
    async def describe() -> dict[str, int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        await admin.start()
        try:
            found = await admin.describe_topics([settings.topic(t) for t in topics.ALL_TOPICS])
        finally:
            await admin.close()
        return {t["topic"]: len(t["partitions"]) for t in found}

    counts = asyncio.run(describe())
    assert set(counts) == {settings.topic(t) for t in topics.ALL_TOPICS}
    assert set(counts.values()) == {settings.topic_partitions}
    assert asyncio.run(create_topics(settings)) == []  # second run creates nothing


def test_kafka_not_answering_is_a_startup_error(settings: Settings) -> None:
    bad = settings.model_copy(update={"kafka_bootstrap": "127.0.0.1:1"})
    with pytest.raises(StartupError, match="does not answer"):
        asyncio.run(create_topics(bad, timeout=3))


def test_wrong_database_url_is_a_startup_error() -> None:
    with pytest.raises(StartupError, match="ANLAN_DATABASE_URL"):
        ensure_database("postgresql://nobody@127.0.0.1:1/anlan")
