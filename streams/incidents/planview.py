"""What the incident machine needs of a contingency plan: per level, who to notify, the tasks,
the acknowledgement timeout and the CAP texts. Built from ``contingency_plans`` by
:mod:`streams.plans`; plain data here so the machine is testable without plan files."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from anlan.events import Level


@dataclass(frozen=True)
class TaskSpec:
    """A task a plan level creates."""

    kind: str  # mobilization | welfare_check | evacuation
    title: str
    quota: int = 1
    skills: tuple[str, ...] = ()
    deadline_s: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LevelActions:
    """The actions of one plan level."""

    notify: tuple[dict[str, Any], ...] = ()
    tasks: tuple[TaskSpec, ...] = ()
    ack_timeout_s: float | None = None
    renotify_s: float | None = None  # repeat to who has not acknowledged (None: ack timeout)
    cap: dict[str, Any] = field(default_factory=dict)  # category, urgency, certainty, response
    headline: str = ""
    description: str = ""
    instruction: str = ""


@dataclass(frozen=True)
class PlanView:
    """A plan as the incident machine sees it."""

    plan_id: str
    hazard: str
    name: str
    levels: dict[Level, LevelActions] = field(default_factory=dict)

    def actions(self, level: Level) -> LevelActions:
        return self.levels.get(level, LevelActions())
