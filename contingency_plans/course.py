"""The course of one sensor under one plan in event time (pure; live streams and backtest).

A sensor is assessed at each of its reading times, in event-time order, whatever order the
readings arrived in. What the region hears is a *condition*: the level the sensor is at from a
time on, sent when it changes, and while the sensor is (or recently was) at a level also as a
heartbeat at the first assessment in each :data:`HEARTBEAT_S` slot of event time (a fixed
grid, so that the heartbeats do not depend on where a re-assessment began), so that the
region's tracker can step down and clear on time.

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
SILENCE_GRACE_S = 1.0
"""A silence point lies this far past ``last reading + missing_data.after`` (the sensor is
stale from then on)."""


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
    active: float | None = None  # last time assessed at a level
    log: list[list[Any]] = field(default_factory=list)
    """``[t, level, stale, active]`` of each condition sent, oldest first, within the horizon
    (plus the last one before it, which holds at its start)."""
    reading: float | None = None  # the newest reading time assessed
    evaluated: float | None = None  # the newest time assessed (a reading or a silence point)

    def to_list(self) -> list[Any]:
        return [self.level.value, self.sent, self.active, self.log, self.reading,
                self.evaluated]

    @classmethod
    def from_list(cls, data: list[Any]) -> Condition:
        log = [list(x) for x in data[3]] if len(data) > 3 else []
        return cls(Level(data[0]), float(data[1]), data[2], log,
                   data[4] if len(data) > 4 else None, data[5] if len(data) > 5 else None)


def heartbeat_span(plan: Plan, region: str) -> float:
    """How long after a sensor was last at a level its heartbeats go on."""
    step = plan.for_region(region)[1]
    return step.quiet + step.hold + HEARTBEAT_S


def run(plan: Plan, sensor: SensorInfo, state: SensorState, cond: Condition,
        readings: Sequence[float], *, revise_from: float | None = None,
        until: float | None = None, horizon_s: float = 86400.0) -> list[Sent]:
    """Assess ``sensor`` at each of its reading times and silence points and return the
    conditions to send; ``cond`` is updated.

    ``readings`` are reading times, ascending: the new ones, all newer than those assessed;
    or, with ``revise_from`` (a reading older than the newest arrived), every reading time
    the caller keeps. The course then restarts from its last condition before
    ``revise_from`` and the conditions sent from then on are compared with the new ones.
    ``until``: also assess the silence points up to then (a timer's tick; the end of a
    backtest). See :func:`silence_points` and the module docstring.
    """
    old: list[list[Any]] = []
    if revise_from is not None:
        reached = cond.evaluated  # silence points a timer assessed past the newest reading
        cut = bisect_left([e[0] for e in cond.log], revise_from)
        old = cond.log[cut:]
        del cond.log[cut:]
        start = _restore(cond)
        readings = [r for r in readings if r > start]
        if reached is not None:
            until = reached if until is None else max(until, reached)
    prev = cond.reading
    out: list[Sent] = []
    span = heartbeat_span(plan, sensor.region)
    after = plan.for_region(sensor.region)[1].missing_data.after
    for t, is_reading in _points(readings, prev, until, after, cond.evaluated):
        if not is_reading and quiet(plan, sensor, cond, t):
            continue  # silent and quiet: nothing to tell
        a = sensor_level(plan, sensor, state, t, current=cond.level)
        cond.evaluated = t
        if is_reading:
            cond.reading = t
        if a.level is not Level.NONE:
            cond.active = t
        due = (cond.active is not None and t // HEARTBEAT_S != cond.sent // HEARTBEAT_S
               and t - cond.active <= span)  # on a fixed grid: where the course began is moot
        if a.level == cond.level and not due:
            continue
        cond.level, cond.sent = a.level, t
        cond.log.append([t, a.level.value, a.stale, cond.active, cond.reading])
        out.append(Sent(t, a.level, a.stale, a.evidence))
    if revise_from is not None:
        out = _revision(old, out, revise_from)
    _prune(cond, (cond.evaluated or cond.sent) - horizon_s)
    return out


def silence_points(last: float, until: float, after: float) -> list[float]:
    """When a sensor that has not reported since ``last`` is assessed again: just past
    ``last + after`` (when the plan's ``missing_data`` rule takes hold), then every
    :data:`HEARTBEAT_S`, up to ``until`` (exclusive)."""
    out = []
    p = last + after + SILENCE_GRACE_S
    while p < until:
        out.append(p)
        p += HEARTBEAT_S
    return out


def _points(readings: Sequence[float], prev: float | None, until: float | None, after: float,
            evaluated: float | None) -> list[tuple[float, bool]]:
    """Reading times and the silence points between them (and up to ``until``), skipping
    what was assessed already (a timer's silence points before a reading that came later)."""
    out: list[tuple[float, bool]] = []
    for r in readings:
        if prev is not None:
            out += [(p, False) for p in silence_points(prev, r, after)]
        out.append((r, True))
        prev = r
    if until is not None and prev is not None:
        out += [(p, False) for p in silence_points(prev, until + SILENCE_GRACE_S, after)
                if p <= until]
    if evaluated is not None:
        out = [(t, r) for t, r in out if r or t > evaluated]
    return out


def quiet(plan: Plan, sensor: SensorInfo, cond: Condition, t: float) -> bool:
    """At no level at ``t`` and no heartbeat will be due (nothing to send while quiet)."""
    if cond.level is not Level.NONE:
        return False
    return cond.active is None or t - cond.active > heartbeat_span(plan, sensor.region)


def _restore(cond: Condition) -> float:
    """Set the course back to its last logged condition; return that condition's time
    (-inf when there is none: the course restarts from nothing)."""
    if not cond.log:
        cond.level, cond.sent, cond.active = Level.NONE, 0.0, None
        cond.reading = cond.evaluated = None
        return float("-inf")
    entry = cond.log[-1]
    cond.level, cond.sent, cond.active = Level(entry[1]), float(entry[0]), entry[3]
    cond.reading = entry[4] if len(entry) > 4 else None
    cond.evaluated = float(entry[0])
    return float(entry[0])


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
