"""SIGKILL the ``anlan dispatch`` process in the middle of a burst, restart it: every alert
reaches every recipient; repeats are bounded by what was in flight at the kill."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from alerts.directory import db as dirdb
from anlan.events import utcnow
from anlan.kafka import make_producer
from anlan.settings import Settings
from tests.alerts.conftest import quiet_timers
from tests.alerts.helpers import alert, demo
from tests.alerts.receivers import HttpReceiver, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("restore_demo_directory")]
ALERTS = 20
PEOPLE = ("p-cg-duty", "p-gw-hkc1")
IDENT = re.compile(r"编号：(\S+)")


def _pairs(receiver: HttpReceiver, unique: bool = True) -> list[tuple[str, str]]:
    """(recipient path, CAP identifier) of every message received."""
    pairs = []
    for post in list(receiver.posts):
        found = IDENT.search(post["message"])
        if found:
            pairs.append((post["_path"], found.group(1)))
    return sorted(set(pairs)) if unique else pairs


def _spawn(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, ANLAN_KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
               ANLAN_KAFKA_IDEMPOTENT_PRODUCER="false", ANLAN_DATABASE_URL=settings.database_url,
               ANLAN_TOPIC_PREFIX=settings.topic_prefix, ANLAN_NOTIFY_RETRIES="0",
               ANLAN_DEFAULT_NOTIFY_URLS=json.dumps(settings.default_notify_urls))
    return subprocess.Popen([sys.executable, "-m", "anlan", "dispatch", "--tick", "0.2",
                             "--lease-s", "1", "--no-import"], env=env,
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT)


async def _produce(settings: Settings) -> None:
    producer = make_producer(settings)
    await producer.start()
    try:
        for i in range(ALERTS):
            a = alert(alert_id=f"crash-{settings.topic_prefix}{i}", sent=utcnow(),
                      notify=[{"role": "duty_officer", "tier": "township"},
                              {"role": "grid_worker", "tier": "grid"}], ack_timeout_s=None)
            await producer.send_and_wait(settings.topic("anlan.alerts"), a.to_bytes(),
                                         key=a.incident_id.encode())
    finally:
        await producer.stop()


def test_sigkill_mid_burst_loses_nothing(make_settings: Callable[..., Settings],
                                        database_url: str, tmp_path: Path) -> None:
    receiver = HttpReceiver(delay_s=0.05).start()
    try:
        d, _ = demo()
        d = d.model_copy(update={"people": tuple(
            p.model_copy(update={"urls": (receiver.url(p.id),)}) for p in d.people)})
        with psycopg.connect(database_url) as conn:
            dirdb.save(conn, d, "crash-test")
        quiet_timers(database_url)
        settings = make_settings(default_notify_urls=[receiver.url("_ops")])
        log = tmp_path / "dispatch.log"
        first = _spawn(settings, log)
        try:
            asyncio.run(_produce(settings))
            assert wait_for(lambda: len(receiver.posts) >= 10, 60), log.read_text()[-2000:]
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        at_kill = len(receiver.posts)
        second = _spawn(settings, log)
        try:
            expected = ALERTS * (len(PEOPLE) + 1)
            done = wait_for(lambda: len(_pairs(receiver)) >= expected, 90)
            assert done, log.read_text()[-3000:]
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(30) == 0
    finally:
        receiver.stop()
    counts = Counter(_pairs(receiver, unique=False))
    assert {path for path, _ in counts} == {"/p-cg-duty", "/p-gw-hkc1", "/_ops"}
    repeats = sum(n - 1 for n in counts.values())
    print(f"at kill {at_kill} messages; repeats after restart {repeats}")
    assert at_kill < ALERTS * 3  # the kill landed mid-burst
    assert repeats <= 64  # at most what was in flight (the send pool) at the kill
