"""GET /api/v1/deadletters over real HTTP on the real store."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest

from anlan.events import DeadLetter
from tests.api.helpers import store_events

pytestmark = pytest.mark.integration


def test_deadletters_newest_first_with_reason_and_original(
        as_user: Callable[[str], httpx.Client], seeded_db: str) -> None:
    gw = f"gw-dl-{uuid.uuid4().hex[:6]}"
    bad = b'{"seq": 1, "readings": [{"sensor": "x", "ts": "2026-07-20T08:00:00"}]}'
    older = DeadLetter.of("bridge", "not valid JSON: Expecting value", "anlan/v1/gw/x/readings",
                          b"\xff\xfenot json", key=gw)
    newer = DeadLetter.of("bridge", "readings[0]: timestamp has no UTC offset",
                          f"anlan/v1/gw/{gw}/readings", bad, key=gw)
    newer = newer.model_copy(update={"at": older.at + timedelta(seconds=1)})
    store_events(seeded_db, older, newer)

    rows = as_user("cg_officer").get("/api/v1/deadletters", params={"key": gw}).json()
    assert [r["reason"] for r in rows] == [newer.reason, older.reason]
    assert rows[0]["original_text"] == bad.decode() and rows[0]["original_size"] == len(bad)
    assert base64.b64decode(rows[1]["original_b64"]) == b"\xff\xfenot json"
    assert "\ufffd" in rows[1]["original_text"]  # undecodable bytes shown, not an error

    only = as_user("admin").get("/api/v1/deadletters",
                                params={"key": gw, "stage": "validate"}).json()
    assert only == []


def test_deadletters_need_a_role_that_fixes_data(as_user: Callable[[str], httpx.Client],
                                                 client: httpx.Client) -> None:
    assert as_user("cg_viewer").get("/api/v1/deadletters").status_code == 403
    assert client.get("/api/v1/deadletters").status_code == 401
    assert as_user("admin").get("/api/v1/deadletters", params={"limit": 0}).status_code == 422
