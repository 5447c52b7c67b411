"""The region side of the assessment: sparse sensor condition changes and reports arrive keyed
by region; per plan the region keeps a :class:`~contingency_plans.region_course.RegionCourse`
(its sensors' conditions and the reports in event time, the level tracker and its history) and
emits a :class:`Signal` when the level to announce changes, or a late notice (``late``) for a
higher level found already over (see :mod:`contingency_plans.region_course`). A timer tick
(:meth:`RegionState.tick`) evaluates the regions at the points where reports leave their
windows, so that a level raised by reports alone steps down and clears."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, Field

from anlan.events import Event, Level, Report, Signal
from anlan.registry import Registry, SensorInfo
from contingency_plans.conditions import Reports, region_leaves
from contingency_plans.evaluate import SensorAssessment, region_of
from contingency_plans.region_course import Found, RegionCourse, region_horizon
from contingency_plans.tracker import LevelTracker
from streams.plans import PlanBook


class ConditionChange(Event):
    """Internal: a sensor's condition under a plan changed (or a heartbeat), or a report
    counted by a plan, keyed by the plan's region; or a worker's timer tick for the regions of
    one partition (``tick``: ``ts`` is the worker's clock, plan and region empty)."""

    type: Literal["sensor", "report", "tick"] = "sensor"
    plan: str
    region: str
    sensor: str = ""
    kind: str = ""
    level: Level = Level.NONE
    stale: bool = False
    ts: AwareDatetime
    evidence: dict[str, Any] = Field(default_factory=dict)
    report_id: str = ""
    reporter: str = ""
    """A report's reporter: one reporter's reports count once per window."""
    revise_from: AwareDatetime | None = None
    """A re-assessment: the region drops this sensor's conditions from then on first."""
    marker: bool = False
    """Only the revision: no condition holds from ``revise_from`` but what held before."""
    received: AwareDatetime | None = None
    """When the reading (or report) reached the system: how late a crossing was found."""
    last_of_message: bool = True
    """False for all but the last change of a message for this plan and region."""
    more: list[dict[str, Any]] = Field(default_factory=list)
    """The sensor's later conditions from the same message (``t`` epoch s, ``level``,
    ``stale``, ``evidence``): a backlog or a re-assessment reaches the region as one event."""
    exercise: bool = False  # from a drill's readings: kept in the region's exercise state


def report_changes(report: Report, book: PlanBook,
                   received: datetime | None = None) -> list[ConditionChange]:
    """The plans that count reports of this kind, each with the region the report counts in
    (``received``: when the report reached the system)."""
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
                                       ts=report.ts, report_id=report.report_id,
                                       reporter=report.reporter_id, received=received))
    return out


@dataclass
class RegionState:
    """Every plan's course in one region (the ``regions`` table value)."""

    plans: dict[str, RegionCourse] = field(default_factory=dict)
    partition: int = -1
    """The partition of the region's events (the timer ticks each partition's regions)."""

    def to_dict(self) -> dict[str, Any]:
        return {"plans": {k: v.to_dict() for k, v in self.plans.items()}, "p": self.partition}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RegionState:
        return cls(plans={k: RegionCourse.from_dict(v)
                          for k, v in data.get("plans", {}).items() if "c" in v},
                   partition=int(data.get("p", -1)))

    def tick(self, region: str, now: float, registry: Registry, book: PlanBook
             ) -> list[Signal]:
        """Evaluate each plan's course at its timer points up to ``now`` (the worker's clock:
        only the upper bound; the points themselves are event times from the reports), as the
        backtest does up to the end of its data. The signals to send."""
        received = datetime.fromtimestamp(now, UTC)
        out: list[Signal] = []
        for plan_id, rc in self.plans.items():
            plan = book.plans.get(plan_id)
            if plan is None or not rc.due(plan, region, now):
                continue
            found = rc.tick(plan, region, book.members(plan, region, registry), now, now)
            out += [_signal(plan_id, region, f, received) for f in found]
        return out

    def apply(self, change: ConditionChange, registry: Registry, book: PlanBook
              ) -> list[Signal]:
        """Apply a condition change or report; return the signals to send."""
        plan = book.plans.get(change.plan)
        if plan is None or change.type == "tick":
            return []
        rc = self.plans.get(change.plan)
        if rc is None:
            horizon = max((book.horizon(k) for k in plan.kinds), default=86400.0)
            rc = self.plans[change.plan] = RegionCourse(
                LevelTracker.for_plan(plan, change.region),
                horizon_s=region_horizon(plan, horizon))
        members = book.members(plan, change.region, registry)
        t = change.ts.timestamp()
        received = None if change.received is None else change.received.timestamp()
        if change.type == "report":
            found = rc.add_report(plan, change.region, members, change.kind, t,
                                  change.report_id, received, reporter=change.reporter)
        else:
            assessment = None if change.marker else SensorAssessment(
                change.level, change.evidence, change.kind, change.stale)
            more = [(float(m["t"]), SensorAssessment(Level(m["level"]), m.get("evidence") or {},
                                                     change.kind, bool(m.get("stale"))))
                    for m in change.more]
            found = rc.add_condition(
                plan, change.region, members, change.sensor, t, assessment,
                revise_from=None if change.revise_from is None else
                change.revise_from.timestamp(),
                received=received, last_of_message=change.last_of_message, more=more)
        return [_signal(plan.id, change.region, f, change.received) for f in found]


def _signal(plan: str, region: str, found: Found, detected: datetime | None) -> Signal:
    change = found.change
    evidence = {**change.evidence, "summary": _summary(change.evidence)}
    return Signal(plan=plan, region=region, previous=change.previous, level=change.level,
                  ts=change.ts, evidence=evidence, late=found.late,
                  detected=detected or change.ts, seq=found.seq)


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
