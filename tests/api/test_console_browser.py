"""The duty console in headless Chromium (Debian's, never downloaded at test time).

Logs in, sees a red alert appear live from the stream, acknowledges it and sees its status
change. The streams worker is not part of this test: the test reads the ``ack`` command from
Kafka and then does what the worker would — produce the ``acknowledged`` incident event and
have the store contain it (written through the store's sink code).
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from anlan import topics
from anlan.events import Level
from anlan.settings import Settings
from tests.api.conftest import PASSWORD, Server
from tests.api.helpers import alert_for, find_commands, incident, produce, store_events

pytestmark = pytest.mark.integration
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.skipif(not CHROMIUM.exists() and shutil.which("chromium") is None,
                    reason="Debian chromium is not installed (apt-get install -y chromium)")
def test_officer_sees_red_alert_live_and_acknowledges_it(
        api_server: Server, api_settings: Settings, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="zh-CN")
            page.goto(f"{api_server.base_url}/console/")
            page.fill("#login-user", "cg_officer")
            page.fill("#login-pass", PASSWORD)
            page.click("#login-submit")
            expect(page.locator("#board-view")).to_be_visible()
            expect(page.locator("#live.on")).to_be_visible(timeout=10_000)  # stream open

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
        finally:
            browser.close()
