"""Shared builders for the alerts tests (no I/O)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alerts.directory import Directory, RegionTree, read_file
from anlan.events import Alert, Level, Task
from anlan.settings import DEMO_DIR

DEMO_FILE = Path(DEMO_DIR) / "directory.yaml"
# 10:00 Beijing on a Wednesday: the day shift of the county is on duty
DAY = datetime(2026, 7, 22, 2, 0, tzinfo=UTC)
NIGHT = datetime(2026, 7, 22, 14, 0, tzinfo=UTC)  # 22:00 Beijing
GRID = "360121100001-G1"


def demo() -> tuple[Directory, RegionTree]:
    d = read_file(DEMO_FILE)
    return d, RegionTree(d)


def alert(**kw: Any) -> Alert:
    base: dict[str, Any] = {
        "alert_id": f"al-{uuid.uuid4().hex[:10]}", "incident_id": f"inc-{uuid.uuid4().hex[:8]}",
        "msg_type": "Alert", "plan": "rainstorm", "hazard": "rainstorm", "region": GRID,
        "level": Level.II, "sent": DAY, "headline": "3小时降雨量已达50毫米以上",
        "description": "河口村第一网格降雨持续", "instruction": "转移低洼地带人员",
        "notify": [{"role": "duty_officer", "tier": "township"},
                   {"role": "grid_worker", "tier": "grid"}],
        "ack_timeout_s": 600}
    base.update(kw)
    return Alert(**base)


def task(**kw: Any) -> Task:
    base: dict[str, Any] = {
        "task_id": f"task-{uuid.uuid4().hex[:8]}", "incident_id": f"inc-{uuid.uuid4().hex[:8]}",
        "kind": "mobilization", "state": "open", "region": GRID, "title": "沙袋加固河堤",
        "quota": 2, "skills": ["sandbag"], "ts": DAY}
    base.update(kw)
    return Task(**base)
