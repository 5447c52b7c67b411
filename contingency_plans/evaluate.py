"""Pure evaluation of a plan: a sensor's level from its state, a region's level from its
sensors' levels and the reports filed there. No I/O; the live streams, the backtest and the
drills all call these.

Typical use (one sensor reading arrives, then only changes go to the region)::

    state.add(ts, value)
    a = sensor_level(plan, sensor, state, now=ts, current=previous.level)
    if a.level != previous.level:            # sparse: send to the region's partition
        levels[sensor.sensor_id] = a
        r = region_level(plan, region_of(plan, sensor), levels, reports, now=ts)
        change = tracker.step(r.level, ts, r.evidence)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from anlan.events import Level
from anlan.registry import SensorInfo
from contingency_plans.compiled import NEVER, Bound, Ctx, combine_any
from contingency_plans.conditions import (
    AllOfRegion,
    AnyOfRegion,
    RegionCondition,
    Reports,
    SensorsAgree,
)
from contingency_plans.durations import format_duration
from contingency_plans.plan import Override, Plan, _apply, triggers_of
from contingency_plans.state import SensorState

ReportTime = datetime | float | tuple[datetime | float, str]
"""A report as :func:`region_level` takes it: its time, or its time and reporter id."""

_TIER_LEN = {"county": 6, "township": 9, "community": 12}


@dataclass(frozen=True, slots=True)
class SensorAssessment:
    """The level one sensor is at, with the values that put it there."""

    level: Level
    evidence: dict[str, Any] = field(default_factory=dict)
    kind: str = ""
    stale: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level.value, "evidence": self.evidence, "kind": self.kind,
                "stale": self.stale}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SensorAssessment:
        return cls(Level(data["level"]), dict(data.get("evidence") or {}),
                   str(data.get("kind", "")), bool(data.get("stale", False)))


@dataclass(frozen=True, slots=True)
class RegionAssessment:
    """The level a region is assessed at now (before hold time and quiet period)."""

    level: Level
    evidence: dict[str, Any] = field(default_factory=dict)


def region_of(plan: Plan, sensor: SensorInfo) -> str:
    """The region a sensor's readings count for under the plan's ``scope``."""
    return scope_region(plan, sensor.region)


def scope_region(plan: Plan, region: str) -> str:
    """The region a place (a sensor's or a report's region id) counts for under the plan's
    ``scope``: itself for ``sensor`` / ``grid``, else its ancestor at that tier."""
    if plan.scope in ("sensor", "grid"):
        return region
    base = region.split("-G")[0]
    want = _TIER_LEN[plan.scope]
    return base[:want] if len(base) >= want else region


# ---------------------------------------------------------------------- sensors

def sensor_level(plan: Plan, sensor: SensorInfo, state: SensorState, now: datetime | float,
                 region_override: str | Override | None = None, *,
                 current: Level = Level.NONE) -> SensorAssessment:
    """The highest level whose sensor trigger holds for ``sensor`` at event time ``now`` (an
    aware datetime or epoch seconds).

    ``current`` is the sensor's level so far: levels at or below it are left only when their
    value drops below threshold − hysteresis. ``region_override`` picks the overrides of another
    region id (or applies one :class:`Override`) instead of those of ``sensor.region``.
    """
    kind = sensor.kind
    if kind not in plan.kinds:
        return SensorAssessment(Level.NONE, {}, kind)
    if region_override is None:
        triggers, step = plan.triggers_for(sensor.region, kind)
    elif isinstance(region_override, Override):
        triggers, step = triggers_of(*_apply(plan, [region_override]), kind)
    else:
        triggers, step = plan.triggers_for(region_override, kind)
    t = now if isinstance(now, float | int) else now.timestamp()
    last = state.latest_at(t)  # as of ``t``: a re-assessment evaluates past times too
    stale = last is None or t - last[0] > step.missing_data.after
    if stale:
        base = {"sensor": sensor.sensor_id, "kind": kind, "stale": True,
                "latest_ts": last[0] if last else None}
        behaviour = step.missing_data.behaviour
        if behaviour == "hold":
            return SensorAssessment(current, base, kind, stale=True)
        if behaviour == "ignore":
            return SensorAssessment(Level.NONE, base, kind, stale=True)
    ctx = Ctx(state, sensor.attrs, t, plan.utc_offset_h * 3600.0, kind)
    current_rank = current.rank
    for level, rank, check in triggers:
        ctx.staying = rank <= current_rank
        matched: list[dict[str, Any]] = []
        if check(ctx, matched):
            return SensorAssessment(level, _base(sensor, last, stale, level=level.value,
                                                 matched=matched), kind, stale)
    if stale or last is None:
        extra = {} if last is None else {"latest": last[1]}
        return SensorAssessment(Level.NONE, _base(sensor, last, stale, **extra), kind, stale)
    return SensorAssessment(Level.NONE, {"sensor": sensor.sensor_id, "kind": kind,
                                         "latest": last[1]}, kind, False)


def sensor_bound(plan: Plan, sensor: SensorInfo, state: SensorState, now: float) -> Bound:
    """How far ``sensor``, at no level of ``plan`` at event time ``now`` (its newest reading),
    is from every trigger of the plan (see :data:`contingency_plans.compiled.Bound`): while the
    readings added after ``now`` stay within it, :func:`sensor_level` stays at no level, so it
    need not be called."""
    if sensor.kind not in plan.kinds:
        return NEVER
    ctx = Ctx(state, sensor.attrs, now, plan.utc_offset_h * 3600.0, sensor.kind)
    return combine_any([f(ctx) for f in plan.bounds_for(sensor.region, sensor.kind)])


def _base(sensor: SensorInfo, last: tuple[float, float] | None, stale: bool,
          **more: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"sensor": sensor.sensor_id, "kind": sensor.kind}
    if stale:
        base["stale"] = True
        base["latest_ts"] = last[0] if last else None
    base.update(more)
    return base


# ---------------------------------------------------------------------- regions

class _Member:
    __slots__ = ("evidence", "id", "kind", "rank", "stale")

    def __init__(self, sid: str, rank: int, kind: str, stale: bool,
                 evidence: dict[str, Any]) -> None:
        self.id, self.rank, self.kind, self.stale, self.evidence = sid, rank, kind, stale, evidence


def region_level(plan: Plan, region: str,
                 sensor_levels: Mapping[str, SensorAssessment | Level | Mapping[str, Any]],
                 report_times: Mapping[str, Sequence[ReportTime]], now: datetime
                 ) -> RegionAssessment:
    """The highest level whose region trigger holds in ``region`` at event time ``now``.

    ``sensor_levels`` maps every sensor of the region (those at no level too: they make up the
    M of "N of M") to its assessment (or its ``to_dict()``) or a bare level; ``report_times``
    maps a report kind to the reports filed in the region: their times, or ``(time,
    reporter_id)`` pairs. A ``reports`` condition counts distinct reporters within its window
    ending at ``now`` (a report without a reporter id counts on its own); older and later
    reports are ignored.
    """
    specs, step = plan.for_region(region)
    drop_stale = step.missing_data.behaviour == "ignore"
    members = [_member(sid, a) for sid, a in sensor_levels.items()]
    if drop_stale:
        members = [m for m in members if not m.stale]
    t = now.timestamp()
    reports = _Reports(report_times)
    for level in reversed(list(specs)):
        found: list[dict[str, Any]] = []
        if _region_holds(specs[level].effective_region_trigger, level, members, reports,
                         t, found):
            return RegionAssessment(level, {"region": region, "level": level.value,
                                            "matched": found})
    return RegionAssessment(Level.NONE, {"region": region})


def _member(sid: str, a: SensorAssessment | Level | Mapping[str, Any]) -> _Member:
    if isinstance(a, Mapping):  # SensorAssessment.to_dict(), e.g. from a table
        a = SensorAssessment.from_dict(a)
    if isinstance(a, SensorAssessment):
        return _Member(sid, a.level.rank, a.kind, a.stale, a.evidence)
    return _Member(sid, Level(a).rank, "", False, {})


class _Reports:
    """Reports of one call as ``(epoch seconds, reporter id)``, converted once per kind."""

    __slots__ = ("_given", "_secs")

    def __init__(self, given: Mapping[str, Sequence[ReportTime]]) -> None:
        self._given = given
        self._secs: dict[str, list[tuple[float, str]]] = {}

    def get(self, kind: str) -> list[tuple[float, str]]:
        found = self._secs.get(kind)
        if found is None:
            found = self._secs[kind] = [
                (_ts(x[0]), str(x[1] or "")) if isinstance(x, tuple | list) else (_ts(x), "")
                for x in self._given.get(kind, ())]
        return found

    def count(self, kind: str, start: float, end: float) -> int:
        """Distinct reporters of ``kind`` in ``(start, end]`` (no id: each report counts)."""
        anonymous, named = 0, set()
        for t, who in self.get(kind):
            if start < t <= end:
                if who:
                    named.add(who)
                else:
                    anonymous += 1
        return anonymous + len(named)


def _region_holds(cond: RegionCondition, level: Level, members: list[_Member],
                  reports: _Reports, t: float, found: list[dict[str, Any]]) -> bool:
    if isinstance(cond, AnyOfRegion):
        return any(_region_holds(c, level, members, reports, t, found) for c in cond.conditions)
    if isinstance(cond, AllOfRegion):
        mark = len(found)
        if all(_region_holds(c, level, members, reports, t, found) for c in cond.conditions):
            return True
        del found[mark:]
        return False
    if isinstance(cond, Reports):
        start = t - cond.within
        n = reports.count(cond.kind, start, t)
        if n >= cond.min_count:
            found.append({"type": "reports", "kind": cond.kind, "count": n,
                          "within": format_duration(cond.within)})
            return True
        return False
    return _sensors_agree(cond, level, members, found)


def _sensors_agree(cond: SensorsAgree, level: Level, members: list[_Member],
                   found: list[dict[str, Any]]) -> bool:
    kind = cond.kind
    pool = members if kind is None else [m for m in members if m.kind in ("", kind)]
    floor = Level(cond.at_level) if cond.at_level else level
    rank = floor.rank
    count = sum(1 for m in pool if m.rank >= rank)
    if not count or count < cond.min_count:
        return False
    if cond.min_fraction is not None and count < cond.min_fraction * len(pool) - 1e-9:
        return False
    at = sorted((m for m in pool if m.rank >= rank), key=lambda m: (-m.rank, m.id))
    found.append({"type": "sensors", "at_level": floor.value, "count": count,
                  "of": len(pool), "sensors": [m.id for m in at[:10]], "top": at[0].evidence})
    return True


def _ts(x: datetime | float) -> float:
    return x if isinstance(x, float | int) else x.timestamp()
