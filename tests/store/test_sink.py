"""The sink end to end: Kafka (embedded tansu) → PostgreSQL, replays, outages, bad records."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager

import psycopg
import pytest
from psycopg import sql

from anlan import topics
from anlan.events import DeadLetter, GatewayStatus, Level, Report, SeqGap, Signal
from anlan.kafka import make_producer
from anlan.settings import Settings
from anlan.stack.database import drop_database, ensure_database
from store.migrate import migrate
from store.sink.runner import Sink, SinkOptions
from store.sink.writer import APPLICATION_NAME
from tests.store.support import (
    T0,
    count,
    produce,
    readings_event,
    readings_records,
    task_event,
    wait_until,
)

pytestmark = pytest.mark.integration

FAST = {"backoff_initial_s": 0.05, "backoff_max_s": 0.5, "poll_timeout_ms": 100, "retention_days": 0,
            "rebalance_timeout_s": 1.0,
            # the embedded broker holds a JoinGroup for about the session timeout: keep it short
            "consumer_overrides": {"session_timeout_ms": 2000, "heartbeat_interval_ms": 300}}


@asynccontextmanager
async def running(settings: Settings, group: str, url: str | None = None,
                  **options: object) -> AsyncIterator[Sink]:
    """A sink consuming in the background of the test's event loop."""
    sink = Sink(settings, SinkOptions(group_id=group, **{**FAST, **options}),  # type: ignore[arg-type]
                url=url)
    stop = asyncio.Event()
    task = asyncio.create_task(sink.run(stop))
    try:
        yield sink
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def consumed(sink: Sink, n: int, timeout: float = 60.0) -> bool:
    return await wait_until(lambda: sink.stats.records >= n, timeout=timeout)


def test_replaying_the_topic_leaves_one_row_per_reading(
        make_settings: Callable[..., Settings], database_url: str) -> None:
    asyncio.run(_replay(make_settings(), database_url))


async def _replay(settings: Settings, database_url: str) -> None:
    gw = f"gw-{uuid.uuid4().hex[:6]}"
    recs = readings_records(gw, range(50), n=20)
    await produce(settings, recs)
    await produce(settings, recs[:25])  # the bridge sent some twice
    where = f"gateway_id = '{gw}'"
    async with running(settings, "sink-a") as sink:
        assert await consumed(sink, 75)
    assert count(database_url, "readings", where) == 1000
    async with running(settings, "sink-b") as sink:  # a new group replays everything
        assert await consumed(sink, 75)
        assert sink.stats.rows == 1500
    assert count(database_url, "readings", where) == 1000
    assert count(database_url, "readings_latest", where) == 20
    async with running(settings, "sink-a") as sink:  # committed offsets: nothing new to read
        await produce(settings, readings_records(gw, [50]))
        assert await consumed(sink, 1)
        assert sink.stats.records == 1
    assert count(database_url, "readings", where) == 1020


def test_a_drill_is_kept_apart_from_real_data(make_settings: Callable[..., Settings],
                                             database_url: str) -> None:
    """A drill's readings stay out of the readings tables; its signal does not collide with
    the real one of the same plan, region, time and level; its task is stored as exercise."""
    settings = make_settings()
    gw = f"gw-{uuid.uuid4().hex[:6]}"
    plan = f"p{uuid.uuid4().hex[:6]}"
    real, drill = readings_event(gw, 1, n=3), readings_event(gw, 1, n=3)
    drill.exercise = True
    signals = [Signal(plan=plan, region="r", previous=Level.NONE, level=Level.IV, ts=T0,
                      exercise=exercise) for exercise in (False, True)]
    task = task_event(f"EXERCISE:{plan}:r:1:mobilization:IV", f"EXERCISE:{plan}:r:1", "open", T0)
    task.exercise = True
    records = [(topics.READINGS, gw.encode(), drill.to_bytes()),
               (topics.READINGS, gw.encode(), real.to_bytes()),
               *[(topics.SIGNALS, f"{plan}:r".encode(), s.to_bytes()) for s in signals],
               (topics.TASKS, task.task_id.encode(), task.to_bytes())]

    async def scenario() -> None:
        await produce(settings, records)
        async with running(settings, "sink-drill") as sink:
            assert await consumed(sink, len(records))

    asyncio.run(scenario())
    assert count(database_url, "readings", f"gateway_id = '{gw}'") == 3
    with psycopg.connect(database_url) as conn:
        stored = conn.execute("SELECT exercise FROM signals WHERE plan = %s ORDER BY exercise",
                              (plan,)).fetchall()
        exercise = conn.execute("SELECT exercise FROM tasks WHERE task_id = %s",
                                (task.task_id,)).fetchone()
    assert stored == [(False,), (True,)] and exercise == (True,)


def test_bad_records_are_dead_lettered_and_the_sink_goes_on(
        make_settings: Callable[..., Settings], database_url: str) -> None:
    asyncio.run(_bad_records(make_settings(), database_url))


