"""Alerts over real HTTP on the real store: list, detail, scoping, actions as Kafka commands."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest

from anlan.events import Level
from anlan.settings import Settings
from tests.api.helpers import alert_for, delivery, incident, store_events, wait_commands

pytestmark = pytest.mark.integration
CG_GRID = "360121100001-G1"  # 城关镇 › 河口村 › 第一网格
HK_GRID = "360121101001-G1"  # 河口镇 › 山背村 › 第一网格


@pytest.fixture(scope="module")
def two_alerts(seeded_db: str) -> dict[str, object]:
    """A red alert in 城关镇 (with a delivery) and an orange one in 河口镇."""
    ev = {"trigger": "sum_1h", "threshold": 50.0,
          "sensors": [{"sensor": "rg-0101", "kind": "rain_mm", "value": 62.5}]}
    cg = incident(CG_GRID, Level.I, evidence=ev)
    hk = incident(HK_GRID, Level.II)
    cg_alert, hk_alert = alert_for(cg, evidence=ev), alert_for(hk, headline="暴雨橙色预警")
    store_events(seeded_db, cg, hk, cg_alert, hk_alert, delivery(cg_alert, "p-cg-duty"))
    return {"cg": cg_alert, "hk": hk_alert, "cg_incident": cg}


def ids(resp: httpx.Response) -> set[str]:
    assert resp.status_code == 200, resp.text
    return {a["alert_id"] for a in resp.json()}


def test_list_is_scoped_to_the_users_subtree(as_user: Callable[[str], httpx.Client],
                                             two_alerts: dict) -> None:
    cg, hk = two_alerts["cg"].alert_id, two_alerts["hk"].alert_id
    assert {cg, hk} <= ids(as_user("admin").get("/api/v1/alerts"))
    mine = ids(as_user("cg_officer").get("/api/v1/alerts"))
    assert cg in mine and hk not in mine
    theirs = ids(as_user("hk_officer").get("/api/v1/alerts"))
    assert hk in theirs and cg not in theirs


def test_list_filters(as_user: Callable[[str], httpx.Client], two_alerts: dict) -> None:
    c = as_user("admin")
    cg, hk = two_alerts["cg"], two_alerts["hk"]
    assert ids(c.get("/api/v1/alerts", params={"level": "I"})) >= {cg.alert_id}
    assert hk.alert_id not in ids(c.get("/api/v1/alerts", params={"level": "I"}))
    assert {cg.alert_id, hk.alert_id} <= ids(c.get("/api/v1/alerts",
                                                   params=[("level", "I"), ("level", "II")]))
    assert cg.alert_id not in ids(c.get("/api/v1/alerts", params={"region": "360121101"}))
    assert cg.alert_id in ids(c.get("/api/v1/alerts", params={"status": "active"}))
    assert cg.alert_id not in ids(c.get("/api/v1/alerts", params={"status": "resolved"}))
    later = (cg.sent + timedelta(hours=1)).isoformat()
    assert cg.alert_id not in ids(c.get("/api/v1/alerts", params={"since": later}))
    row = next(a for a in c.get("/api/v1/alerts").json() if a["alert_id"] == cg.alert_id)
    assert row["status"] == "open" and row["level"] == "I" and row["region"] == CG_GRID


def test_region_filter_outside_scope_is_403(as_user: Callable[[str], httpx.Client]) -> None:
    resp = as_user("cg_officer").get("/api/v1/alerts", params={"region": "360121101"})
    assert resp.status_code == 403


@pytest.mark.parametrize("params,field", [({"level": "V"}, "level"), ({"limit": 0}, "limit"),
                                          ({"status": "done"}, "status"),
                                          ({"region": "abc"}, "region"),
                                          ({"since": "yesterday"}, "since"),
                                          ({"until": "2026-07-20T08:00:00"}, "until")])
def test_list_validation_names_the_field(as_user: Callable[[str], httpx.Client],
                                         params: dict, field: str) -> None:
    resp = as_user("admin").get("/api/v1/alerts", params=params)
    assert resp.status_code == 422
    assert [e["loc"][:2] for e in resp.json()["detail"]] == [["query", field]]


def test_detail_has_evidence_timeline_and_deliveries(as_user: Callable[[str], httpx.Client],
                                                     two_alerts: dict) -> None:
    cg = two_alerts["cg"]
    resp = as_user("cg_officer").get(f"/api/v1/alerts/{cg.alert_id}")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["evidence"]["threshold"] == 50.0
    assert body["evidence_sensors"] == [{"sensor": "rg-0101", "kind": "rain_mm",
                                         "threshold": 50.0, "value": 62.5}]
    kinds = [t["kind"] for t in body["timeline"]]
    assert kinds == ["incident", "alert", "delivery"]
    assert body["timeline"][0]["label"] == "事件开始"
    assert [d["recipient"] for d in body["deliveries"]] == ["p-cg-duty"]
    assert body["incident"]["status"] == "open"


def test_detail_across_regions_is_403(as_user: Callable[[str], httpx.Client],
                                      two_alerts: dict) -> None:
    cg = two_alerts["cg"]
    assert as_user("hk_officer").get(f"/api/v1/alerts/{cg.alert_id}").status_code == 403
    assert as_user("hk_officer").post(f"/api/v1/alerts/{cg.alert_id}/ack").status_code == 403
    assert as_user("admin").get("/api/v1/alerts/no-such-alert").status_code == 404


def test_actions_become_commands_on_kafka(as_user: Callable[[str], httpx.Client],
                                          two_alerts: dict, api_settings: Settings) -> None:
    cg = two_alerts["cg"]
    c = as_user("cg_officer")
    sent = {}
    for kind in ("ack", "escalate", "resolve"):
        body = {"note": "已通知村委"} if kind != "escalate" else {"level": "I"}
        resp = c.post(f"/api/v1/alerts/{cg.alert_id}/{kind}", json=body)
        assert resp.status_code == 202, resp.text
        assert resp.json()["target"] == cg.incident_id
        sent[resp.json()["command_id"]] = kind
    found = wait_commands(api_settings, set(sent))
    for command_id, kind in sent.items():
        key, cmd = found[command_id]
        assert key == cg.incident_id.encode()
        assert (cmd.kind, cmd.target, cmd.actor) == (kind, cg.incident_id, "cg_officer")
        assert cmd.detail["alert_id"] == cg.alert_id
    assert found[next(k for k, v in sent.items() if v == "escalate")][1].detail["level"] == "I"


def test_viewer_may_not_act(as_user: Callable[[str], httpx.Client], two_alerts: dict) -> None:
    cg = two_alerts["cg"]
    assert as_user("cg_viewer").get(f"/api/v1/alerts/{cg.alert_id}").status_code == 200
    assert as_user("cg_viewer").post(f"/api/v1/alerts/{cg.alert_id}/ack").status_code == 403


def test_resolved_incident_cannot_be_acked(as_user: Callable[[str], httpx.Client],
                                           seeded_db: str) -> None:
    inc = incident(CG_GRID, Level.III)
    done = incident(CG_GRID, Level.III, incident_id=inc.incident_id, status="resolved",
                    change="resolved", ts=inc.ts + timedelta(minutes=5), actor="cg_officer")
    a = alert_for(inc)
    store_events(seeded_db, inc, a, done)
    resp = as_user("cg_officer").post(f"/api/v1/alerts/{a.alert_id}/ack")
    assert resp.status_code == 409


def test_manual_alert(as_user: Callable[[str], httpx.Client], api_settings: Settings) -> None:
    c = as_user("cg_officer")
    body = {"region": "360121100002", "hazard": "waterlogging", "level": "II",
            "headline": "桥东社区内涝橙色预警", "description": "地下车库进水"}
    resp = c.post("/api/v1/alerts", json=body)
    assert resp.status_code == 202, resp.text
    cmd_id = resp.json()["command_id"]
    key, cmd = wait_commands(api_settings, {cmd_id})[cmd_id]
    assert (cmd.kind, cmd.target, key) == ("manual_alert", "urban_waterlogging:360121100002",
                                           b"urban_waterlogging:360121100002")  # its plan
    assert cmd.detail["level"] == "II" and cmd.detail["exercise"] is False
    drill = c.post("/api/v1/alerts", json={**body, "hazard": "rainstorm", "exercise": True})
    drill_id = drill.json()["command_id"]
    key, cmd = wait_commands(api_settings, {drill_id})[drill_id]
    # the rainstorm plan, in the exercise scope: the drill's own incident, never a real one
    assert (cmd.kind, cmd.target, key) == ("drill", "EXERCISE:rainstorm:360121100002",
                                           b"EXERCISE:rainstorm:360121100002")
    fire = c.post("/api/v1/alerts", json={**body, "hazard": "fire"}).json()["command_id"]
    _, cmd = wait_commands(api_settings, {fire})[fire]
    assert cmd.target == "fire:360121100002"  # no plan for fires: named after the hazard
    outside = c.post("/api/v1/alerts", json={**body, "region": "360121101001"})
    assert outside.status_code == 403
    bad = c.post("/api/v1/alerts", json={"region": "x", "level": "V", "hazard": "Rain!"})
    assert bad.status_code == 422
    assert {e["loc"][-1] for e in bad.json()["detail"]} == {"region", "level", "hazard",
                                                            "headline"}


def test_alert_before_its_incident_counts_as_open(as_user: Callable[[str], httpx.Client],
                                                  seeded_db: str) -> None:
    inc = incident(CG_GRID, Level.II)
    a = alert_for(inc, headline="先到的预警")
    store_events(seeded_db, a)  # the sink has not written the incident yet
    rows = as_user("cg_officer").get("/api/v1/alerts", params={"status": "active"}).json()
    row = next(r for r in rows if r["alert_id"] == a.alert_id)
    assert row["status"] == "open"
    open_rows = as_user("cg_officer").get("/api/v1/alerts", params={"status": "open"}).json()
    assert a.alert_id in {r["alert_id"] for r in open_rows}
    store_events(seeded_db, inc)
    rows = as_user("cg_officer").get("/api/v1/alerts", params={"status": "active"}).json()
    assert [r["alert_id"] for r in rows].count(a.alert_id) == 1  # once, not twice


def test_newest_alert_per_incident_when_one_incident_floods_the_window(
        as_user: Callable[[str], httpx.Client], seeded_db: str) -> None:
    from datetime import UTC, datetime

    t0 = datetime(2020, 3, 1, tzinfo=UTC)  # a quiet day of its own
    quiet = incident(CG_GRID, Level.III, ts=t0)
    noisy = incident(CG_GRID, Level.II, ts=t0 + timedelta(hours=1))
    updates = [alert_for(noisy, msg_type="Alert" if k == 0 else "Update",
                         sent=noisy.ts + timedelta(minutes=k)) for k in range(20)]
    first = alert_for(quiet)
    store_events(seeded_db, quiet, noisy, first, *updates)
    params = {"since": t0.isoformat(), "until": (t0 + timedelta(days=1)).isoformat()}
    c = as_user("admin")
    rows = c.get("/api/v1/alerts", params={**params, "limit": 2}).json()
    assert [r["alert_id"] for r in rows] == [updates[-1].alert_id, first.alert_id]
    second = c.get("/api/v1/alerts", params={**params, "limit": 1, "offset": 1}).json()
    assert [r["alert_id"] for r in second] == [first.alert_id]
    every = c.get("/api/v1/alerts", params={**params, "latest": "false", "limit": 100}).json()
    assert len(every) == 21


def test_idempotency_key_makes_a_retry_the_same_command(
        as_user: Callable[[str], httpx.Client], two_alerts: dict) -> None:
    hk = two_alerts["hk"]
    c = as_user("hk_officer")
    key = {"Idempotency-Key": "tablet-7:ack:42"}
    first = c.post(f"/api/v1/alerts/{hk.alert_id}/ack", headers=key).json()["command_id"]
    again = c.post(f"/api/v1/alerts/{hk.alert_id}/ack", headers=key).json()["command_id"]
    other = c.post(f"/api/v1/alerts/{hk.alert_id}/ack").json()["command_id"]
    assert first == again != other
    assert as_user("admin").post(f"/api/v1/alerts/{hk.alert_id}/ack",
                                 headers=key).json()["command_id"] != first  # per user


def test_readings_too_late_to_assess_are_on_the_timeline_and_counted_per_gateway(
        as_user: Callable[[str], httpx.Client], seeded_db: str) -> None:
    from datetime import UTC, datetime

    from anlan.events import QualityFlag, Reading, Readings

    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    inc = incident(CG_GRID, Level.II, ts=t0)
    alert = alert_for(inc, sent=t0)
    old = t0 - timedelta(days=3)  # a backlog older than the assessment's horizon
    late = Readings(gateway_id="gw-0001", seq=901, received_at=t0 + timedelta(minutes=10),
                    readings=[Reading(sensor="rg-0101", ts=old + timedelta(minutes=5 * i),
                                      kind="rain_mm", value=1.0, region=CG_GRID,
                                      flags=[QualityFlag.TOO_LATE]) for i in range(4)])
    store_events(seeded_db, inc, alert, late)
    body = as_user("cg_officer").get(f"/api/v1/alerts/{alert.alert_id}").json()
    (entry,) = [t for t in body["timeline"] if t["kind"] == "data"]
    assert entry["detail"]["gateway_id"] == "gw-0001" and entry["detail"]["readings"] == 4
    assert "超过评估时限" in entry["summary"]
    gateways = {g["gateway_id"]: g for g in as_user("admin").get("/api/v1/gateways").json()}
    assert gateways["gw-0001"]["too_late"] >= 4
