"""``anlan db migrate`` and ``anlan sink`` as commands (real PostgreSQL and Kafka)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from anlan.settings import Settings
from anlan.stack.database import drop_database
from tests.store.support import count, produce, readings_records

pytestmark = pytest.mark.integration


@pytest.fixture()
def scratch_url() -> Iterator[str]:
    url = f"postgresql://postgres@127.0.0.1:5432/anlan_cli_{uuid.uuid4().hex[:8]}"
    yield url
    drop_database(url)


def _anlan(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "anlan", *args], env={**os.environ, **env}, check=False,
                          capture_output=True, text=True, timeout=120)


def test_db_migrate_creates_the_database_and_is_idempotent(scratch_url: str) -> None:
    env = {"ANLAN_DATABASE_URL": scratch_url}
    first = _anlan("db", "migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert "applied 0001_core" in first.stdout and "(plain;" in first.stdout
    again = _anlan("db", "migrate", env=env)
    assert again.returncode == 0 and "0 applied" in again.stdout
    demanded = _anlan("db", "migrate", "--timescale", env=env)
    assert demanded.returncode == 1 and "TimescaleDB was requested" in demanded.stdout
    status = _anlan("db", "status", env=env)
    assert status.returncode == 0 and "flavour plain" in status.stdout
    assert "0 pending" in status.stdout and "applied  0001_core" in status.stdout
    purge = _anlan("db", "--url", scratch_url, "retention", "--days", "30", env={})
    assert purge.returncode == 0 and purge.stdout.startswith("deleted 0")


def test_db_status_of_an_unmigrated_database(scratch_url: str) -> None:
    out = _anlan("db", "status", env={"ANLAN_DATABASE_URL": scratch_url})
    assert out.returncode == 1 and "anlan db migrate" in out.stdout


def test_db_migrate_names_an_unreachable_server() -> None:
    out = _anlan("db", "migrate", env={"ANLAN_DATABASE_URL":
                                        "postgresql://postgres@127.0.0.1:1/anlan"})
    assert out.returncode == 2
    assert "ANLAN_DATABASE_URL" in out.stdout + out.stderr


def test_sink_command_marks_ready_writes_and_stops_on_sigterm(
        make_settings: Callable[..., Settings], database_url: str, tmp_path: Path) -> None:
    import asyncio

    settings = make_settings()
    gw = f"gw-{uuid.uuid4().hex[:6]}"
    asyncio.run(produce(settings, readings_records(gw, range(10), n=5)))
    env = {**os.environ, "ANLAN_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
           "ANLAN_TOPIC_PREFIX": settings.topic_prefix, "ANLAN_DATABASE_URL": database_url,
           "ANLAN_KAFKA_IDEMPOTENT_PRODUCER": "false", "ANLAN_READY_DIR": str(tmp_path),
           "ANLAN_BROKER_REBALANCE_TIMEOUT": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "anlan", "sink", "--group", f"g-{gw}",
                             "--retention-days", "0", "--session-timeout", "2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and count(database_url, "readings",
                                                    f"gateway_id = '{gw}'") < 50:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.2)
        assert (tmp_path / "sink").exists()
        assert count(database_url, "readings", f"gateway_id = '{gw}'") == 50
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "sink stopped: 10 records, 50 rows" in out


def test_sink_names_an_unreachable_kafka(database_url: str) -> None:
    out = _anlan("sink", "--no-migrate", env={"ANLAN_DATABASE_URL": database_url,
                                               "ANLAN_KAFKA_BOOTSTRAP": "127.0.0.1:1"})
    assert out.returncode == 2
    assert "ANLAN_KAFKA_BOOTSTRAP" in out.stdout + out.stderr


def test_sink_killed_mid_ingest_then_restarted_loses_and_duplicates_nothing(
        make_settings: Callable[..., Settings], database_url: str) -> None:
    import asyncio
    import threading

    settings = make_settings()
    gw = f"gw-{uuid.uuid4().hex[:6]}"

    async def feed() -> None:  # paced, so the sink writes many batches while it arrives
        for start in range(0, 400, 10):
            await produce(settings, readings_records(gw, range(start, start + 10), n=20))
            await asyncio.sleep(0.02)

    env = {**os.environ, "ANLAN_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
           "ANLAN_TOPIC_PREFIX": settings.topic_prefix, "ANLAN_DATABASE_URL": database_url,
           "ANLAN_KAFKA_IDEMPOTENT_PRODUCER": "false", "ANLAN_BROKER_REBALANCE_TIMEOUT": "1"}
    cmd = [sys.executable, "-m", "anlan", "sink", "--group", f"g-{gw}", "--no-migrate",
           "--retention-days", "0", "--session-timeout", "2"]
    where = f"gateway_id = '{gw}'"
    asyncio.run(produce(settings, readings_records(gw, [1000], n=20)))
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    feeder = threading.Thread(target=lambda: asyncio.run(feed()))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and count(database_url, "readings", where) == 0:
            time.sleep(0.02)  # the sink has joined its group and written the first batch
        feeder.start()
        while time.monotonic() < deadline and count(database_url, "readings", where) < 2000:
            time.sleep(0.01)
    finally:
        first.send_signal(signal.SIGKILL)  # no clean stop: offsets may lag the rows
        first.wait(10)
        feeder.join(60)
    partial = count(database_url, "readings", where)
    assert 0 < partial < 8020, "the kill did not land mid-ingest"
    second = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and count(database_url, "readings", where) < 8020:
            time.sleep(0.2)
    finally:
        second.send_signal(signal.SIGTERM)
        out, _ = second.communicate(timeout=30)
    assert count(database_url, "readings", where) == 8020, out
    assert count(database_url, "readings_latest", where) == 20
