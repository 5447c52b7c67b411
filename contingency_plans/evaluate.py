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
from contingency_plans.conditions import (
    AllOfRegion,
    AllOfSensor,
    AnyOfRegion,
    AnyOfSensor,
    ConsecutiveDays,
    Held,
    Rate,
    RegionCondition,
    Reports,
    SensorCondition,
    SensorLeaf,
    SensorsAgree,
    WindowMax,
    WindowSum,
)
from contingency_plans.durations import format_duration
from contingency_plans.plan import Override, Plan
from contingency_plans.state import SensorState

_DESC = (Level.I, Level.II, Level.III, Level.IV)
EPS = 1e-9
"""Tolerance of threshold comparisons (sums of decimal amounts are not exact in binary)."""
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

def sensor_level(plan: Plan, sensor: SensorInfo, state: SensorState, now: datetime,
                 region_override: str | Override | None = None, *,
                 current: Level = Level.NONE) -> SensorAssessment:
    """The highest level whose sensor trigger holds for ``sensor`` at event time ``now``.

    ``current`` is the sensor's level so far: levels at or below it are left only when their
    value drops below threshold − hysteresis. ``region_override`` picks the overrides of another
    region id (or applies one :class:`Override`) instead of those of ``sensor.region``.
    """
    if sensor.kind not in plan.kinds:
        return SensorAssessment(Level.NONE, {}, sensor.kind)
    specs, step = _specs(plan, sensor.region, region_override)
    t = now.timestamp()
    last = state.latest()
    base: dict[str, Any] = {"sensor": sensor.sensor_id, "kind": sensor.kind}
    stale = last is None or t - last[0] > step.missing_data.after
    if stale:
        base["stale"] = True
        base["latest_ts"] = last[0] if last else None
        behaviour = step.missing_data.behaviour
        if behaviour == "hold":
            return SensorAssessment(current, base, sensor.kind, stale=True)
        if behaviour == "ignore":
            return SensorAssessment(Level.NONE, base, sensor.kind, stale=True)
    ctx = _Ctx(state, sensor.attrs, t, plan.utc_offset_h * 3600.0, sensor.kind)
    for level in _DESC:
        spec = specs.get(level)
        if spec is None or spec.trigger is None:
            continue
        ctx.staying = level.rank <= current.rank
        matched: list[dict[str, Any]] = []
        if _holds(spec.trigger, ctx, matched):
            base.update(level=level.value, matched=matched)
            return SensorAssessment(level, base, sensor.kind, stale)
    if last is not None:
        base["latest"] = last[1]
    return SensorAssessment(Level.NONE, base, sensor.kind, stale)


def _specs(plan: Plan, region: str, override: str | Override | None) -> tuple[Any, Any]:
    if isinstance(override, Override):
        from contingency_plans.plan import _apply
        return _apply(plan, [override])
    return plan.for_region(override if isinstance(override, str) else region)


class _Ctx:
    """Per-call memo of the window values of one sensor."""

    __slots__ = ("attrs", "kind", "memo", "offset", "state", "staying", "t")

    def __init__(self, state: SensorState, attrs: dict[str, Any], t: float, offset: float,
                 kind: str) -> None:
        self.state, self.attrs, self.t, self.offset, self.kind = state, attrs, t, offset, kind
        self.staying = False
        self.memo: dict[tuple[str, float], Any] = {}

    def value(self, leaf: SensorLeaf) -> Any:
        if leaf.type in ("latest", "held"):
            last = self.state.latest()
            return None if last is None else last[1]
        span = leaf.days if isinstance(leaf, ConsecutiveDays) else leaf.window  # type: ignore[union-attr]
        key = (leaf.type, float(span))
        memo = self.memo
        if key not in memo:
            memo[key] = self._compute(leaf.type, span)
        return memo[key]

    def _compute(self, type_: str, span: float) -> Any:
        s = self.state
        if type_ == "window_sum":
            return s.window_sum(self.t, span)
        if type_ == "window_max":
            return s.window_max(self.t, span)
        if type_ == "rate":
            return s.rate_per_hour(self.t, span)
        return s.daily_max(self.t, int(span), self.offset)


def _holds(cond: SensorCondition, ctx: _Ctx, matched: list[dict[str, Any]]) -> bool:
    kind = cond.type
    if kind == "any":
        assert isinstance(cond, AnyOfSensor)
        return any(_holds(c, ctx, matched) for c in cond.conditions)
    if kind == "all":
        assert isinstance(cond, AllOfSensor)
        mark = len(matched)
        if all(_holds(c, ctx, matched) for c in cond.conditions):
            return True
        del matched[mark:]
        return False
    return _leaf_holds(cond, ctx, matched)  # type: ignore[arg-type]


