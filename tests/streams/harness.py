"""Integration helpers: worker / bridge subprocesses and Kafka produce / collect."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from anlan import topics
from anlan.events import Alert, RawReading, RawReadings
from anlan.settings import Settings
from contingency_plans.loader import PLANS_DIR
from tests.streams.scenario import storm

READY_TIMEOUT = 90.0


def rain_plans_dir(tmp: Path) -> Path:
    """A plans folder with only the rainstorm plan (so new plans do not change expectations)."""
    folder = tmp / "plans"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(PLANS_DIR) / "rainstorm.yaml", folder / "rainstorm.yaml")
    return folder


def unique_registry(tmp: Path) -> tuple[Path, dict[str, tuple[str, list[str]]]]:
    """A sensors file with ids unique to this run (the shared Mosquitto carries other tests'
    gateways too): 3 gateways with 4 rain gauges in 4 grids, and a 4th gateway whose one
    thermometer reports every second (for the silence timer). Returns the path and
    ``{gateway: (region of its first gauge, [gauges])}`` of the first three."""
    tag = uuid.uuid4().hex[:6]
    layout = {
        f"gw-{tag}-1": ("360121100001", {f"rg-{tag}-11": "360121100001-G1",
                                         f"rg-{tag}-12": "360121100001-G2"}),
        f"gw-{tag}-2": ("360121100002", {f"rg-{tag}-21": "360121100002-G1"}),
        f"gw-{tag}-3": ("360121101001", {f"rg-{tag}-31": "360121101001-G1"}),
    }
    data: dict[str, Any] = {"gateways": {}}
    out: dict[str, tuple[str, list[str]]] = {}
    for gw, (village, gauges) in layout.items():
        data["gateways"][gw] = {"region": village, "sensors": {
            sid: {"kind": "rain_mm", "region": region, "interval_s": 300}
            for sid, region in gauges.items()}}
        out[gw] = (next(iter(gauges.values())), list(gauges))
    data["gateways"][f"gw-{tag}-t"] = {"region": "360121101002", "sensors": {
        f"tp-{tag}-t": {"kind": "temperature_c", "region": "360121101002-G1", "interval_s": 1}}}
    path = tmp / f"sensors-{tag}.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")  # JSON is YAML
    return path, out


def env_of(settings: Settings, ready_dir: Path) -> dict[str, str]:
    """The ANLAN_* environment a child process needs to run on these settings."""
    env = dict(os.environ)
    env.update({
        "ANLAN_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "ANLAN_TOPIC_PREFIX": settings.topic_prefix,
        "ANLAN_TOPIC_PARTITIONS": str(settings.topic_partitions),
        "ANLAN_WORKER_ID": settings.worker_id,
        "ANLAN_WORKER_DATA_DIR": str(settings.worker_data_dir),
        "ANLAN_WORKER_WEB_PORT": "0",
        "ANLAN_KAFKA_IDEMPOTENT_PRODUCER": str(settings.kafka_idempotent_producer).lower(),
        "ANLAN_KAFKA_BROKER": settings.kafka_broker,
        "ANLAN_TOPIC_REPLICATION": str(settings.topic_replication),
        "ANLAN_SENSORS_FILE": str(settings.sensors_file),
        "ANLAN_PLANS_DIR": str(settings.plans_dir),
        "ANLAN_MQTT_HOST": settings.mqtt_host,
        "ANLAN_MQTT_PORT": str(settings.mqtt_port),
        "ANLAN_MQTT_CLIENT_ID": settings.mqtt_client_id,
        "ANLAN_MQTT_SHARE_GROUP": settings.mqtt_share_group,
        "ANLAN_READY_DIR": str(ready_dir),
        "ANLAN_LOG_LEVEL": "INFO",
    })
    return env


class Child:
    """``python -m anlan <part>`` as a subprocess that marks itself ready."""

    def __init__(self, part: str, settings: Settings, workdir: Path) -> None:
        self.part = part
        self.settings = settings
        self.ready_dir = workdir / f"ready-{uuid.uuid4().hex[:6]}"
        self.log_path = workdir / f"{part}-{uuid.uuid4().hex[:6]}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, wait: bool = True) -> Child:
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "anlan", self.part],
                                         env=env_of(self.settings, self.ready_dir),
                                         stdout=log, stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        marker = self.ready_dir / self.part
        deadline = time.monotonic() + timeout
        while not marker.exists():
            assert self.proc is not None
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{self.part} not ready (exit {self.proc.poll()}):\n"
                                     + self.tail())
            time.sleep(0.1)

    def tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def assigned(self, topic: str) -> set[int]:
        """Partitions of ``topic`` in the worker's latest assignment (from its log)."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        lines = [ln for ln in text.splitlines() if "newly assigned partitions" in ln]
        if not lines:
            return set()
        return {int(p) for p in re.findall(
            rf"topic='{re.escape(topic)}', partition=(\d+)", lines[-1])}

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final commit."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def raw_message(gateway: str, seq: int, readings: list[tuple[str, datetime, float]],
                kind: str = "rain_mm") -> RawReadings:
    return RawReadings(gateway_id=gateway, mqtt_topic=f"anlan/v1/gw/{gateway}/readings",
                       received_at=datetime.now(UTC), seq=seq,
                       readings=[RawReading(sensor=s, ts=ts, kind=kind, value=v)
                                 for s, ts, v in readings])


