"""Backtest: run recorded readings (and reports) through a plan with exactly the code the live
streams use, and list every level change per region.

The readings are sorted by event time and go, one by one, through the live validation
(:mod:`anlan.quality`: a negative rain value is rejected in both, with the same reason), each
sensor's course (:mod:`contingency_plans.course`: assessed at each of its reading times) and each
region's course (:mod:`contingency_plans.region_course`: evaluated at each condition and report
time and where reports leave their windows, the level tracker's hold and quiet), up to the end
of the data. Live = backtest: the live workers reach the same
levels at the same event times whatever order the data arrive in.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from anlan.events import Level, RawReading, RawReadings
from anlan.quality import SensorMemory, validate_message
from anlan.registry import Registry, SensorInfo
from contingency_plans import course
from contingency_plans.course import Condition
from contingency_plans.evaluate import SensorAssessment, region_of, scope_region
from contingency_plans.plan import Plan
from contingency_plans.region_course import RegionCourse
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
    reporter: str = ""
    """Who filed it: a reporter's reports count once per window ("" counts on its own)."""


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


def read_readings(path: Path | str, problems: list[str] | None = None) -> list[Reading]:
    """Readings from a CSV with columns ``ts,sensor,kind,value`` (times with an offset).

    A malformed row is appended to ``problems`` (file:line: what) and skipped; without a
    ``problems`` list it raises :class:`BacktestError`."""
    out = []
    for line, row in _rows(path, ("ts", "sensor", "kind", "value")):
        try:
            out.append(Reading(_time(row["ts"], path, line), (row["sensor"] or "").strip(),
                               (row["kind"] or "").strip(), _float(row["value"], path, line)))
        except BacktestError as exc:
            if problems is None:
                raise
            problems.append(f"{exc}; row skipped")
    return out


def read_reports(path: Path | str, problems: list[str] | None = None) -> list[ReportIn]:
    """Reports from a CSV with columns ``ts,kind,region`` and optionally ``reporter`` (rows
    without one count as distinct reporters; malformed rows as for readings)."""
    out = []
    for line, row in _rows(path, ("ts", "kind", "region")):
        try:
            out.append(ReportIn(_time(row["ts"], path, line), (row["kind"] or "").strip(),
                                (row["region"] or "").strip(),
                                (row.get("reporter") or "").strip()))
        except BacktestError as exc:
            if problems is None:
                raise
            problems.append(f"{exc}; row skipped")
    return out


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


def _time(text: str | None, path: Path | str, line: int) -> datetime:
    try:
        ts = datetime.fromisoformat((text or "").strip())
    except ValueError:
        raise BacktestError(f"{path}:{line}: ts {text!r} is not an ISO 8601 time") from None
    if ts.tzinfo is None:
        raise BacktestError(f"{path}:{line}: ts {text!r} has no offset (e.g. +08:00)")
    return ts


def _float(text: str | None, path: Path | str, line: int) -> float:
    try:
        value = float(text or "")
    except ValueError:
        raise BacktestError(f"{path}:{line}: value {text!r} is not a number") from None
    if not math.isfinite(value):
        raise BacktestError(f"{path}:{line}: value {text!r} is not finite")
    return value


def run_backtest(plan: Plan, readings: Iterable[Reading], registry: Registry,
                 reports: Iterable[ReportIn] = (), until: datetime | None = None
                 ) -> BacktestResult:
    """Every level change of ``plan`` per region for these readings and reports, up to
    ``until`` (default: the newest input; silent sensors are assessed up to then, as the
    live timer assesses them up to its tick)."""
    result = BacktestResult()
    sensors = {sid: s for sid, s in registry.sensors.items() if s.kind in plan.kinds}
    inputs: list[tuple[datetime, int, Reading | ReportIn]] = [
        (r.ts, 0, r) for r in _usable(readings, sensors, registry, result.warnings)]
    inputs += [(rep.ts, 1, rep) for rep in reports]
    inputs.sort(key=lambda x: (x[0], x[1]))
    sim = _Simulation(plan, sensors, registry)
    for _, _, item in inputs:
        if isinstance(item, Reading):
            problem = sim.reading(item)
            if problem:
                result.warnings.append(problem)
            else:
                result.series.setdefault(item.sensor, []).append((item.ts, item.value))
        else:
            sim.report(item)
    end = until or (inputs[-1][0] if inputs else None)
    if end is not None:
        sim.finish(end.timestamp())
    local = timezone(timedelta(hours=plan.utc_offset_h))  # times shown as the plan's local
    for region, rc in sorted(sim.regions.items()):
        steps = [(datetime.fromtimestamp(h[0], local), Level(h[1]), Level(h[2]), h[3])
                 for h in rc.history]
        result.changes += [Change(ts, plan.id, region, prev, level, evidence)
                           for ts, prev, level, evidence in steps]
        result.levels[region] = [(ts, level) for ts, _, level, _ in steps]
    result.changes.sort(key=lambda c: (c.ts, c.region))
    return result


