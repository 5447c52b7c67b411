"""Mobilization against PostgreSQL, Kafka and a real HTTP receiver: waves, quota, links,
overlaps, cancellation on resolve, welfare checks."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from alerts.directory import Directory
from alerts.dispatch.dispatcher import Dispatcher, DispatchOptions
from alerts.dispatch.publisher import KafkaPublisher
from alerts.mobilization import repository as repo
from alerts.mobilization.links import aresolve_token, link_command, resolve_token
from alerts.mobilization.service import MobilizeOptions, Mobilizer
from alerts.notify import AppriseNotifier
from anlan.events import Task
from anlan.settings import Settings
from tests.alerts.helpers import DAY, demo, task
from tests.alerts.receivers import HttpReceiver

pytestmark = pytest.mark.integration
TOKEN = re.compile(r"/t/([A-Za-z0-9_\-]{40,})")


def everyone_at(url: str) -> Directory:
    d, _ = demo()
    return d.model_copy(update={"people": tuple(
        p.model_copy(update={"urls": (url,)}) for p in d.people)})


def setup(settings: Settings, pool: AsyncConnectionPool, publisher: KafkaPublisher,
          http: HttpReceiver) -> tuple[Dispatcher, Mobilizer]:
    s = settings.model_copy(update={"notify_retries": 0, "public_base_url": "http://anlan.test"})
    d = Dispatcher(s, pool, AppriseNotifier(max_workers=8), publisher, everyone_at(http.url()),
                   DispatchOptions())
    m = Mobilizer(s, pool, d.messenger, publisher, lambda: (d.directory, d.tree),
                  MobilizeOptions(wave_s=300), owner="test")
    d.on_closed = m.cancel_incident
    d.on_stale = m.resend
    return d, m


def link_for(http: HttpReceiver, name: str, title_part: str) -> str:
    """The token of the last message to ``name`` whose title contains ``title_part``."""
    for post in reversed(http.posts):
        if title_part in post["title"] and name in post["message"]:
            found = TOKEN.search(post["message"])
            assert found, post
            return found.group(1)
    raise AssertionError(f"no message for {name}: {[p['title'] for p in http.posts]}")


async def reply(pool: AsyncConnectionPool, m: Mobilizer, token: str, action: str,
                now: Any = None) -> str:
    async with pool.connection() as conn:
        link = await aresolve_token(conn, token, now=DAY)
    assert link is not None
    return await m.handle_command(link_command(link, action, DAY + timedelta(minutes=1)))


async def states(pool: AsyncConnectionPool, task_id: str) -> dict[str, str]:
    async with pool.connection() as conn:
        return await repo.assignments(conn, task_id)


async def test_quota_filled_across_two_waves(settings: Settings, pool: AsyncConnectionPool,
                                            publisher: KafkaPublisher, http: HttpReceiver
                                            ) -> None:
    _, m = setup(settings, pool, publisher, http)
    t = task(quota=2, skills=["first_aid"], deadline=DAY + timedelta(hours=4))
    assert await m.handle_task(t, now=DAY) == ["v-001"]  # wave 1: the grid
    assert await m.handle_task(t, now=DAY) == []  # redelivered: nothing new
    assert await reply(pool, m, link_for(http, "林涛", "志愿者招募"), "accept") == "accepted"
    assert await m.tick(now=DAY + timedelta(seconds=100)) == 0  # the wave has time left
    assert await m.tick(now=DAY + timedelta(seconds=301)) == 1  # wave 2: the community
    assert await states(pool, t.task_id) == {"v-001": "accepted", "v-003": "offered"}
    assert await reply(pool, m, link_for(http, "马丽", "志愿者招募"), "accept") == "accepted"
    async with pool.connection() as conn:
        row = await repo.get_task(conn, t.task_id)
    assert row is not None and row.state == "accepted" and row.wave == 2
    assert await m.tick(now=DAY + timedelta(hours=1)) == 0  # filled: no third wave


async def test_extra_acceptances_are_thanked_and_declines_reopen(
        settings: Settings, pool: AsyncConnectionPool, publisher: KafkaPublisher,
        http: HttpReceiver) -> None:
    _, m = setup(settings, pool, publisher, http)
    t = task(quota=1, skills=["sandbag"], deadline=DAY + timedelta(hours=2))
    assert sorted(await m.handle_task(t, now=DAY)) == ["v-001", "v-002"]
    assert await reply(pool, m, link_for(http, "林涛", "志愿者招募"), "accept") == "accepted"
    assert any(p["title"].startswith("名额已满") and "高峰" in p["message"] for p in http.posts)
    token2 = link_for(http, "高峰", "志愿者招募")
    assert await reply(pool, m, token2, "accept") == "closed"  # withdrawn already
    token1 = link_for(http, "林涛", "志愿者招募")
    assert await reply(pool, m, token1, "accept") == "duplicate"
    assert await reply(pool, m, token1, "checkin") == "checked_in"
    assert await reply(pool, m, token1, "complete") == "completed"
    async with pool.connection() as conn:
        row = await repo.get_task(conn, t.task_id)
    assert row is not None and row.state == "completed"


async def test_no_volunteer_holds_two_overlapping_tasks(
        settings: Settings, pool: AsyncConnectionPool, publisher: KafkaPublisher,
        http: HttpReceiver) -> None:
    _, m = setup(settings, pool, publisher, http)
    a = task(quota=1, skills=["boat"], deadline=DAY + timedelta(hours=3))
    b = task(quota=1, skills=["boat"], ts=DAY + timedelta(hours=1),
             deadline=DAY + timedelta(hours=2))
    assert await m.handle_task(a, now=DAY) == ["v-002"]
    assert await m.handle_task(b, now=DAY) == ["v-002"]  # offered both, accepted neither
    first = link_for(http, "高峰", a.title)
    async with pool.connection() as conn:
        la = await aresolve_token(conn, first, now=DAY)
    assert la is not None
    # the two offers share a title: accept each through its own link
    tokens = [TOKEN.search(p["message"]).group(1) for p in http.posts  # type: ignore[union-attr]
              if "高峰" in p["message"]]
    results = sorted([await reply(pool, m, tok, "accept") for tok in tokens])
    assert results == ["accepted", "busy"]
    c = task(quota=1, skills=["boat"], ts=DAY + timedelta(minutes=30),
             deadline=DAY + timedelta(hours=1))
    assert await m.handle_task(c, now=DAY) == []  # busy now: not even offered


async def test_resolve_cancels_tasks_and_tells_volunteers(
        settings: Settings, pool: AsyncConnectionPool, publisher: KafkaPublisher,
        http: HttpReceiver) -> None:
    d, m = setup(settings, pool, publisher, http)
    t = task(quota=3, skills=["sandbag"], deadline=DAY + timedelta(hours=2))
    await m.handle_task(t, now=DAY)
    await reply(pool, m, link_for(http, "林涛", "志愿者招募"), "accept")
    await d.close(t.incident_id or "", "resolved", "p-cg-duty")
    cancels = [p for p in http.posts if p["title"].startswith("任务取消")]
    assert sorted(re.search(r"^(\S+)您好", p["message"]).group(1)  # type: ignore[union-attr]
                  for p in cancels) == ["林涛", "高峰"]
    assert set((await states(pool, t.task_id)).values()) == {"cancelled"}
    async with pool.connection() as conn:
        row = await repo.get_task(conn, t.task_id)
    assert row is not None and row.state == "cancelled"
    assert await m.cancel_incident(t.incident_id or "", "resolved") == []  # once only


async def test_welfare_check_per_vulnerable_resident(
        settings: Settings, pool: AsyncConnectionPool, publisher: KafkaPublisher,
        http: HttpReceiver, database_url: str) -> None:
    _, m = setup(settings, pool, publisher, http)
    evac = Task(task_id="evac-" + (task().task_id), incident_id="inc-evac-1", kind="evacuation",
                state="open", region="360121100001", title="转移河口村低洼地带人员", ts=DAY,
                deadline=DAY + timedelta(hours=3))
    assert sorted(await m.handle_task(evac, now=DAY)) == ["p-gw-hkc1", "p-gw-hkc1",
                                                         "p-gw-hkc2"]
    assert await m.handle_task(evac, now=DAY) == []  # replay: nothing twice
    welfare = [p for p in http.posts if p["title"].startswith("走访核查")]
    assert sorted(p["title"] for p in welfare) == ["走访核查：小明", "走访核查：张奶奶",
                                                   "走访核查：李爷爷"]
    async with pool.connection() as conn:
        assert await repo.welfare_status(conn, "inc-evac-1") == {
            "r-001": "open", "r-002": "open", "r-003": "open"}
    # unchecked residents: their grid worker is reminded (with a fresh link)
    await m.tick(now=DAY + timedelta(seconds=1801))
    reminders = sorted(p["title"] for p in http.posts if p["title"].startswith("【第1次提醒】"))
    assert reminders == ["【第1次提醒】走访核查：小明", "【第1次提醒】走访核查：张奶奶",
                         "【第1次提醒】走访核查：李爷爷"]
    token = link_for(http, "陈芳", "张奶奶")
    with psycopg.connect(database_url) as sync_conn:  # the API's sync path
        link = resolve_token(sync_conn, token, now=DAY)
    assert link is not None and link.task_kind == "welfare_check"
    assert await reply(pool, m, token, "complete") == "completed"
    async with pool.connection() as conn:
        status = await repo.welfare_status(conn, "inc-evac-1")
    assert status == {"r-001": "checked", "r-002": "open", "r-003": "open"}
    before = len(http.posts)
    await m.tick(now=DAY + timedelta(seconds=3700))  # the checked one is no longer reminded
    assert sorted(p["title"] for p in http.posts[before:]) == [
        "【第2次提醒】走访核查：小明", "【第2次提醒】走访核查：李爷爷"]
    await m.tick(now=DAY + timedelta(hours=4))  # past the deadline: still tracked, not expired
    async with pool.connection() as conn:
        child = await repo.get_task(conn, "inc-evac-1:wc:r-002")
        parent = await repo.get_task(conn, evac.task_id)
    assert child is not None and child.state == "accepted"
    assert parent is not None and parent.state == "expanded"
    assert any(p["title"] == "【第3次提醒】走访核查：李爷爷" for p in http.posts)


async def test_links_expire_and_unknown_tokens_open_nothing(
        settings: Settings, pool: AsyncConnectionPool, publisher: KafkaPublisher,
        http: HttpReceiver) -> None:
    _, m = setup(settings, pool, publisher, http)
    t = task(quota=1, skills=["driving"], region="360121100002-G1",
             deadline=DAY + timedelta(hours=1))
    await m.handle_task(t, now=DAY)
    token = link_for(http, "罗斌", "志愿者招募")
    async with pool.connection() as conn:
        assert await aresolve_token(conn, token, now=DAY) is not None
        assert await aresolve_token(conn, token, now=DAY + timedelta(hours=2)) is None
        assert await aresolve_token(conn, token[:-2] + "xx", now=DAY) is None
        assert await aresolve_token(conn, "short", now=DAY) is None
        cur = await conn.execute("SELECT count(*) FROM mob_links WHERE token_hash = %s",
                                 (token,))
        assert (await cur.fetchone())[0] == 0  # type: ignore[index]  # never stored in clear


async def test_offer_claimed_by_a_dead_dispatcher_is_resent_with_a_fresh_link(
        settings: Settings, pool: AsyncConnectionPool, publisher: KafkaPublisher,
        http: HttpReceiver) -> None:
    d, m = setup(settings, pool, publisher, http)
    t = task(quota=1, skills=["driving"], region="360121100002-G1",
             deadline=DAY + timedelta(hours=1))
    await m.handle_task(t, now=DAY)
    assert len(http.posts) == 1
    async with pool.connection() as conn:  # as if the send had never finished
        await conn.execute("UPDATE dispatch_notifications SET state = 'sending', claimed_at = "
                           "now() - interval '1 hour' WHERE alert_id = %s",
                           (f"offer:{t.task_id}",))
    await d.tick(now=DAY)
    assert len(http.posts) == 2 and http.posts[1]["title"] == http.posts[0]["title"]
    fresh = link_for(http, "罗斌", "志愿者招募")
    assert fresh not in http.posts[0]["message"]
    assert await reply(pool, m, fresh, "accept") == "accepted"


async def test_deadline_expires_an_unfilled_task_and_drills_are_tagged(
        settings: Settings, pool: AsyncConnectionPool, publisher: KafkaPublisher,
        http: HttpReceiver) -> None:
    d, m = setup(settings, pool, publisher, http)
    from tests.alerts.helpers import alert

    a = alert(status="Exercise", notify=[])
    await d.handle_alert(a, now=a.sent)
    t = task(quota=2, skills=["driving"], region="360121100002-G1", incident_id=a.incident_id,
             deadline=DAY + timedelta(minutes=10))
    assert await m.handle_task(t, now=DAY) == ["v-004"]
    assert http.posts[-1]["title"].startswith("【演练】志愿者招募")
    await m.tick(now=DAY + timedelta(minutes=11))
    async with pool.connection() as conn:
        row = await repo.get_task(conn, t.task_id)
    assert row is not None and row.state == "expired"
    assert await states(pool, t.task_id) == {"v-004": "withdrawn"}
