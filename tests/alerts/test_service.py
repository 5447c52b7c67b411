"""``anlan dispatch`` end to end: Kafka in, Apprise out to a real receiver, dead letters,
acknowledgement by command, task replies by command."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta

import psycopg
import pytest

from alerts.directory import db as dirdb
from alerts.dispatch import repository as repo
from alerts.dispatch.service import DispatchService, ServiceOptions
from anlan import topics
from anlan.events import Command, DeadLetter, Delivery, Level, utcnow
from anlan.kafka import make_producer
from anlan.settings import Settings
from tests.alerts.conftest import quiet_timers
from tests.alerts.helpers import alert, demo, task
from tests.alerts.kafka_util import read_topic
from tests.alerts.receivers import HttpReceiver

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("restore_demo_directory")]


async def until(check: Callable[[], bool], timeout: float = 30.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if check():
            return True
        await asyncio.sleep(0.05)
    return check()


def test_dispatch_service_over_kafka(make_settings: Callable[..., Settings],
                                     database_url: str, http: HttpReceiver) -> None:
    ops = HttpReceiver().start()
    d, _ = demo()
    d = d.model_copy(update={"people": tuple(
        p.model_copy(update={"urls": (http.url(),)}) for p in d.people)})
    with psycopg.connect(database_url) as conn:
        dirdb.save(conn, d, "test")
    quiet_timers(database_url)
    settings = make_settings(default_notify_urls=[ops.url()], notify_retries=0)
    try:
        asyncio.run(_scenario(settings, http, ops))
    finally:
        ops.stop()


async def _scenario(settings: Settings, http: HttpReceiver, ops: HttpReceiver) -> None:
    service = DispatchService(settings, ServiceOptions(tick_s=0.2, directory_check_s=0.2))
    runner = asyncio.create_task(service.run())
    producer = make_producer(settings)
    await producer.start()
    try:
        now = utcnow()
        a = alert(level=Level.I, sent=now, status="Exercise")
        for topic, key, value in [
            (topics.ALERTS, a.incident_id, b"{not json"),
            (topics.ALERTS, a.incident_id, a.to_bytes()),
            (topics.ALERTS, a.incident_id, a.to_bytes()),  # a duplicate
            (topics.TASKS, "t", task(quota=1, skills=["boat"], ts=now, incident_id=a.incident_id,
                                     deadline=now + timedelta(hours=1)).to_bytes()),
        ]:
            await producer.send_and_wait(settings.topic(topic), value, key=key.encode())
        assert await until(lambda: len(ops.posts) >= 1 and len(http.posts) >= 3)
        assert ops.posts[0]["title"].startswith("【演练】")
        recipients = [p for p in http.posts if "预警" in p["title"]]
        assert len(recipients) == 2  # township duty officer + grid worker, once each
        assert await until(lambda: any("志愿者招募" in p["title"] for p in http.posts))
        ack = Command(command_id=uuid.uuid4().hex, kind="ack", target=a.incident_id,
                      actor="p-cg-duty")
        await producer.send_and_wait(settings.topic(topics.COMMANDS), ack.to_bytes(),
                                     key=a.incident_id.encode())

        async def watch_state() -> str | None:
            async with service.dispatcher.pool.connection() as conn:
                w = await repo.get_watch(conn, a.incident_id)
            return w.state if w else None

        for _ in range(200):
            if await watch_state() == "acknowledged":
                break
            await asyncio.sleep(0.05)
        assert await watch_state() == "acknowledged"
        resolve = Command(command_id=uuid.uuid4().hex, kind="resolve", target=a.incident_id,
                          actor="p-cg-duty")
        await producer.send_and_wait(settings.topic(topics.COMMANDS), resolve.to_bytes(),
                                     key=a.incident_id.encode())
        assert await until(lambda: any(p["title"].startswith("【演练】任务取消") or
                                       p["title"].startswith("任务取消") for p in http.posts))
    finally:
        service.stop()
        await asyncio.wait_for(runner, 30)
        await producer.stop()
    dead = [DeadLetter.from_bytes(v) for v in await read_topic(
        settings, topics.DEADLETTER, lambda v: len(v) >= 1)]
    assert [(x.stage, x.original) for x in dead] == [("dispatch", b"{not json")]
    deliveries = [Delivery.from_bytes(v) for v in await read_topic(
        settings, topics.DELIVERIES, lambda v: len(v) >= 3)]
    assert {x.recipient for x in deliveries if x.alert_id == a.alert_id} == {
        "_ops", "p-cg-duty", "p-gw-hkc1"}


def test_the_running_dispatcher_picks_up_a_new_directory(
        make_settings: Callable[..., Settings], database_url: str, http: HttpReceiver) -> None:
    d, _ = demo()
    with psycopg.connect(database_url) as conn:
        dirdb.save(conn, d, "demo")  # log:// channels only
    quiet_timers(database_url)
    settings = make_settings(notify_retries=0)

    async def scenario() -> None:
        service = DispatchService(settings, ServiceOptions(tick_s=0.1, directory_check_s=0.1))
        runner = asyncio.create_task(service.run())
        try:
            assert await until(lambda: hasattr(service, "dispatcher"))
            moved = d.model_copy(update={"people": tuple(
                p.model_copy(update={"urls": (http.url(),)}) if p.id == "p-cg-duty" else p
                for p in d.people)})
            await asyncio.to_thread(_save, database_url, moved)
            assert await until(lambda: service.dispatcher.people["p-cg-duty"].urls ==
                               (http.url(),))
        finally:
            service.stop()
            await asyncio.wait_for(runner, 30)

    asyncio.run(scenario())


def _save(url: str, directory: object) -> None:
    with psycopg.connect(url) as conn:
        dirdb.save(conn, directory, "moved")  # type: ignore[arg-type]
