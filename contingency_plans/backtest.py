"""Backtest: run recorded readings (and reports) through a plan with exactly the functions the
live streams use, and list every level change per region.

At each distinct event time of the input (a tick) the readings of that time are added to their
sensors' states, every sensor of the plan's kinds is assessed (as the streams' timer would),
each region is aggregated and its :class:`LevelTracker` stepped.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from anlan.events import Level
from anlan.registry import Registry, SensorInfo
from contingency_plans.evaluate import (
    SensorAssessment,
    region_level,
    region_of,
    scope_region,
    sensor_level,
)
from contingency_plans.plan import Plan
from contingency_plans.state import SensorState
from contingency_plans.tracker import LevelTracker


class BacktestError(ValueError):
    """An input file of the backtest is invalid (the message names file and line)."""


@dataclass(frozen=True, slots=True)
class Reading:
    ts: datetime
    sensor: str
    kind: str
    value: float


@dataclass(frozen=True, slots=True)
class ReportIn:
    ts: datetime
    kind: str
    region: str


@dataclass(frozen=True, slots=True)
class Change:
    """A region's level changed (one line of the backtest's output)."""

    ts: datetime
    plan: str
    region: str
    previous: Level
    level: Level
    evidence: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"ts": self.ts.isoformat(), "plan": self.plan, "region": self.region,
                "level": self.level.value, "previous": self.previous.value,
                "evidence": self.evidence}


@dataclass
class BacktestResult:
    changes: list[Change] = field(default_factory=list)
    series: dict[str, list[tuple[datetime, float]]] = field(default_factory=dict)
    levels: dict[str, list[tuple[datetime, Level]]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def read_readings(path: Path | str) -> list[Reading]:
    """Readings from a CSV with columns ``ts,sensor,kind,value`` (times with an offset)."""
    out = []
    for line, row in _rows(path, ("ts", "sensor", "kind", "value")):
        value = _float(row["value"], path, line)
        out.append(Reading(_time(row["ts"], path, line), row["sensor"].strip(),
                           row["kind"].strip(), value))
    return out


def read_reports(path: Path | str) -> list[ReportIn]:
    """Reports from a CSV with columns ``ts,kind,region``."""
    return [ReportIn(_time(row["ts"], path, line), row["kind"].strip(), row["region"].strip())
            for line, row in _rows(path, ("ts", "kind", "region"))]


def _rows(path: Path | str, columns: tuple[str, ...]) -> Iterable[tuple[int, dict[str, str]]]:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise BacktestError(f"{path}: cannot read: {exc.strerror}") from None
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise BacktestError(f"{path}:1: missing column(s) {', '.join(missing)}; "
                            f"expected {','.join(columns)}")
    for row in reader:
        yield reader.line_num, row


def _time(text: str, path: Path | str, line: int) -> datetime:
    try:
        ts = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BacktestError(f"{path}:{line}: ts {text!r} is not an ISO 8601 time") from None
    if ts.tzinfo is None:
        raise BacktestError(f"{path}:{line}: ts {text!r} has no offset (e.g. +08:00)")
    return ts


def _float(text: str, path: Path | str, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise BacktestError(f"{path}:{line}: value {text!r} is not a number") from None
    if not math.isfinite(value):
        raise BacktestError(f"{path}:{line}: value {text!r} is not finite")
    return value


def run_backtest(plan: Plan, readings: Iterable[Reading], registry: Registry,
                 reports: Iterable[ReportIn] = ()) -> BacktestResult:
    """Every level change of ``plan`` per region for these readings and reports."""
    result = BacktestResult()
    sensors = {sid: s for sid, s in registry.sensors.items() if s.kind in plan.kinds}
    ticks: dict[datetime, list[Reading]] = defaultdict(list)
    for r in _usable(readings, sensors, registry, result.warnings):
        ticks[r.ts].append(r)
        result.series.setdefault(r.sensor, []).append((r.ts, r.value))
    report_times: dict[str, dict[str, list[datetime]]] = defaultdict(lambda: defaultdict(list))
    for rep in sorted(reports, key=lambda r: r.ts):
        report_times[scope_region(plan, rep.region)][rep.kind].append(rep.ts)
        ticks.setdefault(rep.ts, [])
    sim = _Simulation(plan, sensors, report_times)
    for ts in sorted(ticks):
        for r in ticks[ts]:
            sim.states[r.sensor].add(ts, r.value)
        result.changes += sim.tick(ts)
    result.levels = sim.history
    return result


def _usable(readings: Iterable[Reading], sensors: dict[str, SensorInfo], registry: Registry,
            warnings: list[str]) -> Iterable[Reading]:
    unknown: set[str] = set()
    for r in readings:
        info = sensors.get(r.sensor)
        if info is None:
            if registry.sensor(r.sensor) is None and r.sensor not in unknown:
                unknown.add(r.sensor)
                warnings.append(f"sensor {r.sensor!r} is not in the sensors file; skipped")
            continue
        if r.kind != info.kind:
            warnings.append(f"{r.ts.isoformat()} {r.sensor}: kind {r.kind!r} but the sensors "
                            f"file says {info.kind!r}; skipped")
            continue
        yield r


class _Simulation:
    """The live pipeline in one process: per-sensor states, per-region trackers."""

    def __init__(self, plan: Plan, sensors: dict[str, SensorInfo],
                 reports: dict[str, dict[str, list[datetime]]]) -> None:
        self.plan, self.sensors, self.reports = plan, sensors, reports
        self.states = {sid: SensorState.for_plans([plan], s.kind) for sid, s in sensors.items()}
        self.assessed = {sid: SensorAssessment(Level.NONE, {}, s.kind, stale=True)
                         for sid, s in sensors.items()}
        self.members: dict[str, list[str]] = defaultdict(list)
        for sid, s in sensors.items():
            self.members[region_of(plan, s)].append(sid)
        for region in reports:
            self.members.setdefault(region, [])
        self.trackers = {r: LevelTracker.for_plan(plan, r) for r in self.members}
        self.history: dict[str, list[tuple[datetime, Level]]] = {r: [] for r in self.members}

    def tick(self, ts: datetime) -> list[Change]:
        for sid, sensor in self.sensors.items():
            prev = self.assessed[sid].level
            self.assessed[sid] = sensor_level(self.plan, sensor, self.states[sid], ts,
                                              current=prev)
        changes = []
        for region, sids in self.members.items():
            assessment = region_level(self.plan, region, {s: self.assessed[s] for s in sids},
                                      self.reports.get(region, {}), ts)
            change = self.trackers[region].step(assessment.level, ts, assessment.evidence)
            if change is not None:
                changes.append(Change(ts, self.plan.id, region, change.previous, change.level,
                                      change.evidence))
                self.history[region].append((ts, change.level))
        return changes


def summarise(evidence: dict[str, Any]) -> str:
    """A one-line human summary of a change's evidence (for the table output)."""
    parts = []
    for m in evidence.get("matched", []):
        if m.get("type") == "reports":
            parts.append(f"{m['count']} {m['kind']} reports in {m['within']}")
            continue
        top = m.get("top") or {}
        leaves = ", ".join(_leaf_text(x) for x in top.get("matched", []))
        parts.append(f"{m['count']}/{m['of']} sensors ≥ {m['at_level']}"
                     + (f"; {top.get('sensor')}: {leaves}" if leaves else ""))
    reason = evidence.get("reason", "")
    return "; ".join(parts) + (f" ({reason})" if reason else "")


def _leaf_text(m: dict[str, Any]) -> str:
    span = m.get("window") or m.get("duration") or (f"{m['days']}d" if "days" in m else "")
    value = m.get("value")
    shown = f"{value:g}" if isinstance(value, float | int) else str(value)
    return f"{m['type']}{' ' + span if span else ''} {shown} ≥ {m['threshold']:g}"
