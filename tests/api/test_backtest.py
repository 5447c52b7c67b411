"""Backtests over real HTTP: uploaded CSV against a shipped plan, and stored readings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from anlan.events import Reading, Readings
from contingency_plans import PLANS_DIR
from tests.api.helpers import store_events

pytestmark = pytest.mark.integration
EXAMPLE = Path(PLANS_DIR).parent / "examples" / "rainstorm_readings.csv"


def demo_readings() -> bytes:
    """The plans' rainstorm example, on the demo registry's gauges of 河口村 (same grids)."""
    return EXAMPLE.read_bytes().replace(b"rg-9001", b"rg-0101").replace(b"rg-9002", b"rg-0102")


def test_backtest_uploaded_readings(as_user: Callable[[str], httpx.Client]) -> None:
    c = as_user("cg_officer")
    resp = c.post("/api/v1/plans/backtest", data={"plan_id": "rainstorm"},
                  files={"readings": ("storm.csv", demo_readings(), "text/csv")})
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["plan"] == "rainstorm" and out["readings"] == 288
    assert out["worst"]["360121100001-G1"] == "I"  # the storm's core: blue → … → red
    levels = [ch["level"] for ch in out["changes"] if ch["region"] == "360121100001-G1"]
    assert levels[:4] == ["IV", "III", "II", "I"]
    assert out["worst"]["360121100001-G2"] == "IV"  # its edge


def test_backtest_uploaded_plan_and_errors(as_user: Callable[[str], httpx.Client]) -> None:
    c = as_user("cg_officer")
    plan = (Path(PLANS_DIR) / "rainstorm.yaml").read_bytes()
    ok = c.post("/api/v1/plans/backtest", files={"readings": ("r.csv", demo_readings()),
                                                 "plan": ("mine.yaml", plan)})
    assert ok.status_code == 200 and ok.json()["worst"]["360121100001-G1"] == "I"
    bad_csv = b"ts,sensor,kind,value\n2026-07-20T00:10:00,rg-0101,rain_mm,1\n"
    bad = c.post("/api/v1/plans/backtest", data={"plan_id": "rainstorm"},
                 files={"readings": ("r.csv", bad_csv)})
    assert bad.status_code == 422 and "readings.csv:2: ts" in bad.json()["detail"][0]["msg"]
    both = c.post("/api/v1/plans/backtest", data={"plan_id": "rainstorm"},
                  files={"readings": ("r.csv", demo_readings()), "plan": ("p.yaml", plan)})
    assert both.status_code == 422
    broken = c.post("/api/v1/plans/backtest", files={"readings": ("r.csv", demo_readings()),
                                                     "plan": ("p.yaml", b"id: 1")})
    assert broken.status_code == 422
    assert c.post("/api/v1/plans/backtest", data={"plan_id": "nope"},
                  files={"readings": ("r.csv", demo_readings())}).status_code == 404
    assert as_user("cg_viewer").post("/api/v1/plans/backtest", data={"plan_id": "rainstorm"},
                                     files={"readings": ("r.csv", b"")}).status_code == 403


def test_backtest_stored_readings(as_user: Callable[[str], httpx.Client],
                                  seeded_db: str) -> None:
    start = datetime(2026, 6, 1, tzinfo=UTC)
    readings = [Reading(sensor="rg-0301", ts=start + timedelta(minutes=10 * i), kind="rain_mm",
                        value=8.0, region="360121101001-G1") for i in range(36)]  # 288 mm / 6 h
    store_events(seeded_db, Readings(gateway_id="gw-0003", seq=1, received_at=start,
                                     readings=readings))
    body = {"since": start.isoformat(), "until": (start + timedelta(hours=7)).isoformat()}
    resp = as_user("hk_officer").post("/api/v1/plans/rainstorm/backtest", json=body)
    assert resp.status_code == 200, resp.text
    assert resp.json()["readings"] == 36 and resp.json()["worst"]["360121101001-G1"] == "I"
    mine = as_user("cg_officer").post("/api/v1/plans/rainstorm/backtest", json=body).json()
    assert mine["readings"] == 0 and mine["worst"] == {}  # not their township
    outside = as_user("cg_officer").post("/api/v1/plans/rainstorm/backtest",
                                         json={**body, "region": "360121101"})
    assert outside.status_code == 403
    backwards = as_user("hk_officer").post("/api/v1/plans/rainstorm/backtest",
                                           json={"since": body["until"], "until": body["since"]})
    assert backwards.status_code == 422
    naive = as_user("hk_officer").post("/api/v1/plans/rainstorm/backtest",
                                       json={"since": "2026-06-01T00:00:00", "until": body["until"]})
    assert naive.status_code == 422 and naive.json()["detail"][0]["loc"] == ["body", "since"]