async def _bad_records(settings: Settings, database_url: str) -> None:
    gw = f"gw-{uuid.uuid4().hex[:6]}"
    marker = uuid.uuid4().hex
    upstream = DeadLetter.of("bridge", f"not json {marker}", "anlan/v1/gw/x/readings", b"{")
    recs = [
        (topics.READINGS, gw.encode(), f"garbage {marker}".encode()),
        *readings_records(gw, [1, 2]),
        (topics.ALERTS, None, b'{"alert_id": "' + marker.encode() + b'"}'),
        (topics.DEADLETTER, None, upstream.to_bytes()),
    ]
    await produce(settings, recs)
    async with running(settings, "sink") as sink:
        # the two rejections are also published to anlan.deadletter and read back (no new row)
        assert await consumed(sink, len(recs) + 2)
        assert sink.stats.rejected == 2
    assert count(database_url, "readings", f"gateway_id = '{gw}'") == 40
    with psycopg.connect(database_url) as conn:
        got = conn.execute("SELECT stage, source_topic, original FROM deadletters "
                           "WHERE original::text LIKE %s OR reason LIKE %s ORDER BY stage",
                           (f"%{marker.encode().hex()}%", f"%{marker}%")).fetchall()
    assert sorted(r[1] for r in got) == sorted(
        [topics.READINGS, topics.ALERTS, "anlan/v1/gw/x/readings"])


def test_gateway_statuses_and_seq_gaps_share_their_topic(
        make_settings: Callable[..., Settings], database_url: str) -> None:
    asyncio.run(_statuses_and_gaps(make_settings(), database_url))


async def _statuses_and_gaps(settings: Settings, database_url: str) -> None:
    gw = f"gw-{uuid.uuid4().hex[:6]}"
    status = GatewayStatus(gateway_id=gw, status="online", at=T0)
    gap = SeqGap(gateway_id=gw, first_missing=4, last_missing=6, missing=3, at=T0, bridge="b")
    big = SeqGap(gateway_id=gw, first_missing=2**63 - 10, last_missing=2**63 - 2, missing=9,
                 at=T0, bridge="b")
    recs = [(topics.GATEWAY_STATUS, gw.encode(), e.to_bytes()) for e in (status, gap, big, gap)]
    await produce(settings, recs)
    async with running(settings, "sink") as sink:
        assert await consumed(sink, len(recs))
        assert sink.stats.rejected == 0
    assert count(database_url, "gateway_status", f"gateway_id = '{gw}'") == 1
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT first_missing, last_missing, missing, bridge FROM "
                            "gateway_seq_gaps WHERE gateway_id = %s ORDER BY first_missing",
                            (gw,)).fetchall()
    assert rows == [(4, 6, 3, "b"), (2**63 - 10, 2**63 - 2, 9, "b")]  # the replay added none


def test_records_the_database_refuses_are_isolated(
        make_settings: Callable[..., Settings], database_url: str) -> None:
    asyncio.run(_refused(make_settings(), database_url))


async def _refused(settings: Settings, database_url: str) -> None:
    poison = f"poison_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"ALTER TABLE reports ADD CONSTRAINT {poison} CHECK (kind <> '{poison}') "
                     "NOT VALID")
    try:
        reps = [Report(report_id=f"{poison}-{i}", reporter_id="u",
                       kind=poison if i == 2 else "flood", ts=T0) for i in range(5)]
        await produce(settings, [(topics.REPORTS_RAW, None, r.to_bytes()) for r in reps])
        async with running(settings, "sink") as sink:
            assert await consumed(sink, 5 + 1)  # + its dead letter, published and read back
            assert sink.stats.rejected == 1
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f"ALTER TABLE reports DROP CONSTRAINT {poison}")
    assert count(database_url, "reports", f"report_id LIKE '{poison}-%'") == 4
    assert count(database_url, "deadletters",
                 f"reason LIKE '%{poison}%' AND source_topic = '{topics.REPORTS_RAW}'") == 1


# ---------------------------------------------------------------- database outage


@pytest.fixture()
def outage_db() -> Iterator[str]:
    """A database of its own, so revoking connections disturbs no other test."""
    url = ensure_database(f"postgresql://postgres@127.0.0.1:5432/anlan_outage_"
                          f"{uuid.uuid4().hex[:8]}")
    migrate(url)
    yield url
    _allow(url, True)
    drop_database(url)


def _admin(url: str) -> psycopg.Connection[object]:
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = "postgres"
    return psycopg.connect(psycopg.conninfo.make_conninfo(**info), autocommit=True)  # type: ignore[arg-type,return-value]


def _dbname(url: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(url)["dbname"])


def _terminate(url: str) -> int:
    with _admin(url) as conn:
        return len(conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
            "AND application_name = %s", (_dbname(url), APPLICATION_NAME)).fetchall())


def _allow(url: str, allowed: bool) -> None:
    with _admin(url) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
            sql.Identifier(_dbname(url)), sql.SQL("true" if allowed else "false")))


