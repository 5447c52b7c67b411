"""Read queries for the API over data written by the sink's write path (real PostgreSQL)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from anlan import topics
from anlan.events import Level, Reading, Readings
from store import queries
from store.sink.decode import build_batch
from store.sink.writer import Writer
from tests.store.support import (
    T0,
    alert_event,
    command_event,
    delivery_event,
    incident_event,
    task_event,
)

pytestmark = pytest.mark.integration


@pytest.fixture()
def conn(database_url: str) -> Iterator[psycopg.Connection[object]]:
    with psycopg.connect(database_url, autocommit=True) as c:
        yield c  # type: ignore[misc]


@pytest.fixture()
def writer(database_url: str) -> Iterator[Writer]:
    w = Writer(database_url)
    yield w
    w.close()


def _county() -> str:
    return str(random.randint(700000, 799999))


def _write(writer: Writer, *events: tuple[str, object]) -> None:
    writer.write(build_batch([(t, None, e.to_bytes()) for t, e in events]))  # type: ignore[attr-defined]


def test_like_prefix_escapes_wildcards() -> None:
    assert queries.like_prefix("a_b%c\\") == "a\\_b\\%c\\\\%"


def test_sensor_history_buckets_and_latest(writer: Writer, conn: psycopg.Connection) -> None:
    county = _county()
    sensor = f"rg-{uuid.uuid4().hex[:6]}"
    grid = f"{county}100001-G1"
    ev = Readings(gateway_id="gw", seq=1, received_at=T0, readings=[
        Reading(sensor=sensor, ts=T0 + timedelta(minutes=10 * i), kind="rain_mm",
                value=float(i), region=grid) for i in range(18)])  # 3 hours, 6 per hour
    _write(writer, (topics.READINGS, ev))
    hourly = queries.sensor_history(conn, sensor, T0, T0 + timedelta(hours=3))
    assert [(r["bucket"], r["n"], r["min"], r["max"], r["sum"]) for r in hourly] == [
        (T0, 6, 0.0, 5.0, 15.0), (T0 + timedelta(hours=1), 6, 6.0, 11.0, 51.0),
        (T0 + timedelta(hours=2), 6, 12.0, 17.0, 87.0)]
    half = queries.sensor_history(conn, sensor, T0, T0 + timedelta(hours=1),
                                  bucket=timedelta(minutes=30))
    assert [r["n"] for r in half] == [3, 3]
    (latest,) = queries.latest_readings(conn, region=county)
    assert latest["sensor_id"] == sensor and latest["value"] == 17.0
    assert queries.latest_readings(conn, region=f"{county}100001-G") == []  # a leaf, no prefix
    assert len(queries.sensor_readings(conn, sensor, T0, T0 + timedelta(hours=1))) == 6
    with pytest.raises(ValueError):
        queries.sensor_history(conn, sensor, T0, T0, bucket=timedelta(0))
    view = conn.execute("SELECT n, sum FROM readings_hourly WHERE sensor_id = %s ORDER BY bucket",
                        (sensor,)).fetchall()
    assert view == [(6, 15.0), (6, 51.0), (6, 87.0)]


def test_incident_queries_by_region_subtree(writer: Writer, conn: psycopg.Connection) -> None:
    county = _county()
    town, village = f"{county}100", f"{county}100001"
    other = f"{county}200"
    i1, i2, i3 = (f"inc-{uuid.uuid4().hex[:6]}" for _ in range(3))
    t = [T0 + timedelta(minutes=m) for m in range(6)]
    _write(writer,
           (topics.INCIDENTS, incident_event(i1, "opened", Level.IV, t[0], region=village)),
           (topics.ALERTS, alert_event(f"{i1}-a1", i1, Level.IV, t[0], region=village)),
           (topics.ALERTS, alert_event(f"{i1}-a2", i1, Level.II, t[2], msg_type="Update",
                                       region=village)),
           (topics.INCIDENTS, incident_event(i2, "opened", Level.III, t[1], region=other)),
           (topics.ALERTS, alert_event(f"{i2}-a1", i2, Level.III, t[1], region=other)),
           (topics.ALERTS, alert_event(f"{i2}-a2", i2, Level.III, t[3], msg_type="Cancel",
                                       region=other)),
           (topics.INCIDENTS, incident_event(i3, "opened", Level.IV, t[1], region=town)),
           (topics.INCIDENTS, incident_event(i3, "resolved", Level.IV, t[4], status="resolved",
                                             region=town)),
           (topics.ALERTS, alert_event(f"{i3}-a1", i3, Level.IV, t[1], region=town)),
           (topics.DELIVERIES, delivery_event(f"{i1}-d2", f"{i1}-a1", i1, t[1], "failed")),
           (topics.DELIVERIES, delivery_event(f"{i1}-d1", f"{i1}-a1", i1, t[0], "retrying")),
           (topics.COMMANDS, command_event(f"{i1}-c1", i1, t[5])),
           (topics.TASKS, task_event(f"{i1}-t1", i1, "open", t[3])))

    assert [i["incident_id"] for i in queries.list_incidents(conn, county, "active")] == [i2, i1]
    assert [i["incident_id"] for i in queries.list_incidents(conn, town)] == [i3, i1]
    assert [i["incident_id"] for i in queries.list_incidents(conn, county, "resolved")] == [i3]


def test_retention_deletes_only_old_readings(writer: Writer, conn: psycopg.Connection) -> None:
    from store.retention import apply

    gw = f"gw-{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)
    ev = Readings(gateway_id=gw, seq=1, received_at=now, readings=[
        Reading(sensor=f"{gw}-s", ts=now - timedelta(days=d), kind="rain_mm", value=1.0,
                region="999999") for d in (0, 1, 20, 40, 400)])
    _write(writer, (topics.READINGS, ev))
    deleted = apply(conn, 30, batch=1)
    assert deleted >= 2
    left = conn.execute("SELECT count(*) FROM readings WHERE gateway_id = %s", (gw,)).fetchone()
    assert left == (3,)
    assert apply(conn, 0) == 0


def test_history_from_the_hourly_aggregate_matches_the_raw_buckets() -> None:
    """The TimescaleDB branch reads ``readings_hourly``; the plain view has the same shape, so a
    database marked as Timescale exercises that SQL here (re-bucketing hours into 2 h)."""
    from anlan.stack.database import drop_database, ensure_database
    from store.migrate import migrate

    url = ensure_database(f"postgresql://postgres@127.0.0.1:5432/anlan_q_{uuid.uuid4().hex[:8]}")
    try:
        migrate(url)
        w = Writer(url)
        ev = Readings(gateway_id="gw", seq=1, received_at=T0, readings=[
            Reading(sensor="s1", ts=T0 + timedelta(minutes=15 * i), kind="rain_mm",
                    value=float(i), region="360121") for i in range(16)])  # 4 hours
        w.write(build_batch([(topics.READINGS, None, ev.to_bytes())]))
        w.close()
        with psycopg.connect(url, autocommit=True) as c:
            plain = queries.sensor_history(c, "s1", T0, T0 + timedelta(hours=4),
                                           bucket=timedelta(hours=2))
            c.execute("UPDATE schema_info SET value = 'timescale' WHERE key = 'flavour'")
            agg = queries.sensor_history(c, "s1", T0, T0 + timedelta(hours=4),
                                         bucket=timedelta(hours=2))
    finally:
        drop_database(url)
    assert [(r["bucket"], r["n"], r["min"], r["max"], r["sum"]) for r in agg] == [
        (r["bucket"], r["n"], r["min"], r["max"], r["sum"]) for r in plain]
    assert [r["n"] for r in agg] == [8, 8]
    assert agg[0]["avg"] == pytest.approx(plain[0]["avg"])
