"""Incident state (JSON-serialisable) and incident ids."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

from anlan.events import Level
from anlan.exercise import scoped_key, split_scope

MAX_REMEMBERED = 256
"""Applied command ids kept per slot for deduplication."""
MAX_CLOSED = 32
"""Closed incident ids kept per slot (late commands for them are no-ops, not errors)."""


def incident_id_for(plan: str, region: str, opened: datetime, exercise: bool = False) -> str:
    """Deterministic id: the plan, the region and the event time of the opening change; a
    drill's incident id is in the exercise scope (``EXERCISE:plan:region:stamp``)."""
    stamp = opened.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return scoped_key(f"{plan}:{region}:{stamp}", exercise)


class Target(NamedTuple):
    """What an incident command targets: a plan + region, in the real or exercise scope."""

    plan: str
    region: str
    exercise: bool = False


def parse_target(target: str) -> Target | None:
    """``[EXERCISE:]plan:region[:stamp]`` → its :class:`Target`, or None when it is not an
    incident target."""
    unscoped, exercise = split_scope(target)
    parts = unscoped.split(":")
    if len(parts) not in (2, 3) or not all(parts[:2]):
        return None
    return Target(parts[0], parts[1], exercise)


def command_target(kind: str, target: str) -> Target | None:
    """The plan + region and scope a command acts on: its target's, and always the exercise
    scope for a ``drill`` command (a drill never reaches a real incident)."""
    parsed = parse_target(target)
    if parsed is None or kind != "drill":
        return parsed
    return parsed._replace(exercise=True)


def incident_slot_key(plan: str, region: str, exercise: bool = False) -> str:
    """The table key of everything about one plan + region in one scope: ``plan:region``, or
    ``EXERCISE:plan:region`` for a drill's (its Kafka key stays ``plan:region``)."""
    return scoped_key(f"{plan}:{region}", exercise)


@dataclass
class Incident:
    """The open incident of a plan + region."""

    incident_id: str
    plan: str
    hazard: str
    region: str
    level: Level
    opened_at: str
    status: Literal["open", "acknowledged"] = "open"
    alerts: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    manual_floor: Level = Level.NONE
    exercise: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["level"] = self.level.value
        data["manual_floor"] = self.manual_floor.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Incident:
        data = dict(data)
        data["level"] = Level(data["level"])
        data["manual_floor"] = Level(data.get("manual_floor", "none"))
        return cls(**data)
