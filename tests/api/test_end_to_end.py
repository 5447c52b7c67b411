"""The duty officer's loop on the real parts: API → Kafka command → Faust worker → incident and
alert events → store sink → PostgreSQL → API. No part is stood in for.

A manual red alert is issued through the API, appears in the alert list once the worker has
opened the incident and the sink has written it, is acknowledged (status ``acknowledged``) and
resolved (status ``resolved``, a Cancel alert follows).
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psycopg
import pytest

from alerts.cap import validate_cap
from anlan.settings import Settings
from api import accounts
from api.options import ApiOptions
from store.sink.runner import SinkOptions, run_sink
from tests.api.conftest import PASSWORD, Server
from tests.streams.harness import Child, rain_plans_dir

pytestmark = pytest.mark.integration
REGION = "360121100001-G1"


class InProcessSink:
    """The store's sink running in a thread of the test process (its own consumer group)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.stop_event: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, name="sink", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self.stop_event = asyncio.Event()
            await run_sink(self.settings, SinkOptions(group_id=f"api-e2e-{uuid.uuid4().hex[:6]}",
                                                      backoff_max_s=1.0), self.stop_event)
        self.loop.run_until_complete(main())

    def start(self) -> InProcessSink:
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(timeout=20)


@pytest.fixture(scope="module")
def stack(make_settings: Callable[..., Settings], api_database_url: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Server]]:
    work = tmp_path_factory.mktemp("api-e2e")
    settings = make_settings(database_url=api_database_url, plans_dir=rain_plans_dir(work),
                             worker_id=f"api-e2e-{uuid.uuid4().hex[:6]}",
                             worker_data_dir=Path(work) / "worker")
    with psycopg.connect(api_database_url, autocommit=True) as conn:
        accounts.create_user(conn, "e2e_officer", PASSWORD, "duty_officer", "360121100",
                             replace=True)
    worker = Child("worker", settings, Path(work))
    sink = InProcessSink(settings).start()
    server = Server(settings, ApiOptions()).start()
    try:
        worker.start()
        yield settings, server
    finally:
        worker.stop()
        server.stop()
        sink.stop()


def _poll(fetch: Callable[[], Any], ok: Callable[[Any], bool], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    value = fetch()
    while not ok(value):
        assert time.monotonic() < deadline, f"gave up waiting; last: {value}"
        time.sleep(0.25)
        value = fetch()
    return value


def test_manual_alert_ack_and_resolve_through_the_real_worker(
        stack: tuple[Settings, Server]) -> None:
    _, server = stack
    with httpx.Client(base_url=server.base_url, timeout=15) as c:
        token = c.post("/api/v1/auth/login", json={"username": "e2e_officer",
                                                   "password": PASSWORD}).json()["access_token"]
        c.headers["Authorization"] = f"Bearer {token}"
        issued = c.post("/api/v1/alerts", json={
            "region": REGION, "hazard": "rainstorm", "level": "I",
            "headline": "河口村暴雨红色预警（人工）"})
        assert issued.status_code == 202, issued.text

        def mine() -> list[dict[str, Any]]:
            rows = c.get("/api/v1/alerts", params={"region": REGION}).json()
            return [a for a in rows if a["plan"] == "rainstorm"]

        alert = _poll(mine, lambda rows: bool(rows))[0]
        assert (alert["level"], alert["status"], alert["msg_type"]) == ("I", "open", "Alert")

        path = f"/api/v1/alerts/{quote(alert['alert_id'], safe='')}"  # ids hold ':' and '#'
        assert c.post(f"{path}/ack").status_code == 202
        acked = _poll(mine, lambda rows: rows[0]["status"] == "acknowledged")[0]
        assert acked["acknowledged_by"] == "e2e_officer"

        assert c.post(f"{path}/resolve").status_code == 202
        done = _poll(mine, lambda rows: rows[0]["status"] == "resolved")[0]
        assert done["incident_id"] == alert["incident_id"]
        detail = _poll(lambda: c.get(path).json(),
                       lambda d: {"确认", "解除"} <= {t["label"] for t in d["timeline"]})
        labels = [t["label"] for t in detail["timeline"]]
        assert labels.index("事件开始") < labels.index("已确认") < labels.index("已解除")
        cap = c.get(f"/api/v1/cap/{quote(alert['alert_id'], safe='')}.xml")
        assert cap.status_code == 200 and validate_cap(cap.text.split("?>", 1)[1]) == []
