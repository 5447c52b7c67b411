"""The SSE stream (from Kafka), reports (validation, rate limit), volunteer personal links."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from anlan import topics
from anlan.events import Level, Report, Task
from anlan.settings import Settings
from tests.api.conftest import Server
from tests.api.helpers import alert_for, incident, offer_task, produce, wait_commands

pytestmark = pytest.mark.integration


def _read_events(base_url: str, token: str, want: int, out: list[dict],
                 opened: threading.Event) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as c, \
            c.stream("GET", "/api/v1/stream", params={"access_token": token}) as resp:
        opened.set()
        event = None
        for line in resp.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event in ("alert", "incident"):
                out.append({"type": event, **json.loads(line[6:])})
                if len(out) >= want:
                    return


def test_stream_fans_out_kafka_events_within_scope(api_server: Server, tokens: dict[str, str],
                                                   api_settings: Settings) -> None:
    mine: list[dict] = []
    theirs: list[dict] = []
    opened = [threading.Event(), threading.Event()]
    threads = [threading.Thread(target=_read_events, args=(api_server.base_url, tokens[name],
                                                           want, out, ev), daemon=True)
               for name, want, out, ev in (("cg_officer", 2, mine, opened[0]),
                                           ("hk_officer", 1, theirs, opened[1]))]
    for t in threads:
        t.start()
    assert all(ev.wait(10) for ev in opened)
    deadline = 100
    while len(api_server.app.state.anlan.hub.clients) < 2 and deadline:
        threading.Event().wait(0.05)
        deadline -= 1
    cg, hk = incident("360121100001-G1", Level.I), incident("360121101001-G1", Level.II)
    produce(api_settings, topics.ALERTS, cg.incident_id, alert_for(cg))
    produce(api_settings, topics.ALERTS, hk.incident_id, alert_for(hk))
    produce(api_settings, topics.INCIDENTS, cg.incident_id, cg)
    for t in threads:
        t.join(timeout=20)
    assert sorted((e["type"], e["incident_id"]) for e in mine) == [
        ("alert", cg.incident_id), ("incident", cg.incident_id)]  # two topics: any order
    assert all(e["level"] == "I" for e in mine)
    assert [e["incident_id"] for e in theirs] == [hk.incident_id]


def test_stream_needs_a_token(client: httpx.Client) -> None:
    assert client.get("/api/v1/stream").status_code == 401
    assert client.get("/api/v1/stream", params={"access_token": "x.y"}).status_code == 401


AsUser = Callable[[str], httpx.Client]


def test_report_needs_a_credential_and_the_reporter_comes_from_it(
        client: httpx.Client, as_user: AsUser) -> None:
    body = {"kind": "waterlogging", "region": "360121100002-G1"}
    assert client.post("/api/v1/reports", json=body).status_code == 401
    bad = client.post("/api/v1/reports", json=body, headers={"Authorization": "Bearer x.y"})
    assert bad.status_code == 401
    # the body cannot name the reporter (a plan counts distinct reporters)
    claimed = as_user("cg_viewer").post("/api/v1/reports", json={**body, "reporter_id": "x"})
    assert claimed.status_code == 422
    assert claimed.json()["detail"][0]["loc"] == ["body", "reporter_id"]


def test_report_with_an_api_token_is_the_token_owners(
        as_user: AsUser, api_settings: Settings) -> None:
    made = as_user("hk_officer").post("/api/v1/auth/tokens", json={"name": "reports app"})
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    marker = f"api-token {uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=str(as_user("hk_officer").base_url), timeout=15,
                      headers={"Authorization": f"Bearer {token}"}) as c:
        resp = c.post("/api/v1/reports", json={"kind": "fire", "region": "360121100002-G1",
                                               "text": marker})
    assert as_user("hk_officer").delete(f"/api/v1/auth/tokens/{made.json()['id']}"
                                       ).status_code == 204
    assert resp.status_code == 202, resp.text
    [report] = _reports_of(api_settings, lambda r: r.text == marker, wait_s=10)
    assert report.reporter_id == "hk_officer"


def test_report_is_produced_to_kafka(as_user: AsUser, api_settings: Settings) -> None:
    reporter = "hk_officer"
    resp = as_user(reporter).post("/api/v1/reports", json={
        "kind": "waterlogging", "region": "360121100002-G1",
        "text": "桥东路口积水没过膝盖"})
    assert resp.status_code == 202, resp.text
    report_id = resp.json()["report_id"]

    import asyncio

    from anlan.kafka import make_consumer

    async def read() -> Report | None:
        consumer = make_consumer(api_settings, topics.REPORTS_RAW, group_id=None)
        await consumer.start()
        try:
            for _ in range(50):
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    for rec in records:
                        report = Report.from_bytes(rec.value or b"")
                        if report.report_id == report_id:
                            assert rec.key == b"360121100002-G1"
                            return report
        finally:
            await consumer.stop()
        return None

    report = asyncio.run(read())
    assert report is not None and report.source == "http" and report.reporter_id == reporter


@pytest.mark.parametrize("body,fields", [
    ({"region": "360121100"}, {"kind"}),
    ({"kind": "Fire!", "region": "360121100"}, {"kind"}),
    ({"kind": "fire", "region": "beijing"}, {"region"}),
    ({"kind": "fire", "region": "360121100", "lat": 95, "lon": 10}, {"lat"}),
    ({"kind": "fire", "lat": 28.7, "lon": 115.8}, {"region"}),
    ({"kind": "fire", "region": "360121100", "text": "x" * 2001}, {"text"}),
    ({"kind": "fire", "region": "360121100", "ts": "2026-07-20T08:00:00"}, {"ts"}),
])
def test_report_validation_names_fields(as_user: AsUser, body: dict, fields: set) -> None:
    resp = as_user("cg_viewer").post("/api/v1/reports", json=body)
    assert resp.status_code == 422
    assert {e["loc"][1] for e in resp.json()["detail"]} == fields


def test_report_without_a_place_is_rejected(as_user: AsUser) -> None:
    for where in ({}, {"lat": 28.7, "lon": 115.8}):
        resp = as_user("cg_viewer").post("/api/v1/reports", json={"kind": "fire", **where})
        assert resp.status_code == 422
        [error] = resp.json()["detail"]
        assert error["loc"] == ["body", "region"]
        assert "lat/lon alone cannot be located" in error["msg"]


NOW = datetime.now(UTC)


@pytest.mark.parametrize(("change", "field", "reason"), [
    ({"region": "999999"}, "region", "region '999999' is not a region of the directory"),
    ({"region": "360121100009-G1"}, "region", "is not a region of the directory"),
    ({"ts": "9999-12-31T23:59:59Z"}, "ts", "more than 5 minutes ahead"),
    ({"ts": (NOW + timedelta(minutes=10)).isoformat()}, "ts", "more than 5 minutes ahead"),
    ({"ts": (NOW - timedelta(days=8)).isoformat()}, "ts", "more than 7 days old"),
    ({"text": "\ud83d"}, "text", "invalid unicode in field text"),
    ({"kind": "fire\udfff"}, "kind", "invalid unicode in field kind"),
])
def test_report_outside_the_contract_is_a_422_with_the_reason(
        as_user: AsUser, api_settings: Settings, change: dict[str, str], field: str,
        reason: str) -> None:
    marker = f"r-{uuid.uuid4().hex[:8]}"
    body = {"kind": "fire", "region": "360121100002-G1", "text": marker, **change}
    resp = as_user("cg_viewer").post("/api/v1/reports", content=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    assert resp.status_code == 422, resp.text
    [error] = resp.json()["detail"]
    assert error["loc"] == ["body", field] and reason in error["msg"]
    assert not _reports_of(api_settings, lambda r: r.text == marker, wait_s=1)  # none sent


def test_report_within_the_bounds_is_accepted(as_user: AsUser,
                                              api_settings: Settings) -> None:
    text = f"浓烟 \U0001f525 {uuid.uuid4().hex[:8]}"
    body = {"kind": "fire", "region": "360121100002-G1", "lat": 28.7, "lon": 115.8,
            "text": text, "ts": (datetime.now(UTC) - timedelta(days=6)).isoformat()}
    resp = as_user("cg_viewer").post("/api/v1/reports", json=body)
    assert resp.status_code == 202, resp.text
    [report] = _reports_of(api_settings, lambda r: r.text == text, wait_s=10)
    assert (report.region, report.reporter_id) == ("360121100002-G1", "cg_viewer")


def _reports_of(settings: Settings, match: Callable[[Report], bool],
                wait_s: float) -> list[Report]:
    import asyncio

    from anlan.kafka import make_consumer

    async def read() -> list[Report]:
        consumer = make_consumer(settings, topics.REPORTS_RAW, group_id=None)
        await consumer.start()
        found: list[Report] = []
        try:
            for _ in range(int(wait_s / 0.2)):
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    found += [r for r in (Report.from_bytes(rec.value or b"") for rec in records)
                              if match(r)]
                if found:
                    break
        finally:
            await consumer.stop()
        return found

    return asyncio.run(read())


def test_reports_are_rate_limited_per_client(as_user: AsUser) -> None:
    body = {"kind": "fire", "region": "360121100"}
    spammer = as_user("cg_officer")  # reports as nobody else in these tests
    codes = [spammer.post("/api/v1/reports", json=body).status_code for _ in range(5)]
    assert codes[:3] == [202, 202, 202] and codes[-1] == 429  # burst of 3 in the test app
    limited = spammer.post("/api/v1/reports", json=body)
    assert int(limited.headers["retry-after"]) >= 1


def test_volunteer_link_accept(client: httpx.Client, seeded_db: str,
                               api_settings: Settings) -> None:
    task = Task(task_id=f"task-{uuid.uuid4().hex[:8]}", kind="mobilization", state="offered",
                region="360121100001-G1", title="河口村堤段装沙袋", quota=2, skills=["sandbag"],
                ts=datetime.now(UTC))
    token = offer_task(seeded_db, task, "v-001")
    seen = client.get(f"/api/v1/links/{token}")
    assert seen.status_code == 200, seen.text
    assert seen.json()["title"] == "河口村堤段装沙袋"
    assert seen.json()["assignment_state"] == "offered"
    first = client.post(f"/api/v1/links/{token}/accept")
    again = client.post(f"/api/v1/links/{token}/accept")  # a double tap: the same command
    assert first.status_code == again.status_code == 202
    assert first.json()["command_id"] == again.json()["command_id"]
    cmd_id = first.json()["command_id"]
    key, cmd = wait_commands(api_settings, {cmd_id})[cmd_id]
    assert (key, cmd.kind, cmd.actor) == (task.task_id.encode(), "task_accept", "v-001")
    later = {a: client.post(f"/api/v1/links/{token}/{a}").json()["command_id"]
             for a in ("checkin", "complete", "decline")}
    kinds = {cid: c.kind for cid, (_, c) in wait_commands(api_settings, set(later.values())).items()}
    assert {kinds[later[a]] for a in later} == {"task_checkin", "task_complete", "task_decline"}
    assert client.get("/api/v1/links/" + "x" * 40).status_code == 404
    assert client.post(f"/api/v1/links/{token}/explode").status_code == 422
    page = client.get(f"/t/{token}")
    assert page.status_code == 200 and "志愿任务" in page.text


def test_console_is_served_without_cdn(client: httpx.Client) -> None:
    page = client.get("/console/")
    assert page.status_code == 200 and 'lang="zh-CN"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for asset in ("app.js", "common.js", "charts.js", "style.css", "task.js"):
        resp = client.get(f"/console/{asset}")
        assert resp.status_code == 200
        assert "http://" not in resp.text.replace("http://www.w3.org", "")
        assert "https://" not in resp.text
    assert client.get("/console/../main.py").status_code == 404
    assert client.get("/", follow_redirects=False).headers["location"] == "/console/"


def test_api_docs_are_served_without_cdn(client: httpx.Client) -> None:
    for page in ("/docs", "/redoc"):
        html = client.get(page)
        assert html.status_code == 200 and "/openapi.json" in html.text
        assert "https://" not in html.text and "http://" not in html.text
        for src in re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html.text):
            assert client.get(src).status_code == 200, src


def test_stream_accepts_the_login_cookie(api_server: Server) -> None:
    from tests.api.conftest import PASSWORD

    with httpx.Client(base_url=api_server.base_url, timeout=10) as c:
        login = c.post("/api/v1/auth/login", json={"username": "cg_viewer",
                                                   "password": PASSWORD})
        cookie = login.headers["set-cookie"]
        assert "HttpOnly" in cookie and "Path=/api/v1/stream" in cookie
        assert "samesite=strict" in cookie.lower()
        with c.stream("GET", "/api/v1/stream") as resp:  # no header, no query: the cookie
            assert resp.status_code == 200
            assert next(resp.iter_lines()) == "retry: 3000"
        c.post("/api/v1/auth/logout")
        assert c.get("/api/v1/stream").status_code == 401
