"""The duty console in headless Chromium (Debian's, never downloaded at test time).

Logs in, sees a red alert appear live from the stream, acknowledges it and sees its status
change. The streams worker is not part of this test: the test reads the ``ack`` command from
Kafka and then does what the worker would — produce the ``acknowledged`` incident event and
have the store contain it (written through the store's sink code).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from anlan import topics
from anlan.events import DeadLetter, Level, Reading, Readings, Task
from anlan.settings import Settings
from tests.api.conftest import PASSWORD, Server
from tests.api.helpers import (
    alert_for,
    find_commands,
    incident,
    offer_task,
    produce,
    store_events,
)

pytestmark = pytest.mark.integration
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian chromium is not installed (apt-get install -y chromium)")


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            b.close()


def login(browser: Any, base_url: str, user: str) -> Any:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="zh-CN")
    page.errors = []  # console errors and CSP violations, checked by the tests
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("response", lambda r: page.errors.append(f"{r.status} {r.url}")
            if r.status >= 400 else None)
    page.goto(f"{base_url}/console/")
    page.fill("#login-user", user)
    page.fill("#login-pass", PASSWORD)
    page.click("#login-submit")
    expect(page.locator("#board-view")).to_be_visible()
    expect(page.locator("#live.on")).to_be_visible(timeout=10_000)  # stream open
    return page


@needs_chromium
def test_officer_sees_red_alert_live_and_acknowledges_it(
        browser: Any, api_server: Server, api_settings: Settings, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = login(browser, api_server.base_url, "cg_officer")

    # a red alert arrives: stored by the sink, announced on the alerts topic
    inc = incident("360121100001-G1", Level.I)
    alert = alert_for(inc, headline="河口村暴雨红色预警")
    store_events(api_settings.database_url, inc, alert)
    produce(api_settings, topics.ALERTS, inc.incident_id, alert)

    card = page.locator(f'li.alert[data-alert-id="{alert.alert_id}"]')
    expect(card).to_be_visible(timeout=15_000)
    expect(card).to_have_attribute("data-level", "I")
    expect(card).to_have_class("alert lvl-red st-open")
    expect(page.locator("#flash")).to_contain_text("新红色预警")
    page.screenshot(path=str(tmp_path / "board-red-alert.png"), full_page=True)

    card.locator("button.ack").click()
    (key, command), = find_commands(
        api_settings, lambda c: c.kind == "ack" and c.target == inc.incident_id)
    assert key == inc.incident_id.encode() and command.actor == "cg_officer"

    # what the streams worker would do with the command
    acked = inc.model_copy(update={"change": "acknowledged", "status": "acknowledged",
                                   "actor": command.actor,
                                   "ts": inc.ts + timedelta(seconds=30)})
    store_events(api_settings.database_url, acked)
    produce(api_settings, topics.INCIDENTS, inc.incident_id, acked)

    expect(card).to_have_attribute("data-status", "acknowledged", timeout=15_000)
    expect(card.locator(".status")).to_have_text("已确认")
    expect(card.locator("button.ack")).to_have_count(0)
    shot = tmp_path / "board-acknowledged.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    card.locator("a", has_text="详情").click()
    expect(page.locator("#incident-view")).to_be_visible()
    expect(page.locator("#timeline li")).to_have_count(3)  # opened, alert, acknowledged
    page.screenshot(path=str(tmp_path / "incident.png"), full_page=True)
    assert page.errors == [], "\n".join(page.errors)


@needs_chromium
def test_incident_evidence_chart_and_region_tree(
        browser: Any, api_server: Server, api_settings: Settings, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    now = datetime.now(UTC).replace(microsecond=0)
    readings = [Reading(sensor="rg-0102", ts=now - timedelta(minutes=5 * i), kind="rain_mm",
                        value=float(12 - i), region="360121100001-G2") for i in range(12)]
    evidence = {"sensor": "rg-0102", "kind": "rain_mm", "level": "II",
                "matched": [{"type": "window_sum", "value": 54.0, "threshold": 50.0,
                             "window": "3h"}]}
    inc = incident("360121100001-G2", Level.II, evidence=evidence)
    alert = alert_for(inc, headline="河口村暴雨橙色预警", sent=now)
    store_events(api_settings.database_url, Readings(gateway_id="gw-0001", seq=7,
                                                     received_at=now, readings=readings),
                 inc, alert, DeadLetter.of("bridge", "readings[0]: timestamp has no UTC offset",
                                           "anlan/v1/gw/bad-console-gw/readings", b"{}",
                                           key="bad-console-gw"))
    page = login(browser, api_server.base_url, "admin")
    page.goto(f"{api_server.base_url}/console/#/incident/{alert.alert_id}")
    chart = page.locator("#evidence svg.chart")
    expect(chart).to_have_count(1)
    expect(chart.locator("path.series")).to_have_count(1)
    expect(chart.locator("line.threshold")).to_have_count(1)
    expect(chart).to_contain_text("阈值 50")
    page.screenshot(path=str(tmp_path / "evidence.png"), full_page=True)

    page.goto(f"{api_server.base_url}/console/#/regions")
    grid = page.locator('#region-tree li[data-region="360121100001-G2"]').first
    expect(grid).to_have_attribute("data-worst", "II")
    county = page.locator('#region-tree li[data-region="360121"]').first
    expect(county).not_to_have_attribute("data-worst", "none")
    expect(page.locator("#gateways tr")).to_have_count(3)
    expect(page.locator("#deadletters-box")).to_be_visible()
    expect(page.locator("#deadletters")).to_contain_text("bad-console-gw")
    page.screenshot(path=str(tmp_path / "regions.png"), full_page=True)
    grid.locator("a").first.click()  # a region opens the board filtered to it
    expect(page.locator("#board-view")).to_be_visible()
    expect(page.locator("#region-filter")).to_have_value("360121100001-G2")
    expect(page.locator(f'li.alert[data-alert-id="{alert.alert_id}"]')).to_be_visible()
    expect(page.locator('li.alert[data-region]:not([data-region^="360121100001-G2"])')
           ).to_have_count(0)
    assert page.errors == [], "\n".join(page.errors)


@needs_chromium
def test_volunteer_accepts_on_a_phone(browser: Any, api_server: Server, api_settings: Settings,
                                      tmp_path: Path) -> None:
    from playwright.sync_api import expect

    task = Task(task_id=f"task-{uuid.uuid4().hex[:8]}", kind="mobilization", state="offered",
                region="360121100001-G1", title="河口村堤段装沙袋", quota=2, skills=["sandbag"],
                ts=datetime.now(UTC))
    token = offer_task(api_settings.database_url, task, "v-002")
    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True,
                             has_touch=True, locale="zh-CN")
    phone.goto(f"{api_server.base_url}/t/{token}")
    expect(phone.locator("#task-title")).to_have_text("河口村堤段装沙袋")
    expect(phone.locator("#task-state")).to_have_text("待回复")
    expect(phone.locator("#task-meta")).to_contain_text("应急动员 · 河口村第一网格")
    accept = phone.locator('button[data-action="accept"]')
    box = accept.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] >= 44  # one thumb
    phone.screenshot(path=str(tmp_path / "task-phone.png"), full_page=True)
    accept.tap()
    expect(phone.locator("#task-message")).to_have_text("已提交，谢谢！")
    (key, command), = find_commands(
        api_settings, lambda c: c.kind == "task_accept" and c.target == task.task_id)
    assert command.actor == "v-002" and key == task.task_id.encode()
