"""The region side of the assessment: sparse sensor condition changes and reports arrive keyed
by region; per plan the region keeps its sensors' latest assessments, the recent reports and the
plan's :class:`~contingency_plans.tracker.LevelTracker`, and emits a :class:`Signal` only when
the tracked level changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, Field

from anlan.events import Event, Level, Report, Signal
from anlan.registry import Registry, SensorInfo
from contingency_plans.conditions import Reports, region_leaves
from contingency_plans.evaluate import SensorAssessment, region_level, region_of
from contingency_plans.tracker import LevelTracker
from streams.plans import PlanBook

MAX_REPORT_IDS = 512


class ConditionChange(Event):
    """Internal: a sensor's condition under a plan changed (or a heartbeat), or a report
    counted by a plan, keyed by the plan's region."""

    type: Literal["sensor", "report"] = "sensor"
    plan: str
    region: str
    sensor: str = ""
    kind: str = ""
    level: Level = Level.NONE
    stale: bool = False
    ts: AwareDatetime
    evidence: dict[str, Any] = Field(default_factory=dict)
    report_id: str = ""
    exercise: bool = False  # from a drill's readings: kept in the region's exercise state


def report_changes(report: Report, book: PlanBook) -> list[ConditionChange]:
    """The plans that count reports of this kind, each with the region the report counts in."""
    out: list[ConditionChange] = []
    if not report.region:
        return out
    probe = SensorInfo(kind=report.kind, region=report.region)
    for plan in book.plans.values():
        kinds = {leaf.kind for spec in plan.for_region(report.region)[0].values()
                 for leaf in region_leaves(spec.effective_region_trigger)
                 if isinstance(leaf, Reports)}
        if report.kind in kinds:
            out.append(ConditionChange(type="report", plan=plan.id,
                                       region=region_of(plan, probe), kind=report.kind,
                                       ts=report.ts, report_id=report.report_id))
    return out


@dataclass
class PlanRegion:
    """One plan in one region."""

    tracker: LevelTracker
    sensors: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → assessment + ts
    reports: dict[str, list[float]] = field(default_factory=dict)  # kind → times
    report_ids: list[str] = field(default_factory=list)
    now: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"t": self.tracker.to_dict(), "s": self.sensors, "r": self.reports,
                "ri": self.report_ids, "n": self.now}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlanRegion:
        return cls(tracker=LevelTracker.from_dict(data["t"]), sensors=dict(data["s"]),
                   reports={k: list(v) for k, v in data["r"].items()},
                   report_ids=list(data.get("ri", [])), now=float(data.get("n", 0.0)))


@dataclass
class RegionState:
    """Every plan's view of one region (the ``regions`` table value)."""

    plans: dict[str, PlanRegion] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"plans": {k: v.to_dict() for k, v in self.plans.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RegionState:
        return cls(plans={k: PlanRegion.from_dict(v) for k, v in data.get("plans", {}).items()})

    def apply(self, change: ConditionChange, registry: Registry, book: PlanBook
              ) -> list[Signal]:
        """Apply a condition change or report; return the signal when the level changed."""
        plan = book.plans.get(change.plan)
        if plan is None:
            return []
        pr = self.plans.get(change.plan)
        if pr is None:
            pr = self.plans[change.plan] = PlanRegion(LevelTracker.for_plan(plan, change.region))
        t = change.ts.timestamp()
        if change.type == "report":
            if change.report_id in pr.report_ids:
                return []
            pr.report_ids.append(change.report_id)
            del pr.report_ids[:-MAX_REPORT_IDS]
            pr.reports.setdefault(change.kind, []).append(t)
        else:
            known = pr.sensors.get(change.sensor)
            if known is not None and t < known["ts"]:
                return []  # an older condition of this sensor (a replay)
            pr.sensors[change.sensor] = {"ts": t, **SensorAssessment(
                change.level, change.evidence, change.kind, change.stale).to_dict()}
        pr.now = max(pr.now, t)
        return _evaluate(plan, change.region, pr, registry, book)


def _evaluate(plan: Any, region: str, pr: PlanRegion, registry: Registry, book: PlanBook
              ) -> list[Signal]:
    now = datetime.fromtimestamp(pr.now, UTC)
    _evict_reports(plan, region, pr)
    levels: dict[str, SensorAssessment] = {
        sid: SensorAssessment(Level.NONE, {}, kind)
        for sid, kind in book.members(plan, region, registry).items()}
    for sid, data in pr.sensors.items():
        levels[sid] = SensorAssessment.from_dict(data)
    reports = {k: [datetime.fromtimestamp(x, UTC) for x in v]
               for k, v in pr.reports.items()}
    assessed = region_level(plan, region, levels, reports, now)
    change = pr.tracker.step(assessed.level, now, assessed.evidence)
    if change is None:
        return []
    evidence = {**change.evidence, "summary": _summary(change.evidence)}
    return [Signal(plan=plan.id, region=region, previous=change.previous, level=change.level,
                   ts=change.ts, evidence=evidence)]


def _evict_reports(plan: Any, region: str, pr: PlanRegion) -> None:
    spans = [leaf.within for spec in plan.for_region(region)[0].values()
             for leaf in region_leaves(spec.effective_region_trigger)
             if isinstance(leaf, Reports)]
    keep = max(spans, default=0.0)
    for kind, times in pr.reports.items():
        pr.reports[kind] = [x for x in times if pr.now - x <= keep]


def _summary(evidence: dict[str, Any]) -> str:
    """A one-line human summary of the evidence (for alert descriptions)."""
    parts: list[str] = []
    for m in evidence.get("matched", []):
        if m.get("type") == "reports":
            parts.append(f"{m['within']}内{m['kind']}报告{m['count']}条")
            continue
        top = m.get("top") or {}
        for leaf in top.get("matched", [])[:1]:
            window = leaf.get("window") or leaf.get("duration") or ""
            parts.append(f"{top.get('sensor', '')} {leaf.get('type')} {window} "
                         f"{leaf.get('value')} ≥ {leaf.get('threshold')}".replace("  ", " "))
        if m.get("count", 0) > 1:
            parts.append(f"{m['count']}/{m['of']}个传感器达到该级别")
    return "；".join(parts)