def _leaf_holds(leaf: SensorLeaf, ctx: _Ctx, matched: list[dict[str, Any]]) -> bool:
    if leaf.kind != ctx.kind:
        return False
    threshold = leaf.threshold(ctx.attrs)
    if threshold is None:
        return False
    if ctx.staying:
        threshold -= leaf.hysteresis
    value = ctx.value(leaf)
    if leaf.type == "held":
        assert isinstance(leaf, Held)
        ok = ctx.state.held_at_least(threshold, ctx.t, leaf.duration)
    elif leaf.type == "consecutive_days":
        ok = all(v is not None and v >= threshold - EPS for v in value)
        value = None if None in value else min(value)
    else:
        ok = value is not None and value >= threshold - EPS
    if ok:
        matched.append(_describe(leaf, value, threshold))
    return ok


def _describe(leaf: SensorLeaf, value: Any, threshold: float) -> dict[str, Any]:
    out: dict[str, Any] = {"type": leaf.type, "value": _round(value), "threshold":
                           _round(threshold)}
    if isinstance(leaf, WindowSum | WindowMax | Rate):
        out["window"] = format_duration(leaf.window)
    elif isinstance(leaf, Held):
        out["duration"] = format_duration(leaf.duration)
    elif isinstance(leaf, ConsecutiveDays):
        out["days"] = leaf.days
    if leaf.gte_attr:
        out["attr"] = leaf.gte_attr
    return out


def _round(x: Any) -> Any:
    return round(x, 3) if isinstance(x, float) else x


# ---------------------------------------------------------------------- regions

@dataclass(frozen=True, slots=True)
class _Member:
    id: str
    level: Level
    kind: str
    stale: bool
    evidence: dict[str, Any]


def region_level(plan: Plan, region: str,
                 sensor_levels: Mapping[str, SensorAssessment | Level],
                 report_times: Mapping[str, Sequence[datetime]], now: datetime
                 ) -> RegionAssessment:
    """The highest level whose region trigger holds in ``region`` at event time ``now``.

    ``sensor_levels`` maps every sensor of the region (those at no level too: they make up the
    M of "N of M") to its assessment or bare level; ``report_times`` maps a report kind to the
    times of the reports filed in the region (older ones are ignored).
    """
    specs, step = plan.for_region(region)
    drop_stale = step.missing_data.behaviour == "ignore"
    members = [_member(sid, a) for sid, a in sensor_levels.items()]
    if drop_stale:
        members = [m for m in members if not m.stale]
    t = now.timestamp()
    for level in reversed(list(specs)):
        found: list[dict[str, Any]] = []
        if _region_holds(specs[level].effective_region_trigger, level, members, report_times,
                         t, found):
            return RegionAssessment(level, {"region": region, "level": level.value,
                                            "matched": found})
    return RegionAssessment(Level.NONE, {"region": region})


def _member(sid: str, a: SensorAssessment | Level) -> _Member:
    if isinstance(a, SensorAssessment):
        return _Member(sid, a.level, a.kind, a.stale, a.evidence)
    return _Member(sid, Level(a), "", False, {})


def _region_holds(cond: RegionCondition, level: Level, members: list[_Member],
                  reports: Mapping[str, Sequence[datetime]], t: float,
                  found: list[dict[str, Any]]) -> bool:
    if isinstance(cond, AnyOfRegion):
        return any(_region_holds(c, level, members, reports, t, found) for c in cond.conditions)
    if isinstance(cond, AllOfRegion):
        mark = len(found)
        if all(_region_holds(c, level, members, reports, t, found) for c in cond.conditions):
            return True
        del found[mark:]
        return False
    if isinstance(cond, Reports):
        times = reports.get(cond.kind, ())
        n = sum(1 for r in times if t - cond.within < _ts(r) <= t)
        if n >= cond.min_count:
            found.append({"type": "reports", "kind": cond.kind, "count": n,
                          "within": format_duration(cond.within)})
            return True
        return False
    return _sensors_agree(cond, level, members, found)


def _sensors_agree(cond: SensorsAgree, level: Level, members: list[_Member],
                   found: list[dict[str, Any]]) -> bool:
    pool = [m for m in members if cond.kind is None or m.kind in ("", cond.kind)]
    floor = Level(cond.at_level) if cond.at_level else level
    at = sorted((m for m in pool if m.level >= floor), key=lambda m: (-m.level.rank, m.id))
    if not at or len(at) < cond.min_count:
        return False
    if cond.min_fraction is not None and len(at) < cond.min_fraction * len(pool) - 1e-9:
        return False
    found.append({"type": "sensors", "at_level": floor.value, "count": len(at), "of": len(pool),
                  "sensors": [m.id for m in at[:10]], "top": at[0].evidence})
    return True


def _ts(x: datetime | float) -> float:
    return x if isinstance(x, float | int) else x.timestamp()
