"""The walking skeleton end to end on real services.

MQTT reading → bridge → Kafka → Faust worker (validate, assess, incidents) → anlan.alerts →
dispatcher → Apprise json:// → a local HTTP receiver; and the sink writes the alert to
PostgreSQL, where ``GET /api/v1/alerts`` finds it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest

from anlan.settings import Settings
from anlan.stack.database import drop_database, ensure_database
from anlan.stack.net import free_port
from anlan.stack.receiver import NotificationReceiver
from anlan.stack.runner import LocalStack

pytestmark = pytest.mark.integration


@pytest.fixture()
def running_stack(broker_settings: Callable[..., Settings], database_server: str,
                  tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[tuple[LocalStack, NotificationReceiver]]:
    """The local stack's parts on the session's services, on each broker (tansu, Kafka), each
    with a database of its own (the dispatcher's claims would otherwise see the other run's
    alerts of the same minute as sent)."""
    receiver = NotificationReceiver(lambda payload: None).start()
    state = tmp_path_factory.mktemp("stack")
    database = ensure_database(f"{database_server}anlan_stack_{uuid.uuid4().hex[:8]}")
    settings = broker_settings(api_port=free_port(), state_dir=state, database_url=database)
    stack = LocalStack(settings, say=lambda *_: None, extra_env={
        "ANLAN_DEFAULT_NOTIFY_URLS": json.dumps([receiver.url]),
        "ANLAN_TOPIC_PREFIX": settings.topic_prefix,
        "ANLAN_WORKER_ID": settings.worker_id,
        "ANLAN_WORKER_DATA_DIR": str(Path(state) / "worker"),
        "ANLAN_WORKER_WEB_PORT": "0",
        "ANLAN_MQTT_CLIENT_ID": settings.mqtt_client_id,
        "ANLAN_MQTT_SHARE_GROUP": settings.mqtt_share_group,
        "ANLAN_API_PORT": str(settings.api_port),
        "ANLAN_API_ADMIN_PASSWORD": "test-admin-pw",
    })
    try:
        stack.start(ready_timeout=120)
        yield stack, receiver
    finally:
        stack.stop()
        receiver.stop()
        drop_database(database)


def _publish_rain(settings: Settings, gateway: str, sensors: list[str], mm_per_5min: float,
                  hours: float) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{gateway}-test")
    client.connect(settings.mqtt_host, settings.mqtt_port)
    client.loop_start()
    end = datetime.now(timezone(timedelta(hours=8))).replace(second=0, microsecond=0)
    steps = int(hours * 12)
    try:
        for i in range(steps):
            ts = end - timedelta(minutes=5 * (steps - 1 - i))
            body = {"seq": i, "readings": [
                {"sensor": s, "ts": ts.isoformat(), "kind": "rain_mm", "value": mm_per_5min}
                for s in sensors]}
            info = client.publish(f"anlan/v1/gw/{gateway}/readings", json.dumps(body), qos=1)
            info.wait_for_publish(10)
    finally:
        client.loop_stop()
        client.disconnect()


def test_reading_over_mqtt_becomes_a_delivered_alert_in_the_api(
        running_stack: tuple[LocalStack, NotificationReceiver]) -> None:
    stack, receiver = running_stack
    settings = stack.settings
    # 3 h at 12 mm/h on both gauges of one grid: 36 mm in 3 h … then heavier: ≥ 50 mm in 3 h
    _publish_rain(settings, "gw-0002", ["rg-0201", "rg-0202"], mm_per_5min=2.0, hours=3)

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not receiver.snapshot():
        assert stack.check_children() is None, stack.check_children()
        time.sleep(0.2)
    messages = receiver.snapshot()
    assert messages, "no alert reached the local receiver through Apprise"

    base = f"http://{settings.api_host}:{settings.api_port}/api/v1"
    with httpx.Client(timeout=10) as http:
        token = http.post(f"{base}/auth/login", data={
            "username": "admin", "password": "test-admin-pw"}).json()["access_token"]
        deadline = time.monotonic() + 30
        alerts: list[dict[str, object]] = []
        while time.monotonic() < deadline and not alerts:
            resp = http.get(f"{base}/alerts", headers={"Authorization": f"Bearer {token}"})
            assert resp.status_code == 200, resp.text
            body = resp.json()
            alerts = body["items"] if isinstance(body, dict) else body
            time.sleep(0.3)
    assert alerts, "the alert was delivered but never appeared in GET /api/v1/alerts"
    assert any(a["region"].startswith("360121100002") for a in alerts)
