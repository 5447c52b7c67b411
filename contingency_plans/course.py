"""The course of one sensor under one plan in event time (pure; live streams and backtest).

A sensor is assessed at each of its reading times, in event-time order, whatever order the
readings arrived in. What the region hears is a *condition*: the level the sensor is at from a
time on, sent when it changes, and while the sensor is (or recently was) at a level also as a
heartbeat every :data:`HEARTBEAT_S` of event time, so that the region's tracker can step down
and clear on time.

:class:`Condition` keeps the conditions sent within the assessment's horizon. When a reading
older than the sensor's newest arrives (a backlog, a message newest first), :func:`run` starts
again from the condition in force just before it, assesses every reading time from there on,
and returns the conditions of that stretch with ``revise_from`` set on the first: the region
then replaces what it knew of this sensor from that time. Where nothing changed, nothing is
sent. The result is the same as if the readings had arrived in event-time order.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from anlan.events import Level
from anlan.registry import SensorInfo
from contingency_plans.evaluate import sensor_level
from contingency_plans.plan import Plan
from contingency_plans.state import SensorState

HEARTBEAT_S = 600.0
"""Event-time interval of condition heartbeats from an active sensor."""


@dataclass(slots=True)
class Sent:
    """One condition for the region: from ``t`` on, the sensor is at ``level``."""

    t: float
    level: Level
    stale: bool
    evidence: dict[str, Any]
    revise_from: float | None = None
    """Set on the first condition of a re-assessment: the region drops what it knew of this
    sensor at or after this time before taking it."""
    marker: bool = False
    """Only a revision: nothing holds from ``t`` but what held before it."""


@dataclass
class Condition:
    """A sensor's condition under one plan: the last one sent and the log of those sent."""

    level: Level = Level.NONE
    sent: float = 0.0  # event time of the last condition sent (change or heartbeat)
    active: float | None = None  # last reading time the sensor was at a level
    log: list[list[Any]] = field(default_factory=list)
    """``[t, level, stale, active]`` of each condition sent, oldest first, within the horizon
    (plus the last one before it, which holds at its start)."""

    def to_list(self) -> list[Any]:
        return [self.level.value, self.sent, self.active, self.log]

    @classmethod
    def from_list(cls, data: list[Any]) -> Condition:
        log = [list(x) for x in data[3]] if len(data) > 3 else []
        return cls(Level(data[0]), float(data[1]), data[2], log)


def heartbeat_span(plan: Plan, region: str) -> float:
    """How long after a sensor was last at a level its heartbeats go on."""
    step = plan.for_region(region)[1]
    return step.quiet + step.hold + HEARTBEAT_S


def run(plan: Plan, sensor: SensorInfo, state: SensorState, cond: Condition,
        points: Sequence[float], *, revise_from: float | None = None,
        before: float | None = None, horizon_s: float = 86400.0) -> list[Sent]:
    """Assess ``sensor`` at each reading time of ``points`` (ascending) and return the
    conditions to send; ``cond`` is updated.

    ``revise_from``: the points start at a reading older than the newest already assessed;
    the course restarts from the condition in force just before it (``before`` is the sensor's
    last reading time before it, if any) and the conditions sent from then on are compared
    with the new ones. See the module docstring.
    """
    old: list[list[Any]] = []
    if revise_from is not None:
        cut = bisect_left([e[0] for e in cond.log], revise_from)
        old = cond.log[cut:]
        del cond.log[cut:]
        _restore(cond, before)
    out: list[Sent] = []
    span = heartbeat_span(plan, sensor.region)
    for t in points:
        a = sensor_level(plan, sensor, state, t, current=cond.level)
        if a.level is not Level.NONE:
            cond.active = t
        due = (cond.active is not None and t - cond.sent >= HEARTBEAT_S
               and t - cond.active <= span)
        if a.level == cond.level and not due:
            continue
        cond.level, cond.sent = a.level, t
        cond.log.append([t, a.level.value, a.stale, cond.active])
        out.append(Sent(t, a.level, a.stale, a.evidence))
    if revise_from is not None:
        out = _revision(old, out, revise_from)
    _prune(cond, (points[-1] if points else cond.sent) - horizon_s)
    return out


def quiet(plan: Plan, sensor: SensorInfo, cond: Condition, t: float) -> bool:
    """At no level at ``t`` and no heartbeat will be due (nothing to send while quiet)."""
    if cond.level is not Level.NONE:
        return False
    return cond.active is None or t - cond.active > heartbeat_span(plan, sensor.region)


def _restore(cond: Condition, before: float | None) -> None:
    """Set level, sent and active to what they were just before the log's end."""
    if not cond.log:
        cond.level, cond.sent, cond.active = Level.NONE, 0.0, None
        return
    t, level, _, active = cond.log[-1]
    cond.level, cond.sent = Level(level), float(t)
    # at a level, every reading time after the entry up to ``before`` kept it active
    cond.active = before if cond.level is not Level.NONE and before is not None else active


def _revision(old: list[list[Any]], new: list[Sent], revise_from: float) -> list[Sent]:
    """The conditions the region must be told after a re-assessment (none if unchanged): the
    new ones, the first marked ``revise_from``; a lone marker (``marker=True``) when the
    stretch now holds no condition at all."""
    if [(e[0], e[1], e[2]) for e in old] == [(s.t, s.level.value, s.stale) for s in new]:
        return []  # the region already knows exactly this
    if not new:
        return [Sent(revise_from, Level.NONE, False, {}, revise_from, marker=True)]
    new[0].revise_from = revise_from
    return new


def _prune(cond: Condition, cut: float) -> None:
    """Drop log entries older than ``cut`` but the last one before it (it holds at ``cut``)."""
    log = cond.log
    at = bisect_left([e[0] for e in log], cut)
    if at > 1:
        del log[:at - 1]
