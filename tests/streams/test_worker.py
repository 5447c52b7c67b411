"""The Faust worker on the real tansu broker (and Mosquitto + the bridge for the main scenario).

Workers run as ``python -m anlan worker`` subprocesses, as deployed."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from anlan import topics
from anlan.events import (
    Alert,
    Command,
    DeadLetter,
    GatewayStatus,
    IncidentEvent,
    Level,
    Readings,
    SeqGap,
)
from anlan.settings import Settings
from tests.streams.harness import (
    Child,
    alerts_of,
    cancelled,
    collect,
    produce,
    rain_plans_dir,
    raw_message,
    run,
    unique_registry,
)
from tests.streams.scenario import check_lifecycle, storm

pytestmark = pytest.mark.integration

Layout = dict[str, tuple[str, list[str]]]


def _start() -> datetime:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return now - timedelta(hours=26, minutes=1)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("streams-it")


@pytest.fixture(scope="module")
def layout(workdir: Path) -> tuple[Path, Layout]:
    return unique_registry(workdir)


@pytest.fixture(scope="module")
def live(make_settings: Callable[..., Settings], workdir: Path,
         layout: tuple[Path, Layout]) -> Iterator[Settings]:
    """One worker and one bridge shared by the tests of this module that need them."""
    settings = make_settings(plans_dir=rain_plans_dir(workdir), sensors_file=layout[0])
    worker = Child("worker", settings, workdir).start(wait=False)
    bridge = Child("bridge", settings, workdir).start(wait=False)
    try:
        worker.wait_ready()
        bridge.wait_ready()
        yield settings
    finally:
        bridge.stop()
        worker.stop()


def _publish_storm(settings: Settings, gateway: str, sensor: str) -> int:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{gateway}-{time.time()}")
    client.connect(settings.mqtt_host, settings.mqtt_port)
    client.loop_start()
    try:
        messages = storm(_start())
        for seq, (ts, mm) in enumerate(messages):
            body = {"seq": seq, "readings": [
                {"sensor": sensor, "ts": ts.isoformat(), "kind": "rain_mm", "value": mm}]}
            info = client.publish(f"anlan/v1/gw/{gateway}/readings", json.dumps(body), qos=1)
            info.wait_for_publish(10)
        return len(messages)
    finally:
        client.loop_stop()
        client.disconnect()


def test_rainstorm_over_mqtt_raises_and_clears_one_alert_per_change(
        live: Settings, layout: tuple[Path, Layout]) -> None:
    gateway = sorted(layout[1])[1]
    region, gauges = layout[1][gateway]
    sent = _publish_storm(live, gateway, gauges[0])
    values = run(collect(live, topics.ALERTS, cancelled({region}), timeout=60))
    alerts = [a for a in alerts_of(values) if a.region == region]
    check_lifecycle([a.level for a in alerts])
    assert len({a.alert_id for a in alerts}) == len(alerts)  # each change exactly one message
    assert len({a.incident_id for a in alerts}) == 1
    assert alerts[0].msg_type == "Alert" and alerts[-1].msg_type == "Cancel"
    assert alerts[-1].references == [a.alert_id for a in alerts[:-1]]
    red = alerts[3]
    assert red.headline == f"{region}暴雨红色预警" and red.instruction
    assert red.evidence["matched"] and red.ack_timeout_s == 600

    readings = run(collect(live, topics.READINGS,
                           lambda v: sum(len(Readings.from_bytes(x).readings) for x in v) >= sent,
                           timeout=20))
    batches = [Readings.from_bytes(v) for v in readings]
    assert sum(len(b.readings) for b in batches) == sent  # gateway batches kept whole
    assert {r.region for b in batches for r in b.readings} == {region}

    incidents = [IncidentEvent.from_bytes(v) for v in run(collect(
        live, topics.INCIDENTS, lambda v: len(v) >= len(alerts), timeout=10))]
    changes = [e.change for e in incidents if e.region == region]
    assert changes[:4] == ["opened", "escalated", "escalated", "escalated"]
    assert changes[-1] == "cleared"
    tasks = run(collect(live, topics.TASKS, lambda v: len(v) >= 6, timeout=10))
    assert len(tasks) == 6  # yellow 1, orange 2, red 3 — never repeated


def test_bad_readings_go_to_the_dead_letter(live: Settings, layout: tuple[Path, Layout]
                                           ) -> None:
    now = datetime.now(UTC)
    gateway = min(layout[1])
    g1, g2 = layout[1][gateway][1]
    bad = raw_message(gateway, 1, [(g1, now, -5.0), (g2, now, 1.0)])
    run(produce(live, [(topics.READINGS_RAW, gateway, bad.to_bytes()),
                       (topics.READINGS_RAW, gateway, b"{not json")]))
    def ours_of(values: list[bytes]) -> list[DeadLetter]:  # (other parts dead-letter too)
        return [d for d in map(DeadLetter.from_bytes, values) if d.stage == "validate"]

    ours = ours_of(run(collect(live, topics.DEADLETTER, lambda v: len(ours_of(v)) >= 2,
                               timeout=20)))
    assert any(g1 in d.reason and "below hard limit" in d.reason for d in ours)
    assert any("not a RawReadings" in d.reason and d.original == b"{not json" for d in ours)


def test_commands_manual_alert_ack_resolve(live: Settings) -> None:
    region = "360121100001-G2"
    target = f"rainstorm:{region}"
    manual = Command(command_id="m-1", kind="manual_alert", target=target, actor="duty-1",
                     detail={"level": "III"})
    run(produce(live, [(topics.COMMANDS, target, manual.to_bytes())]))
    opened = run(collect(live, topics.ALERTS, lambda v: any(
        a.region == region for a in alerts_of(v)), timeout=20))
    alert = next(a for a in alerts_of(opened) if a.region == region)
    assert alert.msg_type == "Alert" and alert.level == Level.III
    incident = alert.incident_id
    ack = Command(command_id="a-1", kind="ack", target=incident, actor="duty-1")
    resolve = Command(command_id="r-1", kind="resolve", target=incident, actor="duty-1")
    run(produce(live, [(topics.COMMANDS, incident, ack.to_bytes()),
                       (topics.COMMANDS, incident, ack.to_bytes()),  # a duplicate
                       (topics.COMMANDS, incident, resolve.to_bytes())]))
    values = run(collect(live, topics.ALERTS, lambda v: any(
        a.region == region and a.msg_type == "Cancel" for a in alerts_of(v)), timeout=20))
    ours = [a for a in alerts_of(values) if a.region == region]
    assert [a.msg_type for a in ours] == ["Alert", "Cancel"]
    events = [e for e in (IncidentEvent.from_bytes(v) for v in run(collect(
        live, topics.INCIDENTS, lambda v: False, timeout=3))) if e.incident_id == incident]
    assert [e.change for e in events] == ["opened", "acknowledged", "resolved"]


def test_gateway_offline_raises_one_maintenance_alert_then_cancel(
        live: Settings, layout: tuple[Path, Layout]) -> None:
    now = datetime.now(UTC)
    gateway = sorted(layout[1])[2]
    offline = GatewayStatus(gateway_id=gateway, status="offline", at=now)
    online = GatewayStatus(gateway_id=gateway, status="online", at=now + timedelta(seconds=5))
    gap = SeqGap(gateway_id=gateway, first_missing=4, last_missing=6, missing=3, at=now)
    run(produce(live, [(topics.GATEWAY_STATUS, gateway, offline.to_bytes()),
                       (topics.GATEWAY_STATUS, gateway, gap.to_bytes()),  # the console's
                       (topics.GATEWAY_STATUS, gateway, offline.to_bytes()),
                       (topics.GATEWAY_STATUS, gateway, online.to_bytes())]))
    values = run(collect(live, topics.ALERTS, lambda v: any(
        a.msg_type == "Cancel" for a in alerts_of(v, "maintenance")), timeout=20))
    ours = alerts_of(values, "maintenance")
    assert [a.msg_type for a in ours] == ["Alert", "Cancel"]
    assert ours[0].notify[0] == {"role": "technician", "tier": "grid"}
    letters = [DeadLetter.from_bytes(v) for v in run(collect(
        live, topics.DEADLETTER, lambda v: False, timeout=2))]
    assert not [d for d in letters if d.source_topic.endswith(topics.GATEWAY_STATUS)]


def test_silent_sensor_raises_one_maintenance_alert_until_heard_again(
        live: Settings, layout: tuple[Path, Layout]) -> None:
    tag = min(layout[1]).split("-")[1]
    gateway, sensor = f"gw-{tag}-t", f"tp-{tag}-t"

    def reading() -> tuple[str, str, bytes]:
        now = datetime.now(UTC)
        msg = raw_message(gateway, 1, [(sensor, now, 25.0)], kind="temperature_c")
        return (topics.READINGS_RAW, gateway, msg.to_bytes())

    def ours(values: list[bytes]) -> list[Alert]:
        return [a for a in alerts_of(values, "maintenance") if gateway in a.alert_id]

    run(produce(live, [reading()]))  # heard once, then silent for > 3 × 1 s
    opened = run(collect(live, topics.ALERTS, lambda v: bool(ours(v)), timeout=30))
    assert [a.msg_type for a in ours(opened)] == ["Alert"]
    time.sleep(2.5)  # more timer ticks: still one alert for this outage
    run(produce(live, [reading()]))
    values = run(collect(live, topics.ALERTS, lambda v: any(
        a.msg_type == "Cancel" for a in ours(v)), timeout=30))
    assert [a.msg_type for a in ours(values)] == ["Alert", "Cancel"]
