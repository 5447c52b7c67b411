"""Helpers of the sensors integration tests: bridge subprocess, Kafka reader, MQTT publisher."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from aiokafka import AIOKafkaConsumer, TopicPartition

from anlan.settings import Settings
from anlan.stack.net import stop_process


def bridge_env(settings: Settings, ready_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "ANLAN_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "ANLAN_TOPIC_PREFIX": settings.topic_prefix,
        "ANLAN_KAFKA_IDEMPOTENT_PRODUCER": str(settings.kafka_idempotent_producer).lower(),
        "ANLAN_KAFKA_BROKER": settings.kafka_broker,
        "ANLAN_TOPIC_REPLICATION": str(settings.topic_replication),
        "ANLAN_MQTT_HOST": settings.mqtt_host,
        "ANLAN_MQTT_PORT": str(settings.mqtt_port),
        "ANLAN_MQTT_USERNAME": settings.mqtt_username,
        "ANLAN_MQTT_PASSWORD": settings.mqtt_password,
        "ANLAN_MQTT_CLIENT_ID": settings.mqtt_client_id,
        "ANLAN_MQTT_SHARE_GROUP": settings.mqtt_share_group,
        "ANLAN_SENSORS_FILE": str(settings.sensors_file),
        "ANLAN_DIRECTORY_FILE": str(settings.directory_file),
        "ANLAN_BRIDGE_MAX_INFLIGHT": str(settings.bridge_max_inflight),
        "ANLAN_BRIDGE_SEQ_GAPS": str(settings.bridge_seq_gaps).lower(),
        "ANLAN_BRIDGE_SEQ_GAP_GRACE_S": str(settings.bridge_seq_gap_grace_s),
        "ANLAN_BRIDGE_METRICS_PORT": str(settings.bridge_metrics_port),
        "ANLAN_READY_DIR": str(ready_dir),
        "PYTHONUNBUFFERED": "1",
    })
    return env


class BridgeProcess:
    """``python -m anlan bridge`` as a child process, with start / kill / wait-ready."""

    def __init__(self, settings: Settings, workdir: Path) -> None:
        self.ready_dir = workdir / "ready"
        self.log_path = workdir / "bridge.log"
        self.env = bridge_env(settings, self.ready_dir)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, wait: bool = True, timeout: float = 30) -> None:
        (self.ready_dir / "bridge").unlink(missing_ok=True)
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "anlan", "bridge",
                                          "--session-expiry", "300"],
                                         env=self.env, stdout=out, stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not (self.ready_dir / "bridge").exists():
            assert self.alive(), f"bridge exited: {self.log()[-2000:]}"
            assert time.monotonic() < deadline, f"bridge not ready: {self.log()[-2000:]}"
            time.sleep(0.05)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> int | None:
        return stop_process(self.proc, 15)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


async def read_topic(settings: Settings, topic: str, done: Callable[[list[bytes]], bool],
                     timeout: float) -> list[bytes]:
    """Read ``topic`` (contract name) from the beginning until ``done(values)`` or timeout."""
    name = settings.topic(topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    values: list[bytes] = []
    try:
        consumer.assign([TopicPartition(name, p) for p in range(settings.topic_partitions)])
        await consumer.seek_to_beginning()
        deadline = time.monotonic() + timeout
        while not done(values) and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batch.values():
                values.extend(r.value for r in records)
    finally:
        await consumer.stop()
    return values


def read_topic_sync(settings: Settings, topic: str, done: Callable[[list[bytes]], bool],
                    timeout: float = 60) -> list[bytes]:
    return asyncio.run(read_topic(settings, topic, done, timeout))


def connect_publisher(host: str, port: int, client_id: str, username: str | None = None,
                      password: str | None = None) -> mqtt.Client:
    """A started MQTT 5 publisher (loop thread running, connected)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv5)
    if username:
        client.username_pw_set(username, password)
    client.max_queued_messages_set(0)
    client.max_inflight_messages_set(100)
    client.connect(host, port, keepalive=30)
    client.loop_start()
    return client


def publish_all(client: mqtt.Client, items: list[tuple[str, bytes]], qos: int = 1,
                pace_s: float = 0.0, on_progress: Callable[[int], Any] | None = None,
                timeout: float = 60) -> None:
    """Publish ``(topic, payload)`` items and wait until the broker acknowledged each."""
    infos = []
    for i, (topic, payload) in enumerate(items):
        infos.append(client.publish(topic, payload, qos=qos))
        if pace_s:
            time.sleep(pace_s)
        if on_progress:
            on_progress(i + 1)
    deadline = time.monotonic() + timeout
    for info in infos:
        info.wait_for_publish(max(0.1, deadline - time.monotonic()))
        assert info.is_published(), "broker did not acknowledge a publish"


SpawnBridge = Callable[[Settings, Path], BridgeProcess]
"""The ``spawn_bridge`` fixture (tests/sensors/conftest.py)."""
