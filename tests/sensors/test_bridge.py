"""The bridge as a real process between a real Mosquitto (deploy config) and Kafka (tansu)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
import yaml

from anlan import topics
from anlan.events import DeadLetter, GatewayStatus, RawReadings, Report, SeqGap, gateway_event
from anlan.settings import Settings
from anlan.stack.net import free_port
from sensors.broker import ConfiguredMosquitto, mosquitto_binary
from sensors.contract import readings_topic, report_topic, status_topic
from tests.sensors.support import SpawnBridge, connect_publisher, publish_all, read_topic_sync

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto is not installed"),
]

GATEWAYS = [f"gw-k{i:02d}" for i in range(5)]
BRIDGE_USER, BRIDGE_PASSWORD = "anlan-bridge", "bridge-secret"
REPORTER = "p-0001"


def _registry_file(folder: Path) -> Path:
    data = {"gateways": {gw: {"region": f"3601211000{i:02d}", "sensors": {
        f"rg-{gw}-{j}": {"kind": "rain_mm"} for j in range(2)}}
        for i, gw in enumerate(GATEWAYS)}}
    path = folder / "sensors.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConfiguredMosquitto]:
    users = {BRIDGE_USER: BRIDGE_PASSWORD, REPORTER: f"pw-{REPORTER}",
             **{gw: f"pw-{gw}" for gw in GATEWAYS}}
    with ConfiguredMosquitto(tmp_path_factory.mktemp("mosquitto"), users) as running:
        yield running


@pytest.fixture()
def bridge_settings(make_settings: Callable[..., Settings], broker: ConfiguredMosquitto,
                    tmp_path: Path) -> Settings:
    return make_settings(mqtt_host="127.0.0.1", mqtt_port=broker.port,
                         mqtt_username=BRIDGE_USER, mqtt_password=BRIDGE_PASSWORD,
                         sensors_file=_registry_file(tmp_path), bridge_max_inflight=500)


def _reading(gw: str, seq: int, ts: datetime) -> bytes:
    return json.dumps({"seq": seq, "readings": [
        {"sensor": f"rg-{gw}-{seq % 2}", "ts": ts.isoformat(), "kind": "rain_mm",
         "value": round(seq * 0.1, 1)}]}).encode()


def _keys(values: list[bytes]) -> set[tuple[str, int, str, str]]:
    keys = set()
    for value in values:
        event = RawReadings.from_bytes(value)
        keys |= {(event.gateway_id, event.seq, r.sensor, r.ts.isoformat())
                 for r in event.readings}
    return keys


def test_every_reading_survives_two_sigkills(bridge_settings: Settings,
                                             broker: ConfiguredMosquitto,
                                             tmp_path: Path,
                                             spawn_bridge: SpawnBridge) -> None:
    """5,000 QoS 1 readings; the bridge is SIGKILLed and restarted twice while they flow."""
    per_gateway = 1000
    start = datetime.now(timezone.utc) - timedelta(hours=2)
    bridge = spawn_bridge(bridge_settings, tmp_path)
    bridge.start()
    publishers = {gw: connect_publisher("127.0.0.1", broker.port, f"pub-{gw}", gw, f"pw-{gw}")
                  for gw in GATEWAYS}
    progress = [0] * len(GATEWAYS)

    def run(i: int, gw: str) -> None:
        items = [(readings_topic(gw), _reading(gw, seq, start + timedelta(seconds=seq)))
                 for seq in range(per_gateway)]
        publish_all(publishers[gw], items, pace_s=0.004,
                    on_progress=lambda n: progress.__setitem__(i, n))

    threads = [threading.Thread(target=run, args=(i, gw)) for i, gw in enumerate(GATEWAYS)]
    for t in threads:
        t.start()
    kills = 0
    for fraction in (0.25, 0.6):
        while sum(progress) < fraction * per_gateway * len(GATEWAYS):
            time.sleep(0.02)
        bridge.kill()
        kills += 1
        bridge.start(wait=False)
    for t in threads:
        t.join(120)
    for client in publishers.values():
        client.disconnect()
        client.loop_stop()
    expected = {(gw, seq, f"rg-{gw}-{seq % 2}", (start + timedelta(seconds=seq)).isoformat())
                for gw in GATEWAYS for seq in range(per_gateway)}
    try:
        values = read_topic_sync(bridge_settings, topics.READINGS_RAW,
                                 lambda vs: len(vs) >= len(expected) and
                                 expected <= _keys(vs), timeout=120)
    finally:
        assert bridge.alive(), bridge.log()[-3000:]
        bridge.stop()
    got = _keys(values)
    assert kills == 2
    assert bridge.log().count("session present: True") == 2  # resumed its queue both times
    assert not expected - got, f"{len(expected - got)} readings lost; log: {bridge.log()[-3000:]}"


def _hostile(gw: str, i: int, now: datetime) -> bytes:
    """1,000 bad payloads of ten families (each dead-lettered as a whole)."""
    ok: dict[str, object] = {"sensor": f"rg-{gw}-0", "ts": now.isoformat(), "kind": "rain_mm",
                             "value": 1.0}
    family = i % 10
    families: list[object] = [
        b"{not json " + str(i).encode(),
        b"\xff\xfe" + bytes(range(256)) * 3,
        b"[" * 50_000 + b"]" * 50_000,
        b'{"seq": %d, "readings": [{"sensor": "rg-%s-0", "ts": "%s", "kind": "rain_mm",'
        b' "value": NaN}]}' % (i, gw.encode(), now.isoformat().encode()),
        b"x" * (300 * 1024 + i),
        {"seq": i, "readings": [{**ok, "value": "lots"}]},
        {"seq": i, "readings": [{**ok, "ts": (now + timedelta(days=1)).isoformat()}]},
        {"seq": i, "readings": [{**ok, "sensor": "rg-gw-k04-0" if gw != "gw-k04"
                                 else "rg-gw-k00-0"}]},
        {"seq": i, "readings": [{**ok, "kind": "plutonium"}]},
        {"seq": -i, "readings": "all of them"},
    ]
    bad = families[family]
    return bad if isinstance(bad, bytes) else json.dumps(bad).encode()


def test_hostile_payloads_are_all_dead_lettered(bridge_settings: Settings,
                                                broker: ConfiguredMosquitto,
                                                tmp_path: Path,
                                                spawn_bridge: SpawnBridge) -> None:
    bridge = spawn_bridge(bridge_settings, tmp_path)
    bridge.start()
    gw = GATEWAYS[1]
    client = connect_publisher("127.0.0.1", broker.port, f"hostile-{gw}", gw, f"pw-{gw}")
    now = datetime.now(timezone.utc)
    payloads = [_hostile(gw, i, now) for i in range(1000)]
    try:
        publish_all(client, [(readings_topic(gw), p) for p in payloads])
        publish_all(client, [(status_topic(gw), b"offline"), (status_topic(gw), b"sideways")])
    finally:
        client.disconnect()
        client.loop_stop()
    letters = [DeadLetter.from_bytes(v) for v in read_topic_sync(
        bridge_settings, topics.DEADLETTER, lambda vs: len(vs) >= 1001, timeout=60)]
    statuses = read_topic_sync(bridge_settings, topics.GATEWAY_STATUS, lambda vs: len(vs) >= 1,
                               timeout=10)
    alive = bridge.alive()
    code = bridge.stop()
    assert alive, bridge.log()[-3000:]
    assert code == 0
    assert len(letters) == 1001
    assert all(letter.reason and letter.stage == "bridge" for letter in letters)
    by_original = {letter.original for letter in letters}
    assert all(p in by_original or len(p) > 64 * 1024 for p in payloads)
    assert any("sideways" in letter.reason or "status" in letter.reason for letter in letters)
    assert [GatewayStatus.from_bytes(s).status for s in statuses] == ["offline"]
    raw = read_topic_sync(bridge_settings, topics.READINGS_RAW, lambda vs: False, timeout=1)
    assert raw == []


def test_two_bridges_share_the_load(bridge_settings: Settings, broker: ConfiguredMosquitto,
                                    tmp_path: Path,
                                    spawn_bridge: SpawnBridge) -> None:
    """Two bridges in one shared-subscription group: every message once, both do work. (Each
    sees a share of every gateway's seqs: seq gaps are off, as sensors/README.md says.)"""
    shared = bridge_settings.model_copy(update={"bridge_seq_gaps": False})
    first = spawn_bridge(shared, tmp_path / "a")
    second = spawn_bridge(shared.model_copy(
        update={"mqtt_client_id": bridge_settings.mqtt_client_id + "-b"}), tmp_path / "b")
    for bridge in (first, second):
        bridge.log_path.parent.mkdir(parents=True, exist_ok=True)
        bridge.start()
    gw = GATEWAYS[2]
    client = connect_publisher("127.0.0.1", broker.port, f"share-{gw}", gw, f"pw-{gw}")
    start = datetime.now(timezone.utc) - timedelta(hours=1)
    try:
        publish_all(client, [(readings_topic(gw), _reading(gw, seq, start + timedelta(seconds=seq)))
                             for seq in range(1000)])
    finally:
        client.disconnect()
        client.loop_stop()
    values = read_topic_sync(bridge_settings, topics.READINGS_RAW,
                             lambda vs: len(_keys(vs)) >= 1000, timeout=60)
    codes = [first.stop(), second.stop()]
    assert len(_keys(values)) == 1000 and len(values) == 1000  # each message exactly once
    assert codes == [0, 0]
    for bridge in (first, second):
        stopped = [line for line in bridge.log().splitlines() if "bridge stopped" in line][-1]
        received = int(stopped.split("received=")[1].split(",")[0])
        assert received > 0, "one bridge of the group got nothing"


def test_a_gap_in_a_gateways_seq_is_reported(make_settings: Callable[..., Settings],
                                             broker: ConfiguredMosquitto, tmp_path: Path,
                                             spawn_bridge: SpawnBridge) -> None:
    """seq 1, 2, 3, 7 (and a duplicate, and 0 after a restart of its counter): one gap of 3 —
    a warning in the log, the bridge's /metrics, an event on anlan.gateways.status."""
    metrics_port = free_port()
    settings = make_settings(mqtt_host="127.0.0.1", mqtt_port=broker.port,
                             mqtt_username=BRIDGE_USER, mqtt_password=BRIDGE_PASSWORD,
                             sensors_file=_registry_file(tmp_path), bridge_seq_gap_grace_s=1.0,
                             bridge_metrics_port=metrics_port)
    bridge = spawn_bridge(settings, tmp_path)
    bridge.start()
    gw = GATEWAYS[3]
    start = datetime.now(timezone.utc) - timedelta(hours=1)
    client = connect_publisher("127.0.0.1", broker.port, f"gaps-{gw}", gw, f"pw-{gw}")
    try:
        publish_all(client, [(readings_topic(gw), _reading(gw, seq, start + timedelta(
            seconds=seq))) for seq in (1, 2, 3, 3, 7, 8)])
        time.sleep(1.5)  # past the grace period: then the counter restarts (a reboot)
        publish_all(client, [(readings_topic(gw), _reading(gw, seq, start + timedelta(
            minutes=10, seconds=seq))) for seq in (0, 1, 2)])
    finally:
        client.disconnect()
        client.loop_stop()
    gaps = [e for e in (gateway_event(v) for v in read_topic_sync(
        settings, topics.GATEWAY_STATUS, lambda vs: any(b"missing" in v for v in vs),
        timeout=30)) if isinstance(e, SeqGap)]
    time.sleep(2)  # any further (wrong) gap would be reported by now
    gaps = [e for e in (gateway_event(v) for v in read_topic_sync(
        settings, topics.GATEWAY_STATUS, lambda vs: False, timeout=2)) if isinstance(e, SeqGap)]
    scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    raw = read_topic_sync(settings, topics.READINGS_RAW, lambda vs: len(vs) >= 9, timeout=20)
    assert bridge.stop() == 0
    assert [(g.gateway_id, g.first_missing, g.last_missing, g.missing, g.bridge)
            for g in gaps] == [(gw, 4, 6, 3, settings.mqtt_client_id)]
    assert f'anlan_bridge_seq_gaps_total{{gateway="{gw}"}} 1.0' in scraped
    assert f'anlan_bridge_seq_missing_messages_total{{gateway="{gw}"}} 3.0' in scraped
    warnings = [line for line in bridge.log().splitlines() if "never received" in line]
    assert len(warnings) == 1 and "3 message(s) never received (seq 4 … 6)" in warnings[0]
    assert sorted(RawReadings.from_bytes(v).seq for v in raw) == [0, 1, 1, 2, 2, 3, 3, 7, 8]


def test_contract_bounds_over_mqtt(bridge_settings: Settings, broker: ConfiguredMosquitto,
                                   tmp_path: Path, spawn_bridge: SpawnBridge) -> None:
    """Reports outside the directory or the time bounds, a seq beyond bigint, a lone
    surrogate: each a dead letter with its reason, from the real bridge; a good report passes."""
    bridge = spawn_bridge(bridge_settings, tmp_path)
    bridge.start()
    now = datetime.now(timezone.utc)
    good = {"kind": "flooding", "region": "360121100002-G1", "text": "积水", "ts": now.isoformat()}
    reports = [
        (good, None),
        ({**good, "region": "999999999999"}, "region '999999999999' is not a region of the"),
        ({**good, "ts": "9999-12-31T23:59:59+00:00"}, "more than 5 minutes ahead"),
        ({**good, "ts": (now - timedelta(days=8)).isoformat()}, "more than 7 days old"),
        ({k: v for k, v in {**good, "lat": 28.7, "lon": 115.8}.items() if k != "region"},
         "lat/lon alone cannot be located"),
        ({**good, "text": "\ud83d"}, "invalid unicode in field text"),
    ]
    gw = GATEWAYS[4]
    readings = [
        (b'{"seq": 9223372036854775808, "readings": [{"sensor": "rg-gw-k04-0", "ts": "%s", '
         b'"kind": "rain_mm", "value": 1}]}' % now.isoformat().encode(),
         "'seq' must be an integer from 0 to 9223372036854775807"),
        (json.dumps({"seq": 1, "readings": [{"sensor": "rg-gw-k04-\ud83d", "ts": now.isoformat(),
                                             "kind": "rain_mm", "value": 1}]}).encode(),
         "invalid unicode in field readings[0].sensor"),
    ]
    reporter = connect_publisher("127.0.0.1", broker.port, "bounds-reporter", REPORTER,
                                 f"pw-{REPORTER}")
    gateway = connect_publisher("127.0.0.1", broker.port, f"bounds-{gw}", gw, f"pw-{gw}")
    try:
        publish_all(reporter, [(report_topic(REPORTER), json.dumps(body).encode())
                               for body, _ in reports])
        publish_all(gateway, [(readings_topic(gw), payload) for payload, _ in readings])
    finally:
        for client in (reporter, gateway):
            client.disconnect()
            client.loop_stop()
    expected = [why for _, why in reports if why] + [why for _, why in readings]
    letters = [DeadLetter.from_bytes(v) for v in read_topic_sync(
        bridge_settings, topics.DEADLETTER, lambda vs: len(vs) >= len(expected), timeout=30)]
    accepted = [Report.from_bytes(v) for v in read_topic_sync(
        bridge_settings, topics.REPORTS_RAW, lambda vs: len(vs) >= 1, timeout=10)]
    assert bridge.stop() == 0
    assert len(letters) == len(expected)
    for why in expected:
        assert [d for d in letters if why in d.reason and d.stage == "bridge"], why
    assert not [d for d in letters if "internal error" in d.reason]
    assert [(r.region, r.reporter_id, r.source) for r in accepted] == [
        ("360121100002-G1", REPORTER, "mqtt")]
