"""What the API answers when a part is missing: no 202 unless the broker has the command."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from anlan.events import Level
from anlan.settings import Settings
from api.options import ApiOptions
from tests.api.conftest import PASSWORD, Server
from tests.api.helpers import alert_for, incident, store_events

pytestmark = pytest.mark.integration


@pytest.fixture
def broker_gone(api_settings: Settings, seeded_db: str) -> Iterator[Server]:
    """An API whose Kafka producer has stopped (as when the brokers are unreachable)."""
    server = Server(api_settings, ApiOptions(kafka_timeout_s=2.0)).start()
    state = server.app.state.anlan
    assert state.loop is not None and state.producer is not None
    asyncio.run_coroutine_threadsafe(state.producer.stop(), state.loop).result(10)
    yield server
    server.stop()


def test_commands_and_reports_are_503_without_the_broker(broker_gone: Server,
                                                         seeded_db: str) -> None:
    inc = incident("360121100001-G1", Level.I)
    a = alert_for(inc)
    store_events(seeded_db, inc, a)
    with httpx.Client(base_url=broker_gone.base_url, timeout=15) as c:
        token = c.post("/api/v1/auth/login", json={"username": "cg_officer",
                                                   "password": PASSWORD}).json()["access_token"]
        c.headers["Authorization"] = f"Bearer {token}"
        ack = c.post(f"/api/v1/alerts/{a.alert_id}/ack")
        assert ack.status_code == 503 and "retry" in ack.json()["detail"]
        report = c.post("/api/v1/reports", json={"kind": "fire",
                                                 "region": "360121100"})
        assert report.status_code == 503
        assert c.get("/api/v1/alerts").status_code == 200  # reads still work
        ready = c.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["kafka"] is False
