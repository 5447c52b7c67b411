"""What happens at a level: who is notified, which tasks are created, escalation timing and the
CAP 1.2 fields of the alert (parsed configuration only)."""

from __future__ import annotations

import string
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contingency_plans.durations import Duration

Tier = Literal["county", "township", "community", "grid"]
Role = Literal["duty_officer", "leader", "grid_worker", "volunteer", "technician"]
TIERS: tuple[Tier, ...] = ("county", "township", "community", "grid")
"""Tiers of the hierarchy, top → bottom (the same as ``alerts.directory``)."""

HEADLINE_FIELDS = frozenset({"hazard", "region", "region_name", "level", "colour", "colour_zh",
                             "plan", "value"})
"""Placeholders a headline or instruction template may use."""

CapCategory = Literal["Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env",
                      "Transport", "Infra", "CBRNE", "Other"]
CapUrgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
CapSeverity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
CapCertainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]
CapResponse = Literal["Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess",
                      "AllClear", "None"]
Vulnerable = Literal["elderly_alone", "left_behind_child", "disabled", "other"]
VULNERABLE: tuple[Vulnerable, ...] = ("elderly_alone", "left_behind_child", "disabled", "other")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Text(_Strict):
    """Text in both languages; may use the placeholders in :data:`HEADLINE_FIELDS`."""

    zh_CN: str = Field(alias="zh-CN", min_length=1)
    en: str = Field(min_length=1)

    @field_validator("zh_CN", "en")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name}
        except ValueError as exc:
            raise ValueError(f"bad template: {exc}") from exc
        unknown = names - HEADLINE_FIELDS
        if unknown:
            raise ValueError(f"unknown placeholder(s) {sorted(unknown)}; "
                             f"use {sorted(HEADLINE_FIELDS)}")
        return value

    def get(self, lang: str) -> str:
        """The text for ``zh-CN`` (or any ``zh*``) or English."""
        return self.zh_CN if lang.lower().startswith("zh") else self.en


class Notify(_Strict):
    """Notify every person with ``role`` at ``tier`` relative to the alert's region."""

    role: Role
    tier: Tier


class Mobilization(_Strict):
    """Volunteer mobilization: ``quota`` people with ``skills``, offered near the region."""

    type: Literal["mobilization"]
    quota: int = Field(ge=1, strict=True)
    skills: list[str] = Field(default_factory=list)
    title: Text
    within: Duration | None = Field(None, description="deadline after the alert")


class WelfareCheck(_Strict):
    """Grid workers check on the vulnerable residents of the affected grids."""

    type: Literal["welfare_check"]
    groups: list[Vulnerable] = Field(default_factory=lambda: list(VULNERABLE))
    title: Text
    within: Duration | None = None


class Evacuation(_Strict):
    """Evacuate people from the region (``tier``: the area evacuated around it)."""

    type: Literal["evacuation"]
    tier: Tier = "grid"
    title: Text
    within: Duration | None = None


TaskSpec = Annotated[Mobilization | WelfareCheck | Evacuation, Field(discriminator="type")]


class Cap(_Strict):
    """CAP 1.2 ``info`` fields; ``severity`` follows the level (I Extreme … IV Minor)."""

    category: list[CapCategory] = Field(min_length=1)
    urgency: CapUrgency
    severity: CapSeverity
    certainty: CapCertainty
    response_type: list[CapResponse] = Field(min_length=1)
    headline: Text
    instruction: Text
    description: Text | None = None


class Actions(_Strict):
    """Everything done when a region enters the level."""

    notify: list[Notify] = Field(min_length=1)
    tasks: list[TaskSpec] = Field(default_factory=list)
    ack_timeout: Duration = Field(description="escalate when nobody acknowledges within this")
    renotify: Duration | None = Field(None, description="repeat the alert at this interval")
    cap: Cap
