"""The course of one plan in one region in event time (pure; live streams and backtest).

The region hears its sensors' conditions (:mod:`contingency_plans.course`) and the reports
filed there, and is evaluated at each of their event times, in event-time order: the sensors'
conditions in force then, the reports up to then, the region trigger, then the
:class:`~contingency_plans.tracker.LevelTracker` (hold, quiet). Inputs may arrive in any order:
one older than the newest evaluation point replays the course from the last checkpoint before
it, so the levels and their event times are those of event-time order.

The policy for what is announced (the same live and in the backtest):

- the level in force after the newest input of a message is announced as a level change,
  with the event time it was entered; when more data show that the level in force began at
  another time, that is announced again (same level, the corrected onset: the incident keeps
  its level and records the onset);
- a higher level that the inputs show was reached and is already over by the time it is found
  (its event time more than :data:`LATE_S` before the input arrived) is a *late notice*
  (``late``): recorded and told to the duty officers, never sent to the public;
- step-downs found in a backlog follow hold and hysteresis in event time like any other.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from anlan.events import Level
from contingency_plans.conditions import Reports, region_leaves
from contingency_plans.course import HEARTBEAT_S
from contingency_plans.evaluate import SensorAssessment, region_level
from contingency_plans.plan import Plan
from contingency_plans.tracker import LevelChange, LevelTracker

LATE_S = 900.0
"""A crossing found more than this long after its event time was found late."""
CHECKPOINT_S = 1800.0
"""Event-time distance between kept tracker checkpoints (the replay starts at one)."""


@dataclass(frozen=True, slots=True)
class Found:
    """A level change to tell: ``late`` notices go to the duty officers only; ``seq`` numbers
    the region's announcements (1, 2, …) so that each is applied once downstream."""

    change: LevelChange
    late: bool = False
    seq: int = 0


