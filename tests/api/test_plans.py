"""Plans over real HTTP: the shipped plans, one plan, validating an uploaded plan."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from contingency_plans import PLANS_DIR

pytestmark = pytest.mark.integration


def test_list_and_show_shipped_plans(as_user: Callable[[str], httpx.Client]) -> None:
    c = as_user("cg_viewer")
    listing = c.get("/api/v1/plans").json()
    assert listing["invalid"] == []
    ids = {p["id"] for p in listing["plans"]}
    assert "rainstorm" in ids
    rain = next(p for p in listing["plans"] if p["id"] == "rainstorm")
    assert rain["levels"] == ["IV", "III", "II", "I"] and rain["kinds"] == ["rain_mm"]
    full = c.get("/api/v1/plans/rainstorm").json()
    assert full["levels"]["I"]["trigger"]["gte"] == 100
    assert c.get("/api/v1/plans/no_such_plan").status_code == 404
    assert c.get("/api/v1/plans/Bad-Id").status_code == 422


def test_validate_uploaded_plan(as_user: Callable[[str], httpx.Client]) -> None:
    c = as_user("cg_officer")
    good = (Path(PLANS_DIR) / "rainstorm.yaml").read_bytes()
    ok = c.post("/api/v1/plans/validate", files={"file": ("rainstorm.yaml", good)})
    assert ok.status_code == 200 and ok.json()["valid"] is True
    assert ok.json()["plan"]["id"] == "rainstorm"
    broken = good.replace(b"gte: 100", b"gte: lots")
    bad = c.post("/api/v1/plans/validate", files={"file": ("mine.yaml", broken)}).json()
    assert bad["valid"] is False and bad["issues"]
    issue = bad["issues"][0]
    assert issue["file"] == "mine.yaml" and issue["line"] and "levels.I" in issue["path"]
    junk = c.post("/api/v1/plans/validate", files={"file": ("x.yaml", b"a: [1, 2")}).json()
    assert junk["valid"] is False and "YAML" in junk["issues"][0]["message"]
    assert c.post("/api/v1/plans/validate").status_code == 422
