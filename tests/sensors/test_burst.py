"""A gateway backlog arriving at once: 5,000 QoS 1 messages (one reading each) published as
fast as the broker takes them, through the local stack's broker configuration, the real bridge,
the worker and the sink — every reading reaches Kafka and the database. A burst while the bridge
is away is queued by the broker: kept whole with the local configuration; with Mosquitto's
default queue limits most of it is lost after the broker's PUBACK, and the bridge reports
exactly those messages as seq gaps."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest
import yaml

from anlan import topics
from anlan.events import RawReadings, SeqGap, gateway_event
from anlan.settings import Settings
from anlan.stack.mqtt import LocalMosquitto, mosquitto_binary
from anlan.stack.net import free_port, stop_process, wait_port
from anlan.stack.runner import LocalStack
from sensors.contract import readings_topic
from tests.sensors.support import SpawnBridge, read_topic_sync

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto is not installed"),
]

GATEWAYS, PER_GATEWAY = 50, 100  # 5,000 messages: fifty gateways' backlogs after an outage


def _registry(folder: Path, tag: str) -> tuple[Path, list[str]]:
    gateways = [f"gw-{tag}-{i:02d}" for i in range(GATEWAYS)]
    data = {"gateways": {gw: {"region": "360121100001-G1", "sensors": {
        f"rg-{gw}": {"kind": "rain_mm", "interval_s": 60}}} for gw in gateways}}
    path = folder / "sensors.yaml"
    path.write_text(yaml.safe_dump(data))
    return path, gateways


def _burst(host: str, port: int, gateways: list[str], seqs: range) -> int:
    """Publish one reading per (gateway, seq) at once, QoS 1; wait for every PUBACK."""
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"burst-{time.time_ns()}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(host, port)
    client.loop_start()
    try:
        infos = []
        for seq in seqs:  # a message of every gateway per step, as fifty backlogs interleave
            ts = (end - timedelta(minutes=PER_GATEWAY + 10 - seq)).isoformat()
            for gw in gateways:
                body = {"seq": seq, "readings": [
                    {"sensor": f"rg-{gw}", "ts": ts, "kind": "rain_mm", "value": 0.0}]}
                infos.append(client.publish(readings_topic(gw), json.dumps(body), qos=1))
        for info in infos:
            info.wait_for_publish(60)
            assert info.is_published(), "the broker did not acknowledge a publish"
        return len(infos)
    finally:
        client.disconnect()
        client.loop_stop()


def _seqs_in_kafka(settings: Settings, want: int, timeout: float) -> set[tuple[str, int]]:
    def keys(values: list[bytes]) -> set[tuple[str, int]]:
        return {(e.gateway_id, e.seq) for e in map(RawReadings.from_bytes, values)}

    return keys(read_topic_sync(settings, topics.READINGS_RAW,
                                lambda vs: len(keys(vs)) >= want, timeout=timeout))


def _gaps(settings: Settings) -> list[SeqGap]:
    events = map(gateway_event, read_topic_sync(settings, topics.GATEWAY_STATUS,
                                                lambda vs: False, timeout=2))
    return [e for e in events if isinstance(e, SeqGap)]


def test_a_5000_message_burst_reaches_kafka_and_the_database(
        make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    tag = f"b{time.time_ns() % 10**6:06d}"
    sensors, gateways = _registry(tmp_path, tag)
    settings = make_settings(state_dir=tmp_path / "stack", sensors_file=sensors,
                             mqtt_port=free_port())
    stack = LocalStack(settings, parts=("sink", "worker", "bridge"), say=lambda *_: None,
                       extra_env={
                           "ANLAN_TOPIC_PREFIX": settings.topic_prefix,
                           "ANLAN_SENSORS_FILE": str(sensors),
                           "ANLAN_WORKER_ID": settings.worker_id,
                           "ANLAN_WORKER_DATA_DIR": str(tmp_path / "worker"),
                           "ANLAN_WORKER_WEB_PORT": "0",
                           "ANLAN_MQTT_CLIENT_ID": settings.mqtt_client_id,
                           "ANLAN_MQTT_SHARE_GROUP": settings.mqtt_share_group,
                           "ANLAN_BRIDGE_SEQ_GAP_GRACE_S": "1",
                       })
    try:
        live = stack.start(ready_timeout=120)  # its own Mosquitto, with the local config
        assert "max_queued_messages 200000" in (stack.state_dir / "mosquitto" /
                                                "mosquitto.conf").read_text()
        published = _burst(live.mqtt_host, live.mqtt_port, gateways, range(PER_GATEWAY))
        in_kafka = _seqs_in_kafka(settings, published, timeout=120)
        deadline, stored = time.monotonic() + 120, 0
        while time.monotonic() < deadline and stored < published:
            assert stack.check_children() is None, stack.check_children()
            with psycopg.connect(settings.database_url) as conn:
                row = conn.execute("SELECT count(*) FROM readings WHERE gateway_id LIKE %s",
                                   (f"gw-{tag}-%",)).fetchone()
            stored = row[0] if row else 0
            time.sleep(0.5)
        time.sleep(2)  # past the bridge's grace period: a dropped seq would be reported now
        gaps = _gaps(settings)
    finally:
        stack.stop()
    print(f"burst: published {published}, reached Kafka {len(in_kafka)}, "
          f"stored {stored}, seq gaps {len(gaps)}")
    assert published == GATEWAYS * PER_GATEWAY == 5000
    assert in_kafka == {(gw, seq) for gw in gateways for seq in range(PER_GATEWAY)}
    assert stored == published
    assert gaps == []
    mosquitto_log = (stack.log_dir / "mosquitto.log").read_text()
    assert "dropped" not in mosquitto_log.lower(), mosquitto_log[-2000:]


def _broker(kind: str, folder: Path) -> tuple[int, Callable[[], None]]:
    """Mosquitto with the local stack's configuration, or as it comes (default limits)."""
    if kind == "local":
        local = LocalMosquitto("127.0.0.1", free_port(), log_path=folder / "mosquitto.log",
                               state_dir=folder / "state")
        return local.start()[1], local.stop
    port = free_port()
    conf = folder / "default.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\nlog_dest stderr\n"
                    "log_type error\nlog_type warning\nlog_type notice\nuser root\n")
    with open(folder / "mosquitto.log", "ab") as out:
        proc = subprocess.Popen([str(mosquitto_binary()), "-c", str(conf)], stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    assert wait_port("127.0.0.1", port, 10)
    return port, lambda: stop_process(proc)


@pytest.mark.parametrize("config", ["local", "default"])
def test_a_burst_while_the_bridge_is_away_is_kept_or_every_loss_reported(
        config: str, make_settings: Callable[..., Settings], tmp_path: Path,
        spawn_bridge: SpawnBridge) -> None:
    """The bridge restarts while fifty gateways send their backlogs (5,000 messages): the
    broker queues them for its session. With the local configuration all are delivered; with
    Mosquitto's default ``max_queued_messages`` (1000) the broker drops most after its PUBACK,
    and the bridge reports exactly those as seq gaps — every seq is in Kafka or in a gap."""
    port, stop_broker = _broker(config, tmp_path)
    try:
        tag = f"{config[0]}{time.time_ns() % 10**6:06d}"
        sensors, gateways = _registry(tmp_path, tag)
        settings = make_settings(mqtt_port=port, sensors_file=sensors, bridge_seq_gap_grace_s=1.0)
        bridge = spawn_bridge(settings, tmp_path / "bridge")
        bridge.start()  # subscribes: the broker keeps its session while it is away
        assert bridge.stop() == 0
        published = _burst("127.0.0.1", port, gateways, range(PER_GATEWAY))
        bridge.start()
        deadline, in_kafka = time.monotonic() + 60, set()
        while time.monotonic() < deadline:  # until the bridge has drained its queue
            before = len(in_kafka)
            in_kafka = _seqs_in_kafka(settings, published, timeout=2)
            if len(in_kafka) == published or (in_kafka and len(in_kafka) == before):
                break
        # the gateways go on: their next message shows what went missing before it
        published += _burst("127.0.0.1", port, gateways, range(PER_GATEWAY, PER_GATEWAY + 1))
        in_kafka = _seqs_in_kafka(settings, len(in_kafka) + GATEWAYS, timeout=30)
        time.sleep(3)  # past the grace period
        gaps = _gaps(settings)
        assert bridge.stop() == 0
    finally:
        stop_broker()
    missing = {(g.gateway_id, s) for g in gaps for s in range(g.first_missing, g.last_missing + 1)}
    print(f"{config} limits, bridge away: published {published}, reached Kafka {len(in_kafka)}, "
          f"reported missing {len(missing)} in {len(gaps)} gaps")
    everything = {(gw, s) for gw in gateways for s in range(PER_GATEWAY + 1)}
    if config == "local":
        assert in_kafka == everything and gaps == []
    else:
        assert len(in_kafka) < published  # the default queue really drops
        assert sum(g.missing for g in gaps) == len(missing)  # each gap reported once
        assert not missing & in_kafka and missing | in_kafka == everything
        assert "dropped" in (tmp_path / "mosquitto.log").read_text()
