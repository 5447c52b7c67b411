"""Fixtures for the alerts tests: real receivers, a connection pool, a Kafka publisher."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from alerts.directory import db as dirdb
from alerts.directory import read_file
from alerts.dispatch.publisher import KafkaPublisher
from anlan.kafka import make_producer
from anlan.settings import Settings
from tests.alerts.helpers import DEMO_FILE
from tests.alerts.receivers import HttpReceiver, SmtpReceiver


def quiet_timers(database_url: str) -> None:
    """Timers are global to the database: stop those earlier tests left running."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE dispatch_watch SET state = 'resolved' WHERE state <> 'resolved'")
        conn.execute("UPDATE dispatch_notifications SET state = 'failed' "
                     "WHERE state = 'sending'")
        conn.execute("UPDATE mob_tasks SET next_wave_at = NULL, state = 'expired' "
                     "WHERE state IN ('open', 'offered', 'accepted')")
        conn.execute("UPDATE mob_welfare SET next_remind_at = NULL")


@pytest.fixture
def restore_demo_directory(database_url: str) -> Iterator[None]:
    """Tests that import their own directory leave the demo one behind them (other parts'
    tests share the database)."""
    yield
    with psycopg.connect(database_url) as conn:
        dirdb.save(conn, read_file(DEMO_FILE), str(DEMO_FILE))
    quiet_timers(database_url)


@pytest.fixture
def http() -> Iterator[HttpReceiver]:
    r = HttpReceiver().start()
    yield r
    r.stop()


@pytest.fixture
def failing_http() -> Iterator[HttpReceiver]:
    r = HttpReceiver(status=500).start()
    yield r
    r.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    r = SmtpReceiver().start()
    yield r
    r.stop()


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[AsyncConnectionPool]:
    p = AsyncConnectionPool(database_url, min_size=1, max_size=8, open=False)
    await p.open(wait=True, timeout=20)
    quiet_timers(database_url)
    yield p
    await p.close()


@pytest.fixture
async def publisher(settings: Settings) -> AsyncIterator[KafkaPublisher]:
    producer = make_producer(settings)
    await producer.start()
    yield KafkaPublisher(settings, producer)
    await producer.stop()
