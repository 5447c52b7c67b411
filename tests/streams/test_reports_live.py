"""Reports through a real worker on the tansu broker: distinct reporters per window, and a level
raised by reports alone cleared by the worker's region tick once the reports leave their window
(no other input arrives)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from anlan import topics
from anlan.events import Level, Report, Signal
from anlan.settings import Settings
from tests.contingency_plans.helpers import plan_yaml
from tests.streams.harness import Child, collect, produce, run, unique_registry

pytestmark = pytest.mark.integration

GRID = "360121100001-G1"


def reports_plan_dir(tmp: Path) -> Path:
    folder = tmp / "plans"
    folder.mkdir(parents=True, exist_ok=True)
    text = plan_yaml(
        {"IV": "region_trigger: {type: reports, kind: waterlogging, min_count: 3, within: 60s}"},
        extra="scope: grid", step_down="{hold: 1s, quiet: 1s, missing_data: {after: 30m}}")
    (folder / "test.yaml").write_text(text.replace("id: test", "id: reports_test"),
                                      encoding="utf-8")
    return folder


def signals_of(values: list[bytes]) -> list[Signal]:
    return [s for s in (Signal.from_bytes(v) for v in values) if s.plan == "reports_test"]


def test_distinct_reporters_raise_and_the_region_tick_clears(
        make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    sensors, _ = unique_registry(tmp_path)
    settings = make_settings(plans_dir=reports_plan_dir(tmp_path), sensors_file=sensors)
    worker = Child("worker", settings, tmp_path).start(wait=False)
    try:
        worker.wait_ready()
        t = datetime.now(UTC).replace(microsecond=0)
        filed = [(0, "p1"), (1, "p1"), (2, "p1"), (3, "p2"), (4, "p3")]
        run(produce(settings, [
            (topics.REPORTS_RAW, GRID, Report(
                report_id=uuid.uuid4().hex, reporter_id=who, kind="waterlogging", region=GRID,
                ts=t + timedelta(seconds=s), source="http").to_bytes())
            for s, who in filed]))
        values = run(collect(settings, topics.SIGNALS,
                             lambda v: any(s.level is Level.NONE for s in signals_of(v)),
                             timeout=180))
    finally:
        worker.stop()
    got = [(s.previous, s.level, s.ts) for s in signals_of(values)]
    # p1's three reports count once: IV only with p3's report (+4 s). The timer points are
    # each report's time + 60 s + 1 s: at +61 s p1 (+1, +2), p2 and p3 are still within 60 s
    # (IV); at +62 s p1's are out (quiet 1 s after +61: cleared)
    assert got == [(Level.NONE, Level.IV, t + timedelta(seconds=4)),
                   (Level.IV, Level.NONE, t + timedelta(seconds=62))]