def _usable(readings: Iterable[Reading], sensors: dict[str, SensorInfo], registry: Registry,
            warnings: list[str]) -> Iterable[Reading]:
    unknown: set[str] = set()
    for r in readings:
        if r.sensor not in sensors and registry.sensor(r.sensor) is None:
            if r.sensor not in unknown:
                unknown.add(r.sensor)
                warnings.append(f"sensor {r.sensor!r} is not in the sensors file; skipped")
            continue
        if r.sensor in sensors:
            yield r


class _Simulation:
    """The live pipeline in one process, fed in event-time order: validation, sensor courses,
    region courses (nothing is forgotten: the horizon is unbounded)."""

    def __init__(self, plan: Plan, sensors: dict[str, SensorInfo], registry: Registry) -> None:
        self.plan, self.sensors, self.registry = plan, sensors, registry
        self.memory: dict[str, SensorMemory] = {}
        self.states = {sid: SensorState.for_plans([plan], s.kind) for sid, s in sensors.items()}
        self.conditions = {sid: Condition() for sid in sensors}
        self.members: dict[str, dict[str, str]] = defaultdict(dict)
        for sid, s in sensors.items():
            self.members[region_of(plan, s)][sid] = s.kind
        self.regions: dict[str, RegionCourse] = {}

    def _region(self, region: str) -> RegionCourse:
        found = self.regions.get(region)
        if found is None:
            found = self.regions[region] = RegionCourse(
                LevelTracker.for_plan(self.plan, region), horizon_s=math.inf)
        return found

    def reading(self, r: Reading) -> str | None:
        """Validate and assess one reading; the reason when it is rejected."""
        info = self.sensors[r.sensor]
        msg = RawReadings(gateway_id=info.gateway_id or "backtest",
                          mqtt_topic=f"anlan/v1/gw/{info.gateway_id}/readings",
                          received_at=r.ts, seq=0,
                          readings=[RawReading(sensor=r.sensor, ts=r.ts, kind=r.kind,
                                               value=r.value)])
        checked = validate_message(msg, self.registry, self.memory,
                                   lambda kind: math.inf)
        if checked.rejected:
            return f"{r.ts.isoformat()} {r.sensor}: {checked.rejected[0].reason}; skipped"
        if not checked.readings:
            return None  # a duplicate of an earlier row
        t = r.ts.timestamp()
        if checked.assessable:
            self.states[r.sensor].add(t, r.value)
        self._tell(r.sensor, course.run(self.plan, info, self.states[r.sensor],
                                        self.conditions[r.sensor], [t], horizon_s=math.inf))
        return None

    def _tell(self, sensor: str, sent: list[course.Sent]) -> None:
        info = self.sensors[sensor]
        region = region_of(self.plan, info)
        for c in sent:
            self._region(region).add_condition(
                self.plan, region, self.members[region], sensor, c.t,
                SensorAssessment(c.level, c.evidence, info.kind, c.stale))

    def finish(self, until: float) -> None:
        """The silence points of every sensor and the timer points of every region (reports
        leaving their windows) up to the end of the data, as the live timers assess them up to
        their ticks."""
        for sid, info in self.sensors.items():
            if self.conditions[sid].reading is not None:
                self._tell(sid, course.run(self.plan, info, self.states[sid],
                                           self.conditions[sid], [], until=until,
                                           horizon_s=math.inf))
        for region, rc in self.regions.items():
            rc.tick(self.plan, region, self.members.get(region, {}), until)

    def report(self, rep: ReportIn) -> None:
        region = scope_region(self.plan, rep.region)
        self._region(region).add_report(self.plan, region, self.members.get(region, {}),
                                        rep.kind, rep.ts.timestamp(),
                                        f"{rep.ts.isoformat()}|{rep.kind}|{rep.region}|"
                                        f"{rep.reporter}", reporter=rep.reporter)


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
