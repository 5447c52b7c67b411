"""Incidents, sensors, gateways, regions, tasks, CAP, health — over real HTTP on the real store."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import quote
from xml.etree import ElementTree as ET

import httpx
import pytest

from alerts.cap import identifier_for, validate_cap
from anlan.events import GatewayStatus, Level, Reading, Readings, SeqGap, Task
from tests.api.helpers import alert_for, incident, store_events

pytestmark = pytest.mark.integration
CG_GRID, HK_GRID = "360121100001-G1", "360121101001-G1"


def test_incidents_list_and_detail(as_user: Callable[[str], httpx.Client],
                                   seeded_db: str) -> None:
    inc = incident(CG_GRID, Level.II)
    acked = incident(CG_GRID, Level.II, incident_id=inc.incident_id, status="acknowledged",
                     change="acknowledged", ts=inc.ts + timedelta(minutes=1), actor="cg_officer")
    store_events(seeded_db, inc, alert_for(inc), acked)
    c = as_user("cg_officer")
    listed = c.get("/api/v1/incidents", params={"status": "active"}).json()
    row = next(i for i in listed if i["incident_id"] == inc.incident_id)
    assert row["status"] == "acknowledged" and row["acknowledged_by"] == "cg_officer"
    detail = c.get(f"/api/v1/incidents/{inc.incident_id}").json()
    assert [t["label"] for t in detail["timeline"]][:3] == ["事件开始", "预警发布", "已确认"]
    assert len(detail["alerts"]) == 1
    assert as_user("hk_officer").get(f"/api/v1/incidents/{inc.incident_id}").status_code == 403
    assert c.get("/api/v1/incidents", params={"region": "360121101"}).status_code == 403


def test_sensors_latest_and_history(as_user: Callable[[str], httpx.Client],
                                    seeded_db: str) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    readings = [Reading(sensor="rg-0101", ts=now - timedelta(minutes=5 * i), kind="rain_mm",
                        value=float(i), region=CG_GRID) for i in range(6)]
    store_events(seeded_db, Readings(gateway_id="gw-0001", seq=1, received_at=now,
                                     readings=readings),
                 GatewayStatus(gateway_id="gw-0001", status="online", at=now),
                 GatewayStatus(gateway_id="gw-0003", status="offline", at=now))
    c = as_user("cg_officer")
    sensors = {s["sensor_id"]: s for s in c.get("/api/v1/sensors").json()}
    assert "rg-0301" not in sensors  # 河口镇's gauge
    assert sensors["rg-0101"]["value"] == 0.0 and sensors["rg-0101"]["stale"] is False
    assert sensors["rg-0101"]["unit"] == "mm" and sensors["wl-0101"]["value"] is None
    hist = c.get("/api/v1/sensors/rg-0101/history",
                 params={"since": (now - timedelta(hours=1)).isoformat()}).json()
    assert hist["resolution"] == "raw"
    assert [p["value"] for p in hist["points"]] == [5.0, 4.0, 3.0, 2.0, 1.0, 0.0]
    long = c.get("/api/v1/sensors/rg-0101/history",
                 params={"since": (now - timedelta(days=5)).isoformat()}).json()
    assert long["resolution"] == "hourly" and long["points"]
    assert c.get("/api/v1/sensors/rg-0301/history").status_code == 403
    assert c.get("/api/v1/sensors/nope/history").status_code == 404
    bad = c.get("/api/v1/sensors/rg-0101/history", params={"since": "2026-13-01"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "since"]
    gws = {g["gateway_id"]: g["status"] for g in as_user("admin").get("/api/v1/gateways").json()}
    assert gws["gw-0001"] == "online" and gws["gw-0003"] == "offline"
    assert "gw-0003" not in {g["gateway_id"] for g in c.get("/api/v1/gateways").json()}


def test_seq_gaps_the_bridge_reported_show_on_the_gateways(
        as_user: Callable[[str], httpx.Client], seeded_db: str) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    store_events(seeded_db, *(
        SeqGap(gateway_id=gw, first_missing=first, last_missing=last, missing=last - first + 1,
               at=at, bridge="anlan-bridge")
        for gw, first, last, at in (("gw-0001", 4, 6, now - timedelta(minutes=1)),
                                    ("gw-0001", 90, 99, now),
                                    ("gw-0001", 1, 2, now - timedelta(days=30)),  # too old
                                    ("gw-0003", 7, 7, now))))
    c = as_user("cg_officer")
    gws = {g["gateway_id"]: g for g in c.get("/api/v1/gateways").json()}
    assert (gws["gw-0001"]["seq_gaps"], gws["gw-0001"]["missing_messages"]) == (2, 13)
    assert gws["gw-0001"]["last_gap_at"] is not None and "gw-0003" not in gws
    gaps = c.get("/api/v1/gateways/gaps").json()
    assert [(g["gateway_id"], g["first_missing"], g["last_missing"], g["missing"])
            for g in gaps] == [("gw-0001", 90, 99, 10), ("gw-0001", 4, 6, 3)]
    assert gaps[0]["region"] == gws["gw-0001"]["region"] and gaps[0]["bridge"] == "anlan-bridge"
    everything = as_user("admin").get("/api/v1/gateways/gaps", params={
        "since": (now - timedelta(days=60)).isoformat()}).json()
    assert {(g["gateway_id"], g["first_missing"]) for g in everything} == {
        ("gw-0001", 90), ("gw-0001", 4), ("gw-0001", 1), ("gw-0003", 7)}


def test_regions_list_and_tree_with_worst_level(as_user: Callable[[str], httpx.Client],
                                                seeded_db: str) -> None:
    store_events(seeded_db, incident("360121100002-G1", Level.I))
    c = as_user("cg_officer")
    flat = c.get("/api/v1/regions").json()
    assert flat[0] == {"id": "360121100", "name": "城关镇", "tier": "township",
                       "parent": "360121", "depth": 0}
    assert "360121101" not in {r["id"] for r in flat}
    tree = c.get("/api/v1/regions/tree").json()
    assert len(tree) == 1 and tree[0]["worst_level"] == "I"
    qd = next(n for n in tree[0]["children"] if n["id"] == "360121100002")
    assert qd["worst_level"] == "I" and qd["own_level"] == "none"
    assert qd["children"][0]["own_level"] == "I"


def test_tasks_list_and_detail(as_user: Callable[[str], httpx.Client], seeded_db: str) -> None:
    now = datetime.now(UTC)
    task = Task(task_id="task-sandbag-1", kind="mobilization", state="offered", region=CG_GRID,
                title="河口村堤段装沙袋", quota=4, skills=["sandbag"], ts=now)
    store_events(seeded_db, task, task.model_copy(update={"state": "accepted",
                                                          "ts": now + timedelta(minutes=1)}))
    c = as_user("cg_officer")
    listed = c.get("/api/v1/tasks", params={"state": "active"}).json()
    assert any(t["task_id"] == "task-sandbag-1" and t["state"] == "accepted" for t in listed)
    detail = c.get("/api/v1/tasks/task-sandbag-1").json()
    assert [e["state"] for e in detail["events"]] == ["offered", "accepted"]
    assert as_user("hk_officer").get("/api/v1/tasks/task-sandbag-1").status_code == 403
    assert c.get("/api/v1/tasks", params={"state": "bogus"}).status_code == 422


def test_cap_document_and_feed(client: httpx.Client, seeded_db: str) -> None:
    inc = incident(CG_GRID, Level.I)
    a = alert_for(inc)
    store_events(seeded_db, inc, a)
    doc = client.get(f"/api/v1/cap/{a.alert_id}.xml")
    assert doc.status_code == 200 and doc.headers["content-type"].startswith("application/cap+xml")
    xml = doc.text.split("?>", 1)[1]
    assert validate_cap(xml) == []
    assert "河口村" in xml and "<msgType>Alert</msgType>" in xml
    feed = client.get("/api/v1/cap/feed.atom", params={"region": "360121100"})
    assert feed.status_code == 200 and f"/api/v1/cap/{a.alert_id}.xml" in feed.text
    other = client.get("/api/v1/cap/feed.atom", params={"region": "360121101"})
    assert a.alert_id not in other.text
    assert client.get("/api/v1/cap/nope.xml").status_code == 404


def test_every_link_of_the_feed_is_followed(client: httpx.Client,
                                            as_user: Callable[[str], httpx.Client],
                                            seeded_db: str) -> None:
    """Ids as the workers make them ("…#4"; a maintenance alert carries a sensor id, which
    may hold "/" or "?"): every href of the feed, followed as given, is that alert's CAP."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + f"{uuid.uuid4().int % 1000:03d}Z"
    rain = incident(CG_GRID, Level.II, incident_id=f"rainstorm-cma:{CG_GRID}:{stamp}")
    gauge = incident(CG_GRID, Level.IV,
                     incident_id=f"maintenance:sensor-rg/01 ?a=1&b=%41 河口:{stamp}")
    alerts = [alert_for(rain).model_copy(update={"alert_id": f"{rain.incident_id}#4"}),
              alert_for(gauge).model_copy(update={"alert_id": f"{gauge.incident_id}#1"})]
    store_events(seeded_db, rain, gauge, *alerts)
    feed = client.get("/api/v1/cap/feed.atom", params={"region": "360121100"})
    assert feed.status_code == 200
    atom = "{http://www.w3.org/2005/Atom}"
    links = {e.findtext(f"{atom}id"): e.find(f"{atom}link").get("href")  # type: ignore[union-attr]
             for e in ET.fromstring(feed.content).iter(f"{atom}entry")}
    for a in alerts:
        href = links[f"urn:anlan:alert:{quote(a.alert_id, safe='')}"]
        assert "#" not in href and " " not in href and "?" not in href
        with httpx.Client(timeout=15) as follower:  # the link as given, not our base URL
            doc = follower.get(href)
        assert doc.status_code == 200, (href, doc.text)
        assert f"<identifier>{identifier_for(a)}</identifier>" in doc.text
    for href in links.values():
        assert httpx.get(href, timeout=15).status_code == 200, href
    officer = as_user("cg_officer")  # the console's links: the same encoding
    for a in alerts:
        assert officer.get(f"/api/v1/alerts/{quote(a.alert_id, safe='')}").status_code == 200
        assert officer.get(f"/api/v1/incidents/{quote(a.incident_id, safe='')}").json()[
            "incident_id"] == a.incident_id


def test_health_ready_metrics_docs(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": True, "kafka": True, "stream": True}
    metrics = client.get("/metrics").text
    assert "anlan_api_requests_total" in metrics and "anlan_api_stream_clients" in metrics
    assert client.get("/docs").status_code == 200
    assert "/api/v1/alerts/{alert_id}/ack" in client.get("/openapi.json").json()["paths"]


def test_cap_document_is_the_one_the_dispatcher_sent(client: httpx.Client,
                                                     seeded_db: str) -> None:
    import psycopg

    from alerts.dispatch.repository import record_alert
    from tests.api.helpers import run_async

    inc = incident(CG_GRID, Level.II)
    a = alert_for(inc)
    store_events(seeded_db, inc, a)
    sent_xml = '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>X-1</identifier></alert>'

    async def record() -> None:
        async with await psycopg.AsyncConnection.connect(seeded_db, autocommit=True) as conn:
            await record_alert(conn, a, "X-1", sent_xml)

    run_async(record)
    doc = client.get(f"/api/v1/cap/{a.alert_id}.xml")
    assert doc.status_code == 200 and doc.text.endswith(sent_xml)  # byte for byte what went out