@dataclass
class RegionCourse:
    """See the module docstring; plain data (``to_dict``/``from_dict``) for a table."""

    tracker: LevelTracker
    sensors: dict[str, list[list[Any]]] = field(default_factory=dict)
    """Sensor id → ``[t, assessment dict]`` conditions, ascending."""
    reports: dict[str, list[float]] = field(default_factory=dict)
    """Report kind → report times, ascending."""
    reporters: dict[str, list[str]] = field(default_factory=dict)
    """Report kind → the reporter id of each report in ``reports`` ("" when unknown)."""
    report_ids: list[str] = field(default_factory=list)
    checkpoints: list[list[Any]] = field(default_factory=list)
    """``[t, tracker dict]``: the tracker after its step at ``t``, ascending."""
    history: list[list[Any]] = field(default_factory=list)
    """``[t, previous, level, evidence]`` of every level change, ascending."""
    announced: str = Level.NONE.value
    announced_at: float = 0.0
    """Event time the announced level began, as announced."""
    told: int = 0
    """How many changes were told (announced or late): the last ``Found.seq``."""
    late: list[str] = field(default_factory=list)
    """Levels told as late notices since the region last cleared (each once)."""
    now: float = float("-inf")
    horizon_s: float = 86400.0

    # ------------------------------------------------------------------ inputs

    def add_condition(self, plan: Plan, region: str, members: Mapping[str, str], sensor: str,
                      t: float, assessment: SensorAssessment | None, *,
                      revise_from: float | None = None, received: float | None = None,
                      last_of_message: bool = True,
                      more: Sequence[tuple[float, SensorAssessment]] = ()) -> list[Found]:
        """Take a sensor's condition at ``t`` (``assessment`` None: only a revision marker)
        and the ones after it from the same message (``more``), as one input: a re-assessment
        replaces what was known of the sensor from ``revise_from`` on all at once."""
        log = self.sensors.setdefault(sensor, [])
        start, end = t, t
        if revise_from is not None:
            del log[bisect_left([e[0] for e in log], revise_from):]
            start = min(start, revise_from)
        entries = ([(t, assessment)] if assessment is not None else []) + list(more)
        for when, a in entries:
            at = bisect_left([e[0] for e in log], when)
            if at < len(log) and log[at][0] == when:
                log[at][1] = a.to_dict()
            else:
                log.insert(at, [when, a.to_dict()])
            end = max(end, when)
        return self._after_input(plan, region, members, start, end, received, last_of_message)

    def add_report(self, plan: Plan, region: str, members: Mapping[str, str], kind: str,
                   t: float, report_id: str, received: float | None = None, *,
                   reporter: str = "") -> list[Found]:
        """Take a report of ``kind`` filed at ``t`` by ``reporter`` (once per ``report_id``).

        A report whose every window counting it had closed before the region's newest
        evaluation point or its arrival (``t + within <= max(now, received)`` for the longest
        ``within``) says nothing about the region now: it is not taken (its id is kept)."""
        if report_id in self.report_ids:
            return []
        self.report_ids.append(report_id)
        del self.report_ids[:-512]
        longest = max(report_windows(plan, region).get(kind, ()), default=math.inf)
        if t + longest <= max(self.now, -math.inf if received is None else received):
            return []
        times = self.reports.setdefault(kind, [])
        who = self._reporters(kind)
        at = bisect_right(times, t)
        times.insert(at, t)
        who.insert(at, reporter)
        return self._after_input(plan, region, members, t, t, received, True)

    def tick(self, plan: Plan, region: str, members: Mapping[str, str], until: float,
             received: float | None = None) -> list[Found]:
        """Evaluate the region at its timer points up to ``until`` (see :meth:`due`): where
        the reports that raised a level leave their windows, then every heartbeat while the
        level steps down and clears. Live, ``until`` is the worker's clock; the backtest
        ticks to the end of its data."""
        if until <= self.now or not self._timer_points(plan, region, self.now, until):
            return []
        return self._after_input(plan, region, members, until, until, received, True)

    def due(self, plan: Plan, region: str, until: float) -> bool:
        """Whether a timer point falls in ``(now, until]``."""
        return bool(self._timer_points(plan, region, self.now, until))

    # ------------------------------------------------------------------ evaluation

    def _after_input(self, plan: Plan, region: str, members: Mapping[str, str], start: float,
                     end: float, received: float | None, last_of_message: bool) -> list[Found]:
        if start > self.now:  # the timer points since the last evaluation come first
            points = [p for p in self._points(plan, region, self.now, end) if p > self.now]
            changes = self._advance(plan, region, members, points)
        else:
            changes = self._replay(plan, region, members, start, max(end, self.now))
        found = self._judge(changes, received, last_of_message)
        numbered = []
        for f in found:
            self.told += 1
            numbered.append(Found(f.change, f.late, self.told))
        self._prune()
        return numbered

    def _judge(self, changes: list[LevelChange], received: float | None,
               last_of_message: bool) -> list[Found]:
        """Which changes to tell, and how (see the module docstring)."""
        current = self.tracker.level
        out: list[Found] = []
        for change in changes:
            if last_of_message and change is changes[-1] and change.level == current:
                continue  # the level in force: announced below
            if received is not None and received - change.ts.timestamp() > LATE_S:
                if change.level > change.previous and change.level.rank > \
                        Level(self.announced).rank and change.level.value not in self.late:
                    out.append(Found(change, late=True))  # once per level and episode
                    self.late.append(change.level.value)
                continue
            out.append(Found(change))
            self._announce(change.level, change.ts.timestamp())
        if last_of_message:
            ts, evidence = self._entered(current)
            if current.value != self.announced or (
                    current is not Level.NONE and ts.timestamp() != self.announced_at):
                # a new level, or the level in force now known to have begun at another time
                out.append(Found(LevelChange(Level(self.announced), current, ts, evidence)))
                self._announce(current, ts.timestamp())
        return out

    def _announce(self, level: Level, onset: float) -> None:
        self.announced, self.announced_at = level.value, onset
        if level is Level.NONE:
            self.late.clear()  # a new episode: its late crossings are news again

    def _entered(self, level: Level) -> tuple[datetime, dict[str, Any]]:
        """When and on what evidence the region last entered ``level``."""
        for t, _, lv, evidence in reversed(self.history):
            if lv == level.value:
                return datetime.fromtimestamp(t, UTC), evidence
        return datetime.fromtimestamp(max(self.now, 0.0), UTC), {}

    def _points(self, plan: Plan, region: str, start: float, end: float) -> list[float]:
        """Evaluation points in ``[start, end]``: every condition and report time, and the
        timer points (:meth:`_timer_points`)."""
        found: set[float] = set(self._timer_points(plan, region, start, end, closed=True))
        for log in self.sensors.values():
            for e in log[bisect_left([x[0] for x in log], start):]:
                if e[0] > end:
                    break
                found.add(e[0])
        for times in self.reports.values():
            found.update(x for x in times[bisect_left(times, start):] if x <= end)
        return sorted(found)

    def _timer_points(self, plan: Plan, region: str, start: float, end: float, *,
                      closed: bool = False) -> list[float]:
        """Points in ``(start, end]`` (``closed``: ``[start, end]``) that no input brings: for
        each report and each window ``within`` counting its kind, ``t + within + 1`` (just
        after it leaves the window), then every :data:`HEARTBEAT_S` for ``hold + quiet`` so
        that a level the reports raised steps down and clears. Event time only."""
        if not self.reports or end < start:
            return []
        windows = report_windows(plan, region)
        if not windows:
            return []
        _, step = plan.for_region(region)
        beats = math.ceil((step.hold + step.quiet) / HEARTBEAT_S) + 1
        span = beats * HEARTBEAT_S
        found: set[float] = set()
        for kind, times in self.reports.items():
            for within in windows.get(kind, ()):
                lo = bisect_left(times, start - within - 1 - span)
                hi = bisect_right(times, end - within - 1)
                for t in times[lo:hi]:
                    for k in range(beats + 1):
                        p = t + within + 1 + k * HEARTBEAT_S
                        if (start <= p if closed else start < p) and p <= end:
                            found.add(p)
        return sorted(found)

    def _advance(self, plan: Plan, region: str, members: Mapping[str, str],
                 points: list[float]) -> list[LevelChange]:
        changes: list[LevelChange] = []
        for p in points:
            change = self._step(plan, region, members, p)
            if change is not None:
                changes.append(change)
        return changes

    def _step(self, plan: Plan, region: str, members: Mapping[str, str],
              p: float) -> LevelChange | None:
        levels: dict[str, SensorAssessment] = {
            sid: SensorAssessment(Level.NONE, {}, kind) for sid, kind in members.items()}
        for sid, log in self.sensors.items():
            at = bisect_right([e[0] for e in log], p)
            if at:
                levels[sid] = SensorAssessment.from_dict(log[at - 1][1])
        reports = {k: list(zip(v[:bisect_right(v, p)], self._reporters(k), strict=False))
                   for k, v in self.reports.items()}
        now = datetime.fromtimestamp(p, UTC)
        assessed = region_level(plan, region, levels, reports, now)
        change = self.tracker.step(assessed.level, now, assessed.evidence)
        if change is not None:
            self.history.append([p, change.previous.value, change.level.value,
                                 change.evidence])
        if not self.checkpoints or p - self.checkpoints[-1][0] >= CHECKPOINT_S:
            self.checkpoints.append([p, self.tracker.to_dict()])
        self.now = max(self.now, p)
        return change

    def _replay(self, plan: Plan, region: str, members: Mapping[str, str],
                start: float, end: float) -> list[LevelChange]:
        """Replay from the last checkpoint before ``start`` up to ``end``."""
        at = bisect_left([c[0] for c in self.checkpoints], start)
        if at:
            base_t, base = self.checkpoints[at - 1]
            self.tracker = LevelTracker.from_dict(base)
        else:
            base_t = float("-inf")
            self.tracker = LevelTracker.for_plan(plan, region)
        del self.checkpoints[at:]
        old = [h for h in self.history if h[0] > base_t]
        self.history = [h for h in self.history if h[0] <= base_t]
        self.now = base_t
        points = self._points(plan, region, base_t, end)
        self._advance(plan, region, members, [p for p in points if p > base_t])
        new = [h for h in self.history if h[0] > base_t]
        seen = {(h[0], h[1], h[2]) for h in old}
        return [LevelChange(Level(h[1]), Level(h[2]), datetime.fromtimestamp(h[0], UTC), h[3])
                for h in new if (h[0], h[1], h[2]) not in seen]

    def _prune(self) -> None:
        """Forget what is older than the horizon (keeping what holds at its start)."""
        cut = self.now - self.horizon_s
        for log in self.sensors.values():
            at = bisect_left([e[0] for e in log], cut)
            if at > 1:
                del log[:at - 1]
        for kind, times in self.reports.items():
            at = bisect_left(times, cut)
            if at:
                del times[:at]
                del self._reporters(kind)[:at]
        at = bisect_left([c[0] for c in self.checkpoints], cut)
        if at > 1:
            del self.checkpoints[:at - 1]
        at = bisect_left([h[0] for h in self.history], cut)
        if at > 1:
            del self.history[:at - 1]

    def _reporters(self, kind: str) -> list[str]:
        """The reporter ids aligned with ``reports[kind]`` (state stored before them: "")."""
        who = self.reporters.setdefault(kind, [])
        missing = len(self.reports.get(kind, ())) - len(who)
        if missing > 0:
            who[:0] = [""] * missing
        return who

    # ------------------------------------------------------------------ (de)serialisation

    def to_dict(self) -> dict[str, Any]:
        return {"t": self.tracker.to_dict(), "s": self.sensors, "r": self.reports,
                "rw": self.reporters,
                "ri": self.report_ids, "c": self.checkpoints, "h": self.history,
                "a": self.announced, "at": self.announced_at, "k": self.told,
                "l": self.late, "n": self.now, "hz": self.horizon_s}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RegionCourse:
        return cls(tracker=LevelTracker.from_dict(data["t"]),
                   sensors={k: [list(e) for e in v] for k, v in data.get("s", {}).items()},
                   reports={k: list(v) for k, v in data.get("r", {}).items()},
                   reporters={k: [str(x) for x in v] for k, v in data.get("rw", {}).items()},
                   report_ids=list(data.get("ri", [])),
                   checkpoints=[list(c) for c in data.get("c", [])],
                   history=[list(h) for h in data.get("h", [])],
                   announced=str(data.get("a", Level.NONE.value)),
                   announced_at=float(data.get("at", 0.0)),
                   told=int(data.get("k", 0)), late=list(data.get("l", [])),
                   now=float(data.get("n", float("-inf"))),
                   horizon_s=float(data.get("hz", 86400.0)))


def report_windows(plan: Plan, region: str) -> dict[str, list[float]]:
    """Report kind → the distinct windows (``within``) of the plan's ``reports`` conditions
    counting it in ``region``."""
    specs, _ = plan.for_region(region)
    found: dict[str, set[float]] = {}
    for spec in specs.values():
        for leaf in region_leaves(spec.effective_region_trigger):
            if isinstance(leaf, Reports):
                found.setdefault(leaf.kind, set()).add(leaf.within)
    return {k: sorted(v) for k, v in found.items()}


def region_horizon(plan: Plan, sensor_horizon_s: float) -> float:
    """How long a region keeps its inputs: the sensors' horizon plus the longest report window,
    hold and quiet period of the plan."""
    specs, step = plan.for_region("")
    reports = [leaf.within for spec in specs.values()
               for leaf in region_leaves(spec.effective_region_trigger)
               if isinstance(leaf, Reports)]
    return sensor_horizon_s + max(reports, default=0.0) + step.hold + step.quiet
