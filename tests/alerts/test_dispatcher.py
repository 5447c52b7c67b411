"""Dispatcher against PostgreSQL, Kafka and real HTTP / SMTP receivers."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from alerts.directory import Directory
from alerts.dispatch import repository as repo
from alerts.dispatch.dispatcher import Dispatcher, DispatchOptions
from alerts.dispatch.publisher import KafkaPublisher
from alerts.notify import AppriseNotifier
from anlan import topics
from anlan.events import Delivery, Level
from anlan.settings import Settings
from tests.alerts.helpers import alert, demo
from tests.alerts.kafka_util import read_topic
from tests.alerts.receivers import HttpReceiver, SmtpReceiver

pytestmark = pytest.mark.integration


def directory_with(urls: dict[str, list[str]]) -> Directory:
    d, _ = demo()
    people = tuple(p.model_copy(update={"urls": tuple(urls.get(p.id, ()))}) for p in d.people)
    return d.model_copy(update={"people": people})


def make(settings: Settings, pool: AsyncConnectionPool, publisher: KafkaPublisher,
         urls: dict[str, list[str]], **overrides: Any) -> Dispatcher:
    s = settings.model_copy(update={"notify_retries": 2, "notify_backoff_s": 0.01,
                                    **overrides})
    return Dispatcher(s, pool, AppriseNotifier(max_workers=8), publisher, directory_with(urls),
                      DispatchOptions(renotify_s=None))


async def attempts(pool: AsyncConnectionPool, alert_id: str) -> list[tuple[Any, ...]]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT person_id, channel, url_index, attempt, outcome FROM dispatch_attempts "
            "WHERE alert_id = %s ORDER BY person_id, attempt", (alert_id,))
        return list(await cur.fetchall())


async def test_http_and_smtp_receive_once_even_when_redelivered(
        settings: Settings, pool: AsyncConnectionPool, publisher: KafkaPublisher,
        http: HttpReceiver, smtp: SmtpReceiver) -> None:
    ops = HttpReceiver().start()
    try:
        d = make(settings, pool, publisher,
                 {"p-cg-duty": [http.url()], "p-gw-hkc1": [smtp.url("gw@example.org")]},
                 default_notify_urls=[ops.url("ops")])
        a = alert(level=Level.I)
        first = await d.handle_alert(a, now=a.sent)
        assert sorted(first.sent) == ["_ops", "p-cg-duty", "p-gw-hkc1"] and first.new
        again = await d.handle_alert(a, now=a.sent)  # the same event delivered again
        assert again.sent == [] and not again.new
    finally:
        ops.stop()
    assert len(http.posts) == 1 and "红色" in http.posts[0]["title"]
    assert "示范县 城关镇 河口村 河口村第一网格" in http.posts[0]["message"]
    assert len(smtp.mails) == 1 and smtp.mails[0]["to"] == ["gw@example.org"]
    assert "暴雨红色预警" in smtp.mails[0]["subject"]
    assert len(ops.posts) == 1
    assert [r[4] for r in await attempts(pool, a.alert_id)] == ["sent", "sent", "sent"]
    async with pool.connection() as conn:
        cap = await repo.cap_of(conn, a.alert_id)
    assert cap is not None and "<severity>Extreme</severity>" in cap


async def test_failing_endpoint_retries_then_falls_back_and_records_every_attempt(
        settings: Settings, pool: AsyncConnectionPool, publisher: KafkaPublisher,
        failing_http: HttpReceiver, smtp: SmtpReceiver) -> None:
    d = make(settings, pool, publisher,
             {"p-cg-duty": [failing_http.url(), smtp.url("duty@example.org")]})
    a = alert(notify=[{"role": "duty_officer", "tier": "township"}])
    out = await d.handle_alert(a, now=a.sent)
    assert out.sent == ["p-cg-duty"]
    assert failing_http.requests == 3  # first try + 2 retries
    assert len(smtp.mails) == 1
    rows = await attempts(pool, a.alert_id)
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        ("json", 0, 1, "retrying"), ("json", 0, 2, "retrying"), ("json", 0, 3, "failed"),
        ("mailto", 1, 4, "sent")]
    values = await read_topic(settings, topics.DELIVERIES, lambda v: sum(
        a.alert_id.encode() in x for x in v) >= 4)
    events = [Delivery.from_bytes(v) for v in values if a.alert_id.encode() in v]
    assert [e.outcome for e in events] == ["retrying", "retrying", "failed", "sent"]
    assert all("127.0.0.1" not in e.channel for e in events)  # scheme only, never the URL


async def test_all_urls_failing_gives_up(settings: Settings, pool: AsyncConnectionPool,
                                         publisher: KafkaPublisher,
                                         failing_http: HttpReceiver) -> None:
    d = make(settings, pool, publisher, {"p-cg-duty": [failing_http.url()]},
             notify_retries=1)
    a = alert(notify=[{"role": "duty_officer", "tier": "township"}])
    out = await d.handle_alert(a, now=a.sent)
    assert out.failed == ["p-cg-duty"]
    assert [r[4] for r in await attempts(pool, a.alert_id)] == ["retrying", "gave_up"]


async def test_escalation_and_renotification_until_acknowledged(
        settings: Settings, pool: AsyncConnectionPool, publisher: KafkaPublisher,
        http: HttpReceiver) -> None:
    u = http.url()
    d = make(settings, pool, publisher, {"p-cg-duty": [u], "p-gw-hkc1": [u],
                                         "p-county-duty-day": [u], "p-county-leader": [u]})
    a = alert(ack_timeout_s=600, evidence={"renotify_interval_s": 300})
    await d.handle_alert(a, now=a.sent)
    assert len(http.posts) == 2
    assert await d.tick(now=a.sent + timedelta(seconds=100)) == 0  # nothing due yet
    await d.tick(now=a.sent + timedelta(seconds=301))  # re-notify both
    reminders = [p["title"] for p in http.posts[2:]]
    assert len(reminders) == 2 and all(t.startswith("【第1次提醒】") for t in reminders)
    await d.tick(now=a.sent + timedelta(seconds=601))  # escalate to the county + 2nd reminder
    titles = [p["title"] for p in http.posts[4:]]
    assert sum("【升级上报】" in t for t in titles) == 2  # county duty officer and leader
    assert sum(t.startswith("【第2次提醒】") for t in titles) == 2
    async with pool.connection() as conn:
        watch = await repo.get_watch(conn, a.incident_id)
        assert watch is not None and watch.step == 1
        assert await repo.notified_people(conn, a.incident_id) == [
            "p-cg-duty", "p-county-duty-day", "p-county-leader", "p-gw-hkc1"]
    assert await d.close(a.incident_id, "acknowledged", "p-cg-duty")
    before = len(http.posts)
    assert await d.tick(now=a.sent + timedelta(hours=5)) == 0
    assert len(http.posts) == before


async def test_restart_keeps_timers_and_resends_abandoned_claims(
        settings: Settings, pool: AsyncConnectionPool, publisher: KafkaPublisher,
        http: HttpReceiver) -> None:
    urls = {"p-cg-duty": [http.url()], "p-county-duty-day": [http.url()]}
    a = alert(notify=[{"role": "duty_officer", "tier": "township"}], ack_timeout_s=60)
    # a dispatcher that died after claiming, before sending
    dead = make(settings, pool, publisher, urls)
    dead.options.owner = "dead"
    async with pool.connection() as conn:
        await repo.record_alert(conn, a, "x", "<alert/>")
        await repo.claim(conn, a.incident_id, [repo.Claim(a.alert_id, "p-cg-duty", 0)], "dead")
        await dead._update_watch(conn, a, a.sent)
        await conn.execute("UPDATE dispatch_notifications SET claimed_at = now() - "
                           "interval '1 hour' WHERE alert_id = %s", (a.alert_id,))
    fresh = make(settings, pool, publisher, urls)
    await fresh.handle_alert(a, now=a.sent)  # Kafka redelivers: the claim exists, no send
    assert http.posts == []
    await fresh.tick(now=a.sent + timedelta(seconds=1))  # the sweeper takes the claim over
    assert len(http.posts) == 1
    await fresh.tick(now=a.sent + timedelta(seconds=61))  # the dead one's timer still runs
    assert any("【升级上报】" in p["title"] for p in http.posts)


async def test_cancel_closes_the_watch(settings: Settings, pool: AsyncConnectionPool,
                                       publisher: KafkaPublisher, http: HttpReceiver) -> None:
    closed: list[tuple[str, str]] = []

    async def on_closed(incident: str, reason: str) -> None:
        closed.append((incident, reason))

    d = make(settings, pool, publisher, {"p-cg-duty": [http.url()]})
    d.on_closed = on_closed
    a = alert(notify=[{"role": "duty_officer", "tier": "township"}])
    await d.handle_alert(a, now=a.sent)
    c = alert(incident_id=a.incident_id, msg_type="Cancel", references=[a.alert_id],
              level=Level.NONE, previous=Level.II,
              notify=[{"role": "duty_officer", "tier": "township"}])
    await d.handle_alert(c, now=a.sent)
    assert "【解除】" in http.posts[-1]["title"]
    assert closed == [(a.incident_id, "cancelled")]
    async with pool.connection() as conn:
        watch = await repo.get_watch(conn, a.incident_id)
        assert watch is not None and watch.state == "resolved"
        cap = await repo.cap_of(conn, c.alert_id)
    assert cap is not None and "<references>" in cap
    assert await d.tick(now=a.sent + timedelta(hours=1)) == 0


async def test_unknown_people_and_missing_urls_are_skipped_not_crashed(
        settings: Settings, pool: AsyncConnectionPool, publisher: KafkaPublisher) -> None:
    d = make(settings, pool, publisher, {})
    a = alert(notify=[{"role": "duty_officer", "tier": "township"}])
    out = await d.handle_alert(a, now=a.sent)
    assert out.failed == ["p-cg-duty"]
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT state FROM dispatch_notifications WHERE alert_id = %s",
                                 (a.alert_id,))
        assert [r[0] for r in await cur.fetchall()] == ["skipped"]


async def test_a_slow_channel_never_delays_another(settings: Settings, pool: AsyncConnectionPool,
                                                   publisher: KafkaPublisher) -> None:
    gate = threading.Event()
    slow = HttpReceiver(hold=gate).start()  # answers only after the fast one got its message
    fast = HttpReceiver(on_post=gate.set).start()
    try:
        d = make(settings, pool, publisher, {"p-cg-duty": [slow.url()],
                                             "p-gw-hkc1": [fast.url()]})
        a = alert()
        out = await d.handle_alert(a, now=a.sent)
    finally:
        slow.stop()
        fast.stop()
    assert sorted(out.sent) == ["p-cg-duty", "p-gw-hkc1"]
    assert slow.held == [True]  # released by the fast delivery, not by the 10 s timeout


async def test_a_cancel_handled_first_keeps_a_late_alert_from_reopening(
        settings: Settings, pool: AsyncConnectionPool, publisher: KafkaPublisher,
        http: HttpReceiver) -> None:
    d = make(settings, pool, publisher, {"p-cg-duty": [http.url()]})
    a = alert(notify=[{"role": "duty_officer", "tier": "township"}], ack_timeout_s=60)
    c = alert(incident_id=a.incident_id, msg_type="Cancel", references=[a.alert_id],
              level=Level.NONE, previous=Level.II, notify=a.notify)
    await d.handle_alert(c, now=a.sent)
    await d.handle_alert(a, now=a.sent)
    async with pool.connection() as conn:
        watch = await repo.get_watch(conn, a.incident_id)
    assert watch is not None and watch.state == "resolved"
    assert await d.tick(now=a.sent + timedelta(hours=1)) == 0
