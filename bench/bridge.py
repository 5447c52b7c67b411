"""Messages/s through the MQTT → Kafka bridge against a raw paho QoS 1 subscriber, same run.

Both consumers drain the same number of QoS 1 gateway messages (10 readings each) that the
broker queued for their persistent session while they were away, so the figure is the
consumer's capacity, not the publisher's. The raw subscriber only counts (paho auto-acks); the
bridge parses and checks every message, produces it to Kafka with acks=all and acks MQTT after
Kafka's ack. Broker: Mosquitto with ``deploy/mosquitto`` configuration on a free port; Kafka:
the embedded tansu broker. Run ``python -m bench.bridge [--quick]``; the last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from anlan.settings import Settings, load_settings
from anlan.stack.kafka import EmbeddedKafka, create_topics
from sensors.bridge import Bridge
from sensors.broker import ConfiguredMosquitto
from sensors.contract import readings_topic, subscriptions
from sensors.simulate.sources import registry_yaml, synthetic_registry

GATEWAYS, SENSORS, READINGS_PER_MSG = 20, 10, 10
BRIDGE_USER, PASSWORD = "anlan-bridge", "bench"
INFLIGHT = 1000


def _payloads(n: int) -> list[tuple[str, bytes]]:
    base = datetime.now(timezone.utc) - timedelta(hours=3)
    out = []
    for i in range(n):
        g = i % GATEWAYS + 1
        ts = (base + timedelta(milliseconds=i)).isoformat()
        readings = [{"sensor": f"s{g:04d}-rain-{8 * (j % 2):02d}", "ts": ts, "kind": "rain_mm",
                     "value": round(0.1 * j, 1)} for j in range(READINGS_PER_MSG)]
        out.append((readings_topic(f"gw-sim-{g:04d}"),
                    json.dumps({"seq": i, "readings": readings}).encode()))
    return out


def _client(port: int, client_id: str, user: str, clean: bool = False,
            on_message: object = None) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv5)
    client.username_pw_set(user, PASSWORD)
    if on_message:
        client.on_message = on_message  # type: ignore[assignment]
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    props.ReceiveMaximum = INFLIGHT
    connected = threading.Event()
    client.on_connect = lambda *_: connected.set()
    client.connect("127.0.0.1", port, clean_start=clean, properties=props)
    client.loop_start()
    if not connected.wait(10):
        raise RuntimeError("subscriber did not connect")
    return client


def _preload(port: int, client_id: str, group: str, items: list[tuple[str, bytes]]) -> None:
    """Create the persistent session with its subscriptions, leave, publish ``items``."""
    sub = _client(port, client_id, BRIDGE_USER, clean=True)
    done = threading.Event()
    sub.on_subscribe = lambda *_: done.set()
    sub.subscribe([(t, 1) for t in subscriptions(group)])
    done.wait(10)
    sub.disconnect()
    sub.loop_stop()
    pubs: dict[str, mqtt.Client] = {}
    infos = []
    for topic, payload in items:
        gw = topic.split("/")[3]
        if gw not in pubs:
            pubs[gw] = _client(port, f"pub-{gw}-{uuid.uuid4().hex[:6]}", gw, clean=True)
        infos.append(pubs[gw].publish(topic, payload, qos=1))
    for info in infos:
        info.wait_for_publish(60)
    for p in pubs.values():
        p.disconnect()
        p.loop_stop()


def run_raw(port: int, items: list[tuple[str, bytes]]) -> tuple[float, float]:
    """(messages/s, CPU µs per message) of a plain paho subscriber (auto-ack, loop thread)."""
    client_id, group = f"raw-{uuid.uuid4().hex[:8]}", f"raw-{uuid.uuid4().hex[:8]}"
    _preload(port, client_id, group, items)
    n = len(items)
    stamps: list[float] = []
    cpu: list[float] = []
    finished = threading.Event()

    def on_message(_c: object, _u: object, _m: object) -> None:
        stamps.append(time.perf_counter())
        if len(stamps) in (1, n):
            cpu.append(time.process_time())
        if len(stamps) == n:
            finished.set()

    client = _client(port, client_id, BRIDGE_USER, on_message=on_message)
    ok = finished.wait(300)
    client.disconnect()
    client.loop_stop()
    if not ok:
        raise RuntimeError(f"raw subscriber got {len(stamps)} of {n}")
    return (n - 1) / (stamps[-1] - stamps[0]), (cpu[-1] - cpu[0]) / (n - 1) * 1e6


def run_bridge(settings: Settings, port: int, items: list[tuple[str, bytes]],
               registry_path: Path) -> tuple[float, float]:
    """(messages/s, CPU µs per message) through the bridge: received → Kafka-acked → MQTT-acked."""
    from anlan.registry import load_registry

    client_id, group = f"bridge-{uuid.uuid4().hex[:8]}", f"bridge-{uuid.uuid4().hex[:8]}"
    _preload(port, client_id, group, items)
    s = settings.model_copy(update=dict(mqtt_client_id=client_id, mqtt_share_group=group))
    n = len(items)

    async def main() -> tuple[float, float]:
        bridge = Bridge(s, load_registry(registry_path), regions=frozenset(),
                        session_expiry_s=3600)
        stop = asyncio.Event()
        task = asyncio.create_task(bridge.run(stop))
        while bridge.stats.received == 0:
            await asyncio.sleep(0.0005)
        t0, c0 = time.perf_counter(), time.process_time()
        while bridge.stats.acked < n:
            if task.done():
                task.result()
            await asyncio.sleep(0.002)
        t1, c1 = time.perf_counter(), time.process_time()
        stop.set()
        await task
        if bridge.stats.dead_lettered:
            raise RuntimeError(f"unexpected dead letters: {bridge.stats}")
        return (n - 1) / (t1 - t0), (c1 - c0) / (n - 1) * 1e6

    return asyncio.run(main())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bridge")
    parser.add_argument("--quick", action="store_true", help="fewer messages (< 1 minute)")
    parser.add_argument("--messages", type=int)
    parser.add_argument("--rounds", type=int)
    args = parser.parse_args(argv)
    n = args.messages or (5000 if args.quick else 20000)
    rounds = args.rounds or (1 if args.quick else 5)
    work = Path(tempfile.mkdtemp(prefix="anlan-bench-bridge-"))
    registry = synthetic_registry(GATEWAYS, SENSORS)
    registry_path = work / "sensors.yaml"
    registry_path.write_text(registry_yaml(registry))
    users = {BRIDGE_USER: PASSWORD, **{gw: PASSWORD for gw in registry.gateways}}
    items = _payloads(n)
    with EmbeddedKafka(log_path=work / "tansu.log") as kafka, \
            ConfiguredMosquitto(work / "mosquitto", users) as broker:
        settings = load_settings(
            kafka_bootstrap=kafka.bootstrap, kafka_idempotent_producer=False,
            topic_prefix=f"bench{uuid.uuid4().hex[:6]}.", mqtt_host="127.0.0.1",
            mqtt_port=broker.port, mqtt_username=BRIDGE_USER, mqtt_password=PASSWORD,
            sensors_file=registry_path, bridge_max_inflight=INFLIGHT)
        asyncio.run(create_topics(settings))
        raw: list[tuple[float, float]] = []
        bridged: list[tuple[float, float]] = []
        for r in range(rounds):  # interleaved, order alternating: the machine is shared
            if r % 2:
                bridged.append(run_bridge(settings, broker.port, items, registry_path))
                raw.append(run_raw(broker.port, items))
            else:
                raw.append(run_raw(broker.port, items))
                bridged.append(run_bridge(settings, broker.port, items, registry_path))
            print(f"round {r + 1}: raw paho {raw[-1][0]:,.0f} msg/s ({raw[-1][1]:.0f} µs CPU/msg)"
                  f", bridge {bridged[-1][0]:,.0f} msg/s ({bridged[-1][1]:.0f} µs CPU/msg)",
                  file=sys.stderr, flush=True)
    value, baseline = statistics.median(b[0] for b in bridged), statistics.median(r[0] for r in raw)
    cpu_b, cpu_r = statistics.median(b[1] for b in bridged), statistics.median(r[1] for r in raw)
    print(f"{n} messages × {READINGS_PER_MSG} readings, {rounds} round(s), medians; CPU per "
          f"message: raw {cpu_r:.0f} µs, bridge {cpu_b:.0f} µs "
          f"(capacity ratio {cpu_r / cpu_b:.0%})")
    print(json.dumps({"bench": "bridge", "value": round(value, 1), "unit": "msg/s",
                      "baseline": round(baseline, 1), "ratio": round(value / baseline, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
