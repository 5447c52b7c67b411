"""``anlan simulate`` end to end: simulator → Mosquitto → bridge → Kafka (real services)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from anlan import topics
from anlan.events import DeadLetter, RawReadings
from anlan.settings import Settings
from sensors.broker import ConfiguredMosquitto, mosquitto_binary
from tests.sensors.support import SpawnBridge, bridge_env, read_topic_sync

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto is not installed"),
]

GATEWAYS = ["gw-0001", "gw-0002", "gw-0003"] + [f"gw-sim-{i:04d}" for i in range(1, 7)]


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConfiguredMosquitto]:
    """A private broker (deploy config): the simulated drill must not reach other bridges'
    sessions on the machine's broker, where a later `anlan demo` would replay it."""
    users = {"anlan-bridge": "bridge-pw", **{gw: f"{gw}-pw" for gw in GATEWAYS}}
    with ConfiguredMosquitto(tmp_path_factory.mktemp("sim-broker"), users) as running:
        (running.workdir / "credentials").write_text(
            "".join(f"{user}:{pw}\n" for user, pw in users.items()))
        yield running


@pytest.fixture()
def on_broker(make_settings: Callable[..., Settings],
              broker: ConfiguredMosquitto) -> Callable[..., Settings]:
    def factory(**overrides: object) -> Settings:
        return make_settings(mqtt_port=broker.port, mqtt_username="anlan-bridge",
                             mqtt_password="bridge-pw", **overrides)
    return factory


def _simulate(settings: Settings, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = bridge_env(settings, tmp_path / "ready")
    return subprocess.run([sys.executable, "-m", "anlan", "simulate", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def _readings(values: list[bytes]) -> list[tuple[str, str, float]]:
    out = []
    for value in values:
        event = RawReadings.from_bytes(value)
        out += [(event.gateway_id, r.sensor, r.value) for r in event.readings]
    return out


def test_drill_reaches_kafka_through_the_bridge(on_broker: Callable[..., Settings],
                                                broker: ConfiguredMosquitto,
                                                tmp_path: Path,
                                                spawn_bridge: SpawnBridge) -> None:
    settings = on_broker()
    bridge = spawn_bridge(settings, tmp_path)
    bridge.start()
    try:
        done = _simulate(settings, tmp_path, "--scenario", "drill", "--wall-seconds", "1.5",
                         "--credentials", str(broker.workdir / "credentials"))
        assert done.returncode == 0, done.stderr
        assert "all acknowledged by the broker" in done.stderr
        assert "[simulate] step 36/36" in done.stderr
        values = read_topic_sync(settings, topics.READINGS_RAW,
                                 lambda vs: len(_readings(vs)) >= 180, timeout=30)
        statuses = read_topic_sync(settings, topics.GATEWAY_STATUS, lambda vs: False, timeout=2)
    finally:
        bridge.stop()
    readings = _readings(values)
    assert len(readings) == 180
    totals: dict[str, float] = defaultdict(float)
    for _gw, sensor, value in readings:
        totals[sensor] += value
    assert totals["rg-0201"] > 100 and totals["rg-0202"] > 100
    # the drill is an exercise: its readings are marked at the edge, and it says nothing about
    # the real gateways' status (no online, no last will)
    events = [RawReadings.from_bytes(v) for v in values]
    assert all(e.exercise and e.mqtt_topic == f"anlan/v1/exercise/gw/{e.gateway_id}/readings"
               for e in events)
    assert "as a drill" in done.stderr
    assert statuses == []


@pytest.mark.parametrize(("args", "exercise"), [
    (("--scenario", "drill"), True), (("--scenario", "drill_staged"), True),
    (("--scenario", "rainstorm"), False), (("--scenario", "rainstorm", "--drill"), True)])
def test_drills_publish_in_the_exercise_namespace(settings: Settings, tmp_path: Path,
                                                  args: tuple[str, ...], exercise: bool) -> None:
    done = _simulate(settings, tmp_path, *args, "--dry-run")
    assert done.returncode == 0, done.stderr
    frames = [json.loads(line) for line in done.stdout.splitlines()]
    prefix = "anlan/v1/exercise/gw/" if exercise else "anlan/v1/gw/"
    assert frames and all(f["topic"] == f"{prefix}{f['gateway']}/readings" for f in frames)


def test_synthetic_gateways_with_written_registry(on_broker: Callable[..., Settings],
                                                  broker: ConfiguredMosquitto,
                                                  tmp_path: Path,
                                                  spawn_bridge: SpawnBridge) -> None:
    registry = tmp_path / "sim-sensors.yaml"
    settings = on_broker(sensors_file=registry)
    dry = _simulate(settings, tmp_path, "--gateways", "6", "--sensors", "8",
                    "--write-registry", str(registry), "--scenario", "gas_leak", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    expected = len(dry.stdout.splitlines())  # one gateway message per line
    bridge = spawn_bridge(settings, tmp_path)
    bridge.start()
    try:
        done = _simulate(settings, tmp_path, "--gateways", "6", "--sensors", "8",
                         "--scenario", "gas_leak", "--wall-seconds", "2",
                         "--credentials", str(broker.workdir / "credentials"))
        assert done.returncode == 0, done.stderr
        values = read_topic_sync(settings, topics.READINGS_RAW,
                                 lambda vs: len(vs) >= expected, timeout=30)
        dead = read_topic_sync(settings, topics.DEADLETTER, lambda vs: False, timeout=1)
    finally:
        bridge.stop()
    assert len(values) == expected
    # (retained statuses of gateways not in this registry would be dead letters)
    assert all(DeadLetter.from_bytes(d).source_topic.endswith("/status") for d in dead)
    assert {RawReadings.from_bytes(v).gateway_id for v in values} == \
        {f"gw-sim-{i:04d}" for i in range(1, 7)}


def test_wrong_credentials_are_a_clear_startup_error(on_broker: Callable[..., Settings],
                                                     tmp_path: Path) -> None:
    done = _simulate(on_broker(), tmp_path, "--scenario", "drill")  # no --credentials
    assert done.returncode == 2
    assert "gateway gw-0001: MQTT connect refused" in done.stderr


def test_unknown_scenario_is_a_clear_startup_error(settings: Settings, tmp_path: Path) -> None:
    done = _simulate(settings, tmp_path, "--scenario", "meteor")
    assert done.returncode == 2
    assert "no scenario 'meteor'" in done.stderr and "drill" in done.stderr


@pytest.mark.parametrize(("env", "message"), [
    ({"ANLAN_SENSORS_FILE": "/nonexistent/sensors.yaml"}, "sensors file not found"),
    ({"ANLAN_KAFKA_BOOTSTRAP": ""}, "ANLAN_KAFKA_BOOTSTRAP is not set"),
])
def test_bridge_startup_errors_are_one_line(settings: Settings, tmp_path: Path,
                                            env: dict[str, str], message: str) -> None:
    full = bridge_env(settings, tmp_path / "ready")
    full.update(env)
    done = subprocess.run([sys.executable, "-m", "anlan", "bridge"], env=full,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.startswith("anlan bridge: error: ") and message in done.stderr
