"""The level of one plan in one region over time (pure state machine, serialisable).

- A higher assessed level is taken at once.
- A level is left only when it has not been assessed for ``hold`` (so at least ``hold`` after
  it was entered); the region then drops to the highest level assessed within ``hold``.
- The plan's lowest level in the region (IV, or III where there is no blue) clears to no level
  only after ``quiet`` with no level assessed at all. Only levels the plan has are taken.
Hysteresis (a lower threshold to leave a level) is applied before, when sensors are assessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from anlan.events import Level
from contingency_plans.plan import Plan


@dataclass(frozen=True, slots=True)
class LevelChange:
    """A region's level changed at event time ``ts``."""

    previous: Level
    level: Level
    ts: datetime
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"previous": self.previous.value, "level": self.level.value,
                "ts": self.ts.isoformat(), "evidence": self.evidence}


class LevelTracker:
    """See the module docstring. ``step`` returns a :class:`LevelChange` only on a change."""

    __slots__ = ("_seen", "hold_s", "level", "levels", "quiet_s", "since")

    def __init__(self, hold_s: float, quiet_s: float,
                 levels: tuple[Level, ...] = (Level.IV, Level.III, Level.II, Level.I)) -> None:
        self.hold_s = float(hold_s)
        self.quiet_s = float(quiet_s)
        self.levels = tuple(sorted(levels))  # the plan's levels here, lowest first
        self.level = Level.NONE
        self.since: float | None = None  # epoch seconds the current level was entered
        self._seen: list[float | None] = [None] * 4  # last time assessed ≥ IV, III, II, I

    @classmethod
    def for_plan(cls, plan: Plan, region: str = "") -> LevelTracker:
        """A tracker with the step-down rules in force in ``region``."""
        specs, step = plan.for_region(region)
        return cls(step.hold, step.quiet, tuple(specs))

    def step(self, assessed: Level, now: datetime,
             evidence: dict[str, Any] | None = None) -> LevelChange | None:
        """Feed the level assessed at event time ``now``; return the change, if any."""
        t = now.timestamp()
        for r in range(assessed.rank):
            prev = self._seen[r]
            if prev is None or t >= prev:
                self._seen[r] = t
        if assessed > self.level:
            return self._change(assessed, now, t, evidence, "escalated")
        if self.level is Level.NONE:
            return None
        kept = Level.NONE
        lowest = self.levels[0] if self.levels else Level.IV
        for level in reversed(self.levels):
            if level > self.level:
                continue
            seen = self._seen[level.rank - 1]
            if seen is not None and t - seen < (self.quiet_s if level == lowest else self.hold_s):
                kept = level
                break
        if kept == self.level:
            return None
        return self._change(kept, now, t, evidence,
                            "cleared" if kept is Level.NONE else "stepped_down")

    def _change(self, level: Level, now: datetime, t: float,
                evidence: dict[str, Any] | None, reason: str) -> LevelChange:
        change = LevelChange(self.level, level, now, {**(evidence or {}), "reason": reason})
        self.level, self.since = level, t
        return change

    def to_dict(self) -> dict[str, Any]:
        return {"hold_s": self.hold_s, "quiet_s": self.quiet_s, "level": self.level.value,
                "levels": [lv.value for lv in self.levels], "since": self.since,
                "seen": list(self._seen)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LevelTracker:
        levels = tuple(Level(x) for x in data.get("levels", ("IV", "III", "II", "I")))
        tracker = cls(data["hold_s"], data["quiet_s"], levels)
        tracker.level = Level(data["level"])
        tracker.since = data.get("since")
        tracker._seen = [None if s is None else float(s) for s in data["seen"]]
        return tracker

    @property
    def since_dt(self) -> datetime | None:
        return None if self.since is None else datetime.fromtimestamp(self.since, UTC)
