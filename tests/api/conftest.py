"""Fixtures for API tests: the real app served by uvicorn on a free port, real DB and Kafka."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn

from anlan.settings import Settings
from anlan.stack.database import drop_database, ensure_database
from anlan.stack.net import free_port
from api import accounts
from api.main import create_app
from api.options import ApiOptions

PASSWORD = "correct-horse-9"
# username → (role, region): county admin, two township officers, a township viewer
USERS = {
    "admin": ("admin", "360121"),
    "cg_officer": ("duty_officer", "360121100"),  # 城关镇
    "hk_officer": ("duty_officer", "360121101"),  # 河口镇
    "cg_viewer": ("viewer", "360121100"),
    "brute_target": ("viewer", "360121101"),  # the failed-login test locks this one out
}


class Server:
    """uvicorn serving the app in a background thread."""

    def __init__(self, settings: Settings, options: ApiOptions) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(settings, options)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="api-test", daemon=True)

    def start(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("API server did not start")
            time.sleep(0.02)
        state = self.app.state.anlan
        while not state.stream_ready.is_set():  # live stream consuming from the end
            if time.monotonic() > deadline:
                raise RuntimeError("API stream consumer did not get its partitions")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture(scope="session")
def api_database_url(database_url: str) -> Iterator[str]:
    """A database of the API tests' own (they replace the directory), migrated by the store."""
    from store.migrate import migrate

    base = database_url.rsplit("/", 1)[0]
    url = ensure_database(f"{base}/anlan_api_{os.getpid()}_{uuid.uuid4().hex[:8]}")
    migrate(url)
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def api_settings(make_settings: Callable[..., Settings], api_database_url: str) -> Settings:
    return make_settings(api_secret="test-secret-" + uuid.uuid4().hex,
                         database_url=api_database_url)


@pytest.fixture(scope="session")
def seeded_db(api_settings: Settings) -> str:
    """The session database with the demo directory and the test users."""
    from alerts.directory import db as directory_db
    from alerts.directory import read_file

    with psycopg.connect(api_settings.database_url, autocommit=True) as conn:
        directory_db.save(conn, read_file(api_settings.directory_file), "tests")
        for name, (role, region) in USERS.items():
            accounts.create_user(conn, name, PASSWORD, role, region, display_name=name,
                                 replace=True)
    return api_settings.database_url


@pytest.fixture(scope="session")
def api_server(api_settings: Settings, seeded_db: str) -> Iterator[Server]:
    options = ApiOptions(report_limit="3/minute", report_address_limit="60/minute")
    server = Server(api_settings, options).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tokens(api_server: Server) -> dict[str, str]:
    """A login token per test user."""
    out = {}
    with httpx.Client(base_url=api_server.base_url) as client:
        for name in USERS:
            resp = client.post("/api/v1/auth/login", json={"username": name,
                                                          "password": PASSWORD})
            resp.raise_for_status()
            out[name] = resp.json()["access_token"]
    return out


@pytest.fixture
def client(api_server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_server.base_url, timeout=15) as c:
        yield c


@pytest.fixture
def as_user(api_server: Server, tokens: dict[str, str]
            ) -> Iterator[Callable[[str], httpx.Client]]:
    """``as_user("cg_officer").get(...)``: a client sending that user's token."""
    clients: dict[str, httpx.Client] = {}

    def pick(name: str) -> httpx.Client:
        if name not in clients:
            clients[name] = httpx.Client(base_url=api_server.base_url, timeout=15,
                                         headers={"Authorization": f"Bearer {tokens[name]}"})
        return clients[name]

    yield pick
    for c in clients.values():
        c.close()


@pytest.fixture
def db(api_settings: Settings, seeded_db: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(api_settings.database_url, autocommit=True) as conn:
        yield conn
