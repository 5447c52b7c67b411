"""deploy/mosquitto: a broker with the shipped conf + ACL; a gateway cannot publish as another."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.reasoncodes import ReasonCode

from anlan.stack.mqtt import QUEUE_LIMITS, local_config
from sensors.broker import DEPLOY_DIR, ConfiguredMosquitto, mosquitto_binary, render_config

pytestmark = pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto is not installed")

USERS = {"anlan-bridge": "b-pass", "gw-a": "a-pass", "gw-b": "b-pass2", "p-0001": "r-pass"}


def test_rendered_config_keeps_the_shipped_settings(tmp_path: Path) -> None:
    text = render_config((DEPLOY_DIR / "mosquitto.conf").read_text(), 12345, tmp_path)
    assert "listener 12345 127.0.0.1" in text
    assert f"password_file {tmp_path / 'passwd'}" in text
    for line in ("allow_anonymous false", "persistence true", "autosave_interval 5",
                 "max_queued_messages 200000"):
        assert line in text.splitlines()


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConfiguredMosquitto]:
    with ConfiguredMosquitto(tmp_path_factory.mktemp("acl-broker"), USERS) as running:
        yield running


def _client(port: int, user: str | None, password: str | None,
            on_message: object = None) -> tuple[mqtt.Client, ReasonCode]:
    result: list[ReasonCode] = []
    connected = threading.Event()

    def on_connect(_c: object, _u: object, _f: object, rc: ReasonCode, _p: object) -> None:
        result.append(rc)
        connected.set()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    if user:
        client.username_pw_set(user, password)
    client.on_connect = on_connect
    if on_message:
        client.on_message = on_message  # type: ignore[assignment]
    client.connect("127.0.0.1", port)
    client.loop_start()
    assert connected.wait(5)
    return client, result[0]


def _publish(client: mqtt.Client, topic: str) -> int:
    """Publish QoS 1 and return the PUBACK reason code value."""
    codes: list[int] = []
    done = threading.Event()

    def on_publish(_c: object, _u: object, _mid: int, rc: ReasonCode, _p: object) -> None:
        codes.append(rc.value)
        done.set()

    client.on_publish = on_publish
    client.publish(topic, b"payload", qos=1)
    assert done.wait(5)
    return codes[0]


@pytest.mark.integration
def test_gateway_cannot_publish_as_another(broker: ConfiguredMosquitto) -> None:
    received: list[str] = []
    bridge, rc = _client(broker.port, "anlan-bridge", "b-pass",
                         lambda _c, _u, m: received.append(m.topic))
    assert not rc.is_failure
    bridge.subscribe("$share/g/anlan/v1/#", qos=1)
    gw_a, rc = _client(broker.port, "gw-a", "a-pass")
    assert not rc.is_failure
    reporter, _ = _client(broker.port, "p-0001", "r-pass")
    time.sleep(0.2)
    try:
        assert _publish(gw_a, "anlan/v1/gw/gw-a/readings") == 0
        assert _publish(gw_a, "anlan/v1/gw/gw-a/status") == 0
        assert _publish(gw_a, "anlan/v1/gw/gw-b/readings") == 135  # not authorized
        assert _publish(gw_a, "anlan/v1/reports/gw-a-fake") == 135
        assert _publish(reporter, "anlan/v1/reports/p-0001") == 0
        assert _publish(reporter, "anlan/v1/gw/gw-a/readings") == 135
        deadline = time.monotonic() + 5
        while len(received) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
        assert sorted(received) == ["anlan/v1/gw/gw-a/readings", "anlan/v1/gw/gw-a/status",
                                    "anlan/v1/reports/p-0001"]
    finally:
        for c in (bridge, gw_a, reporter):
            c.disconnect()
            c.loop_stop()


@pytest.mark.integration
@pytest.mark.parametrize(("user", "password"), [(None, None), ("gw-a", "wrong"),
                                                ("gw-z", "a-pass")])
def test_anonymous_and_wrong_credentials_are_refused(broker: ConfiguredMosquitto,
                                                     user: str | None,
                                                     password: str | None) -> None:
    client, rc = _client(broker.port, user, password)
    client.disconnect()
    client.loop_stop()
    assert rc.is_failure


def _settings_of(text: str) -> dict[str, str]:
    """``key value`` lines of a Mosquitto configuration (comments and blanks skipped)."""
    pairs = (line.split(None, 1) for line in text.splitlines()
             if line.strip() and not line.lstrip().startswith("#"))
    return {p[0]: p[1].strip() if len(p) > 1 else "" for p in pairs}


def test_local_stack_and_deployment_configs_agree_on_queues_and_persistence(
        tmp_path: Path) -> None:
    shipped = _settings_of((DEPLOY_DIR / "mosquitto.conf").read_text())
    local = _settings_of(local_config("127.0.0.1", 1883, tmp_path))
    for key, value in QUEUE_LIMITS.items():
        assert shipped[key] == value == local[key], key
    assert int(shipped["max_queued_messages"]) >= 100_000  # a storm backlog, not the default 1000
    assert int(shipped["max_queued_bytes"]) >= 100 * 1024 * 1024
    for key in ("persistence", "autosave_interval", "persistent_client_expiration"):
        assert shipped[key] == local[key], key
    assert shipped["persistence"] == "true" and int(shipped["autosave_interval"]) <= 10


@pytest.mark.integration
def test_make_passwd_as_documented_is_readable_by_the_broker(tmp_path: Path) -> None:
    """The documented steps: ACL and password file installed for the user the packaged broker
    drops to (``mosquitto``, when started as root), then the shipped configuration."""
    import subprocess
    import sys
    import tempfile

    from anlan.settings import DEMO_DIR

    as_service = os.geteuid() == 0
    # /etc/mosquitto/anlan and /var/lib/mosquitto stand-ins the broker user can reach
    scratch = Path(tempfile.mkdtemp(prefix="anlan-mosquitto-"))
    try:
        scratch.chmod(0o755)
        etc, var = scratch / "etc-anlan", scratch / "var-lib"
        owner = ["-o", "mosquitto", "-g", "mosquitto"] if as_service else []
        for cmd in (["install", "-d", *owner, "-m", "0750", str(etc)],
                    ["install", *owner, "-m", "0600", str(DEPLOY_DIR / "acl"), str(etc / "acl")]):
            subprocess.run(cmd, check=True)
        done = subprocess.run(["sh", str(DEPLOY_DIR / "make-passwd.sh"), str(etc / "passwd"),
                               str(DEMO_DIR / "sensors.yaml")], capture_output=True, text=True,
                              env={"PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
                                   "PYTHON": sys.executable}, check=False)
        assert done.returncode == 0, done.stderr
        info = (etc / "passwd").stat()
        assert info.st_mode & 0o777 == 0o600
        if as_service:
            assert (pwd.getpwuid(info.st_uid).pw_name, grp.getgrgid(info.st_gid).gr_name) == \
                ("mosquitto", "mosquitto")
        creds_file = etc / "passwd.credentials"
        assert creds_file.stat().st_mode & 0o777 == 0o600 and creds_file.stat().st_uid == 0 \
            if as_service else creds_file.stat().st_mode & 0o077 == 0
        creds = dict(line.split(":", 1) for line in creds_file.read_text().splitlines())
        assert set(creds) == {"anlan-bridge", "gw-0001", "gw-0002", "gw-0003"}
        with ConfiguredMosquitto(var, {}, etc_dir=etc, as_service=as_service) as b:
            gw, rc = _client(b.port, "gw-0002", creds["gw-0002"])
            assert not rc.is_failure
            assert _publish(gw, "anlan/v1/gw/gw-0002/readings") in (0, 16)  # 16: no subscribers
            gw.disconnect()
            gw.loop_stop()
            other, rc = _client(b.port, "gw-0002", creds["gw-0001"])
            other.disconnect()
            other.loop_stop()
            assert rc.is_failure
            log = b.log_path.read_text()
        assert "Error" not in log and "Warning" not in log, log
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