def test_revoked_database_loses_nothing(make_settings: Callable[..., Settings],
                                        outage_db: str) -> None:
    asyncio.run(_outage(make_settings(database_url=outage_db), outage_db))


async def _outage(settings: Settings, outage_db: str) -> None:
    gw = "gw-outage"
    batches = 300

    async def feed() -> None:
        producer = make_producer(settings)
        await producer.start()
        try:
            for start in range(5, batches, 5):
                for t, k, v in readings_records(gw, range(start, start + 5), n=20):
                    await producer.send_and_wait(settings.topic(t), value=v, key=k)
                await asyncio.sleep(0.05)
        finally:
            await producer.stop()

    await produce(settings, readings_records(gw, range(5), n=20))
    async with running(settings, "sink") as sink:
        assert await wait_until(lambda: count(outage_db, "readings") > 0)
        feeder = asyncio.create_task(feed())  # goes on during the outage
        kills = 0
        # kill the sink's connection again and again while it ingests …
        for _ in range(20):
            await asyncio.sleep(0.05)
            kills += await asyncio.to_thread(_terminate, outage_db)
        # … then refuse all connections for a while …
        await asyncio.to_thread(_allow, outage_db, False)
        await asyncio.to_thread(_terminate, outage_db)
        await asyncio.sleep(1.5)
        during = sink.stats.db_retries
        await asyncio.to_thread(_allow, outage_db, True)
        await feeder
        assert await consumed(sink, batches, timeout=90)
        assert await wait_until(lambda: count(outage_db, "readings") == batches * 20)
    refused_retries = during
    assert refused_retries > 0 and kills > 0
    assert count(outage_db, "readings") == batches * 20
    assert count(outage_db, "deadletters") == 0
    assert sink.stats.records == batches  # every record consumed once: offsets held


def test_outage_longer_than_the_poll_interval_replays_without_duplicates(
        make_settings: Callable[..., Settings], outage_db: str) -> None:
    """The consumer is dropped from its group while the database is away (no poll within
    max_poll_interval): the offset commit fails, the records come again, dedup absorbs them."""
    asyncio.run(_long_outage(make_settings(database_url=outage_db), outage_db))


async def _long_outage(settings: Settings, outage_db: str) -> None:
    gw = "gw-long"
    await produce(settings, readings_records(gw, range(3), n=10))
    async with running(settings, "sink", consumer_overrides={
            "session_timeout_ms": 2000, "heartbeat_interval_ms": 300,
            "max_poll_interval_ms": 1000}) as sink:
        assert await wait_until(lambda: count(outage_db, "readings") == 30)
        await asyncio.to_thread(_allow, outage_db, False)
        await asyncio.to_thread(_terminate, outage_db)
        await produce(settings, readings_records(gw, range(3, 10), n=10))
        assert await wait_until(lambda: sink.stats.db_retries > 0)
        await asyncio.sleep(2.5)  # longer than max_poll_interval
        await asyncio.to_thread(_allow, outage_db, True)
        assert await wait_until(lambda: count(outage_db, "readings") == 100)
        assert await consumed(sink, 10)
    assert count(outage_db, "readings") == 100
    assert count(outage_db, "readings_latest") == 10


def test_sink_applies_retention_on_plain_postgresql(make_settings: Callable[..., Settings],
                                                     outage_db: str) -> None:
    from datetime import UTC, datetime, timedelta

    from store.sink.decode import build_batch
    from store.sink.writer import Writer
    from tests.store.support import readings_event

    old = readings_event("gw-old", 1, n=4, start=datetime.now(UTC) - timedelta(days=40))
    new = readings_event("gw-new", 1, n=4, start=datetime.now(UTC) - timedelta(days=1))
    w = Writer(outage_db)
    w.write(build_batch([(topics.READINGS, None, old.to_bytes()),
                         (topics.READINGS, None, new.to_bytes())]))
    w.close()

    settings = make_settings(database_url=outage_db)

    async def run() -> None:
        async with running(settings, "sink", url=outage_db, retention_days=30):
            assert await wait_until(lambda: count(outage_db, "readings") == 4)

    asyncio.run(run())
    assert count(outage_db, "readings", "gateway_id = 'gw-new'") == 4


def test_two_sinks_in_one_group_share_the_work(make_settings: Callable[..., Settings],
                                                outage_db: str) -> None:
    asyncio.run(_two_sinks(make_settings(database_url=outage_db), outage_db))


async def _two_sinks(settings: Settings, url: str) -> None:
    records = [r for g in range(8) for r in readings_records(f"gw-{g}", range(25), n=10)]
    async with running(settings, "shared") as a, running(settings, "shared") as b:
        await produce(settings, records)
        assert await wait_until(lambda: count(url, "readings") == 2000, timeout=60)
        assert await wait_until(lambda: a.stats.records + b.stats.records >= 200)
    assert count(url, "readings") == 2000
    assert count(url, "readings_latest") == 80