async def produce(settings: Settings, records: list[tuple[str, str, bytes]]) -> None:
    """Send (contract topic, key, value) records with acks=all."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all",
                                linger_ms=5,
                                enable_idempotence=settings.kafka_idempotent_producer)
    await producer.start()
    try:
        for topic, key, value in records:
            await producer.send(settings.topic(topic), value=value, key=key.encode())
        await producer.flush()
    finally:
        await producer.stop()


async def collect(settings: Settings, topic: str, done: Callable[[list[bytes]], bool],
                  timeout: float) -> list[bytes]:
    """Read ``topic`` from the beginning until ``done(values)`` or the timeout."""
    consumer = AIOKafkaConsumer(settings.topic(topic), bootstrap_servers=settings.kafka_bootstrap,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                group_id=None)
    values: list[bytes] = []
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not done(values):
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                values.extend(r.value for r in records if r.value is not None)
    finally:
        await consumer.stop()
    return values


def alerts_of(values: list[bytes], plan: str = "rainstorm") -> list[Alert]:
    return [a for a in (Alert.from_bytes(v) for v in values) if a.plan == plan]


def cancelled(regions: set[str]) -> Callable[[list[bytes]], bool]:
    """done() when every region's rainstorm incident got its Cancel."""
    def done(values: list[bytes]) -> bool:
        seen = {a.region for a in alerts_of(values) if a.msg_type == "Cancel"}
        return regions <= seen
    return done


def run(coro: Any) -> Any:
    return asyncio.run(coro)


__all__ = ["topics"]


# ---------------------------------------------------------------- the storm of the recovery tests

Layout = dict[str, tuple[str, list[str]]]


def storm_start() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=27)


def storm_records(layout: Layout) -> list[tuple[str, str, bytes]]:
    """Every gauge's storm (shifted 15 min per gauge), one message per gateway and step."""
    start = storm_start()
    gauges = [(gw, g, i) for i, (gw, g) in enumerate(
        (gw, g) for gw, (_, gs) in sorted(layout.items()) for g in gs)]
    steps = [storm(start + timedelta(minutes=15 * i)) for _, _, i in gauges]
    records = []
    for step in range(len(steps[0])):
        by_gateway: dict[str, list[tuple[str, datetime, float]]] = {}
        for (gw, gauge, i) in gauges:
            ts, mm = steps[i][step]
            by_gateway.setdefault(gw, []).append((gauge, ts, mm))
        for gw, readings in by_gateway.items():
            records.append((topics.READINGS_RAW, gw,
                            raw_message(gw, step, readings).to_bytes()))
    return records


def storm_regions(settings: Settings) -> set[str]:
    """The grids of the rain gauges."""
    from anlan.registry import load_registry

    return {s.region for s in load_registry(settings.sensors_file).sensors.values()
            if s.kind == "rain_mm"}


def reference_alerts(settings: Settings, records: list[tuple[str, str, bytes]]) -> list[Alert]:
    """The alerts of the pure in-memory pipeline on the same input (no restart)."""
    from anlan.events import RawReadings
    from anlan.registry import load_registry
    from streams.app import load_book
    from tests.streams.test_assess import Pipeline

    pipe = Pipeline(load_registry(settings.sensors_file), load_book(settings))
    for _, _, value in records:
        pipe.feed(RawReadings.from_bytes(value))
    return pipe.alerts


def without_detected(alert: Alert) -> dict[str, object]:
    """An alert as JSON without ``detected`` (when the data that showed it arrived: depends on
    the order the regions heard the gateways in, not on what was decided)."""
    data = json.loads(alert.to_bytes())
    data.pop("detected", None)
    evidence = data.get("evidence") or {}
    evidence.pop("detected", None)
    return data
