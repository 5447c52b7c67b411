"""Shared fixtures: real services for integration tests.

- ``kafka_bootstrap``: an embedded tansu broker for the whole session.
- ``mqtt_address``: the machine's Mosquitto (or one started from PATH).
- ``database_url``: a fresh PostgreSQL database for the session, dropped at the end.
- ``settings``: Settings wired to all three, with a topic prefix unique to the run and every
  topic created. ``make_settings()`` gives another isolated topic set on the same broker.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from anlan.settings import Settings, load_settings
from anlan.stack.database import drop_database, ensure_database
from anlan.stack.kafka import EmbeddedKafka, create_topics
from anlan.stack.mqtt import LocalMosquitto

BASE_DB_URL = os.environ.get("ANLAN_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/")


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("tansu") / "tansu.log"
    broker = EmbeddedKafka(log_path=log)
    yield broker.start()
    broker.stop()


@pytest.fixture(scope="session")
def mqtt_address() -> Iterator[tuple[str, int]]:
    broker = LocalMosquitto("127.0.0.1", 1883)
    yield broker.start()
    broker.stop()


def _fresh_db_url() -> str:
    name = f"anlan_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    return ensure_database(BASE_DB_URL.rstrip("/") + "/" + name)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    url = _fresh_db_url()
    try:
        from store.migrate import migrate  # the store folder owns the schema
    except ImportError:
        migrate = None
    if migrate is not None:
        migrate(url)
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def make_settings(kafka_bootstrap: str, mqtt_address: tuple[str, int],
                  database_url: str, tmp_path_factory: pytest.TempPathFactory
                  ) -> Callable[..., Settings]:
    """Factory: Settings on the session's services with a fresh topic prefix (topics created)."""

    def factory(**overrides: object) -> Settings:
        prefix = f"t{uuid.uuid4().hex[:8]}."
        state = tmp_path_factory.mktemp("anlan-state")
        base: dict[str, object] = dict(
            kafka_bootstrap=kafka_bootstrap, kafka_idempotent_producer=False,
            mqtt_host=mqtt_address[0], mqtt_port=mqtt_address[1],
            database_url=database_url, embedded_postgres=False, topic_prefix=prefix,
            mqtt_client_id=f"anlan-test-{prefix}", mqtt_share_group=f"anlan-test-{prefix[:-1]}",
            worker_id=f"anlan-test-{prefix[:-1]}", worker_data_dir=Path(state) / "worker",
            state_dir=Path(state), worker_web_port=0,
        )
        base.update(overrides)
        settings = load_settings(**base)
        asyncio.run(create_topics(settings))
        return settings

    return factory


@pytest.fixture(scope="session")
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()
