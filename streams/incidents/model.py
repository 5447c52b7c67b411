"""Incident state (JSON-serialisable) and incident ids."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from anlan.events import Level

MAX_REMEMBERED = 256
"""Applied command ids kept per slot for deduplication."""
MAX_CLOSED = 32
"""Closed incident ids kept per slot (late commands for them are no-ops, not errors)."""


def incident_id_for(plan: str, region: str, opened: datetime) -> str:
    """Deterministic id: the plan, the region and the event time of the opening change."""
    stamp = opened.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{plan}:{region}:{stamp}"


def parse_target(target: str) -> tuple[str, str] | None:
    """``plan:region[:stamp]`` → (plan, region), or None when it is not an incident target."""
    parts = target.split(":")
    if len(parts) not in (2, 3) or not all(parts[:2]):
        return None
    return parts[0], parts[1]


def incident_slot_key(plan: str, region: str) -> str:
    """The key (and partitioning) of everything about one plan + region: ``plan:region``."""
    return f"{plan}:{region}"


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
