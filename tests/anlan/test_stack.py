"""The stack runner's pieces against real services."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

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


def test_local_broker_keeps_acknowledged_messages_across_a_restart(tmp_path: Path) -> None:
    """The local Mosquitto persists its queues (even below a folder only its owner can enter):
    QoS 1 messages queued for an away subscriber survive a broker restart."""
    from anlan.stack.mqtt import LocalMosquitto, mosquitto_binary

    assert mosquitto_binary() is not None, "install the Debian package mosquitto (./dev setup)"
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    state = private / "mosquitto"
    expiry = Properties(PacketTypes.CONNECT)
    expiry.SessionExpiryInterval = 600

    def session(port: int, got: list[bytes] | None = None) -> mqtt.Client:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="away-subscriber",
                             protocol=mqtt.MQTTv5)
        if got is not None:
            client.on_message = lambda _c, _u, m: got.append(m.payload)
        client.connect("127.0.0.1", port, clean_start=False, properties=expiry)
        client.loop_start()
        return client

    broker = LocalMosquitto("127.0.0.1", 1883, log_path=state / "mosquitto.log", state_dir=state)
    _, port = broker.start()
    try:
        sub = session(port)
        sub.subscribe("anlan/test/#", qos=1)
        time.sleep(0.3)
        sub.disconnect()
        sub.loop_stop()
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        pub.connect("127.0.0.1", port)
        pub.loop_start()
        for info in [pub.publish("anlan/test/x", b"m%d" % i, qos=1) for i in range(20)]:
            info.wait_for_publish(5)
        pub.disconnect()
        pub.loop_stop()
    finally:
        broker.stop()
    again = LocalMosquitto("127.0.0.1", port, log_path=state / "mosquitto.log", state_dir=state)
    again.start()
    got: list[bytes] = []
    try:
        sub = session(port, got)
        deadline = time.monotonic() + 10
        while len(got) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        sub.disconnect()
        sub.loop_stop()
    finally:
        again.stop()
    assert sorted(got) == sorted(b"m%d" % i for i in range(20))
    assert "Permission denied" not in (state / "mosquitto.log").read_text()
