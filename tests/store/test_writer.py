"""The sink's write path on the real PostgreSQL: dedup, newest-wins current state, refusals."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest

from anlan import topics
from anlan.errors import PermanentError, RetryableError
from anlan.events import GatewayStatus, Level, Report
from store.sink.decode import build_batch
from store.sink.writer import Writer
from tests.store.support import (
    T0,
    alert_event,
    command_event,
    incident_event,
    readings_event,
    rows,
    task_event,
)

pytestmark = pytest.mark.integration


@pytest.fixture()
def writer(database_url: str) -> Iterator[Writer]:
    w = Writer(database_url)
    yield w
    w.close()


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_same_batch_twice_stores_each_reading_once(writer: Writer, database_url: str) -> None:
    gw = _id("gw")
    recs = [(topics.READINGS, gw.encode(), readings_event(gw, s, n=10).to_bytes())
            for s in range(5)]
    batch = build_batch(recs + recs)  # duplicates inside the batch, too
    writer.write(batch)
    assert writer.staged_batches == 1  # duplicates inside: the staging path
    writer.write(build_batch(recs))
    fresh = Writer(database_url)
    try:
        fresh.write(build_batch(recs))  # tries the direct COPY, meets a duplicate, stages
        assert (fresh.direct_batches, fresh.staged_batches) == (0, 1)
        other = f"{gw}-x"
        fresh.write(build_batch([(topics.READINGS, None,
                                  readings_event(other, 1, n=3).to_bytes())]))
        assert fresh.staged_batches == 2  # still staging for a while after a conflict
    finally:
        fresh.close()
    direct = Writer(database_url)
    try:
        direct.write(build_batch([(topics.READINGS, None,
                                   readings_event(f"{gw}-y", 1, n=3).to_bytes())]))
        assert (direct.direct_batches, direct.staged_batches) == (1, 0)
    finally:
        direct.close()
    assert rows(database_url, "SELECT count(*) FROM readings WHERE gateway_id = %s",
                (gw,)) == [(50,)]
    latest = rows(database_url, "SELECT count(*), min(ts), max(ts) FROM readings_latest "
                  "WHERE gateway_id = %s", (gw,))
    assert latest == [(10, T0 + timedelta(minutes=4), T0 + timedelta(minutes=4))]


def test_latest_reading_is_never_replaced_by_an_older_one(writer: Writer,
                                                           database_url: str) -> None:
    gw = _id("gw")
    writer.write(build_batch([(topics.READINGS, None, readings_event(gw, 9, n=1).to_bytes())]))
    writer.write(build_batch([(topics.READINGS, None, readings_event(gw, 2, n=1).to_bytes())]))
    assert rows(database_url, "SELECT ts FROM readings_latest WHERE sensor_id = %s",
                (f"{gw}-s00",)) == [(T0 + timedelta(minutes=9),)]


def test_incident_state_is_the_newest_event_even_out_of_order(writer: Writer,
                                                                database_url: str) -> None:
    iid = _id("inc")
    t = [T0 + timedelta(minutes=m) for m in range(4)]
    ev = {
        "opened": incident_event(iid, "opened", Level.IV, t[0]),
        "escalated": incident_event(iid, "escalated", Level.II, t[1]),
        "ack": incident_event(iid, "acknowledged", Level.II, t[2], status="acknowledged",
                              actor="duty-1"),
    }
    # the escalation arrives first, then (in another batch) the acknowledgement and the opening
    writer.write(build_batch([(topics.INCIDENTS, None, ev["escalated"].to_bytes())]))
    writer.write(build_batch([(topics.INCIDENTS, None, ev["ack"].to_bytes()),
                              (topics.INCIDENTS, None, ev["opened"].to_bytes())]))
    writer.write(build_batch([(topics.INCIDENTS, None, ev["escalated"].to_bytes())]))  # replay
    state = rows(database_url, "SELECT level, status, last_change, opened_at, updated_at, "
                 "acknowledged_by FROM incidents WHERE incident_id = %s", (iid,))
    assert state == [("II", "acknowledged", "acknowledged", t[0], t[2], "duty-1")]
    assert rows(database_url, "SELECT change FROM incident_events WHERE incident_id = %s "
                "ORDER BY ts", (iid,)) == [("opened",), ("escalated",), ("acknowledged",)]
    resolved = incident_event(iid, "resolved", Level.II, t[3], status="resolved", actor="d")
    writer.write(build_batch([(topics.INCIDENTS, None, resolved.to_bytes())]))
    assert rows(database_url, "SELECT status, resolved_at FROM incidents WHERE "
                "incident_id = %s", (iid,)) == [("resolved", t[3])]


def test_tasks_alerts_commands_and_gateways(writer: Writer, database_url: str) -> None:
    tid, aid, iid, gw = _id("task"), _id("al"), _id("inc"), _id("gw")
    t1, t2 = T0, T0 + timedelta(minutes=5)
    recs = [
        (topics.TASKS, None, task_event(tid, iid, "accepted", t2).to_bytes()),
        (topics.TASKS, None, task_event(tid, iid, "open", t1).to_bytes()),
        (topics.ALERTS, None, alert_event(aid, iid, Level.III, t1).to_bytes()),
        (topics.COMMANDS, None, command_event(_id("cmd"), iid, t2).to_bytes()),
        (topics.GATEWAY_STATUS, None,
         GatewayStatus(gateway_id=gw, status="offline", at=t2).to_bytes()),
        (topics.GATEWAY_STATUS, None,
         GatewayStatus(gateway_id=gw, status="online", at=t1).to_bytes()),
    ]
    writer.write(build_batch(recs))
    writer.write(build_batch(recs))
    assert rows(database_url, "SELECT state, created_at, updated_at FROM tasks WHERE "
                "task_id = %s", (tid,)) == [("accepted", t1, t2)]
    assert rows(database_url, "SELECT count(*) FROM task_events WHERE task_id = %s",
                (tid,)) == [(2,)]
    assert rows(database_url, "SELECT level, raw->>'alert_id' FROM alerts WHERE alert_id = %s",
                (aid,)) == [("III", aid)]
    assert rows(database_url, "SELECT action, actor FROM audit_log WHERE target = %s",
                (iid,)) == [("ack", "duty-1")]
    assert rows(database_url, "SELECT status FROM gateway_status WHERE gateway_id = %s",
                (gw,)) == [("offline",)]
    assert rows(database_url, "SELECT count(*) FROM gateway_status_log WHERE gateway_id = %s",
                (gw,)) == [(2,)]


def test_data_the_schema_refuses_is_a_permanent_error(database_url: str) -> None:
    url = database_url
    poison = _id("poison")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"ALTER TABLE reports ADD CONSTRAINT no_{poison.replace('-', '_')} "
                     f"CHECK (kind <> '{poison}') NOT VALID")
    w = Writer(url)
    try:
        rep = Report(report_id=_id("r"), reporter_id="u", kind=poison, ts=T0)
        with pytest.raises(PermanentError, match="refused"):
            w.write(build_batch([(topics.REPORTS_RAW, None, rep.to_bytes())]))
        w.write(build_batch([(topics.READINGS, None, readings_event(_id("gw"), 1).to_bytes())]))
    finally:
        w.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"ALTER TABLE reports DROP CONSTRAINT no_{poison.replace('-', '_')}")


def test_unreachable_database_is_retryable() -> None:
    w = Writer("postgresql://postgres@127.0.0.1:1/nothing", connect_timeout=1)
    with pytest.raises(RetryableError):
        w.write(build_batch([(topics.READINGS, None, readings_event("gw", 1).to_bytes())]))
    with pytest.raises(RetryableError):
        w.connect()


def test_values_out_of_range_are_refused_not_crashing(writer: Writer, database_url: str) -> None:
    ev = readings_event(_id("gw"), 1, n=1)
    ev.seq = 1 << 70  # no bigint holds it: the contract refuses it before the database
    batch = build_batch([(topics.READINGS, None, ev.to_bytes())])
    assert batch.rejects and "seq" in str(batch.rejects[0])
    writer.write(batch)  # stored as a dead letter, no crash
    writer.write(build_batch([(topics.READINGS, None, readings_event(_id("gw"), 1).to_bytes())]))
