"""The directory: regions (county → township → community → grid), people, duty roster,
volunteers and vulnerable residents. Pure data types and tree helpers, no I/O.

Region ids and the hierarchy they imply (tiers, parents, division codes) are defined in
:mod:`anlan.regions` and re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta, timezone
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from anlan.regions import (  # noqa: F401 - the hierarchy is anlan's, re-exported here
    TIERS,
    Tier,
    division_code_of,
    parent_of,
    tier_of,
)

Role = Literal["duty_officer", "leader", "grid_worker", "volunteer", "technician"]
ROLES: tuple[Role, ...] = ("duty_officer", "leader", "grid_worker", "volunteer", "technician")
BEIJING = timezone(timedelta(hours=8))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Region(_Strict):
    id: str
    name: str = Field(min_length=1)
    tier: Tier | None = None
    parent: str | None = None
    division_code: str | None = None

    @model_validator(mode="after")
    def _derive(self) -> Region:
        tier = tier_of(self.id)
        if self.tier is not None and self.tier != tier:
            raise ValueError(f"region {self.id}: tier {self.tier} does not match its id ({tier})")
        object.__setattr__(self, "tier", tier)
        implied = parent_of(self.id)
        if self.parent is None:
            object.__setattr__(self, "parent", implied)
        if self.division_code is None:
            object.__setattr__(self, "division_code", division_code_of(self.id))
        return self


class Person(_Strict):
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1)
    roles: tuple[Role, ...] = Field(min_length=1)
    region: str
    urls: tuple[str, ...] = Field(default=(), description="Apprise URLs, primary first")
    lang: Literal["zh-CN", "en"] = "zh-CN"
    phone: str | None = None

    @field_validator("urls")
    @classmethod
    def _urls(cls, urls: tuple[str, ...]) -> tuple[str, ...]:
        for url in urls:
            if "://" not in url:
                raise ValueError(f"{url!r} is not an Apprise URL (scheme://…)")
        return urls


class DutyShift(_Strict):
    """Who is on duty for a region: an absolute interval, or a daily window (Beijing time)."""

    person: str
    region: str
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    weekdays: tuple[int, ...] = Field(default=(1, 2, 3, 4, 5, 6, 7),
                                      description="ISO weekdays of a daily window")
    daily_from: time | None = Field(None, alias="from")
    daily_to: time | None = Field(None, alias="to")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _check(self) -> DutyShift:
        absolute = self.start is not None or self.end is not None
        daily = self.daily_from is not None or self.daily_to is not None
        if absolute == daily:
            raise ValueError(f"duty of {self.person}: give either start/end or from/to")
        if absolute and (self.start is None or self.end is None or self.end <= self.start):
            raise ValueError(f"duty of {self.person}: need start < end")
        if daily and (self.daily_from is None or self.daily_to is None):
            raise ValueError(f"duty of {self.person}: need both from and to")
        if any(d < 1 or d > 7 for d in self.weekdays):
            raise ValueError(f"duty of {self.person}: weekdays are 1 (Mon) … 7 (Sun)")
        return self

    def covers(self, now: datetime) -> bool:
        """True when the shift is on at ``now``."""
        if self.start is not None and self.end is not None:
            return self.start <= now < self.end
        assert self.daily_from is not None and self.daily_to is not None
        local = now.astimezone(BEIJING)
        t = local.time().replace(tzinfo=None)
        if self.daily_from == self.daily_to:  # a whole-day shift
            return local.isoweekday() in self.weekdays
        if self.daily_from < self.daily_to:
            return local.isoweekday() in self.weekdays and self.daily_from <= t < self.daily_to
        # overnight window: the evening part belongs to the day it starts
        if t >= self.daily_from:
            return local.isoweekday() in self.weekdays
        yesterday = (local - timedelta(days=1)).isoweekday()
        return t < self.daily_to and yesterday in self.weekdays


class Volunteer(_Strict):
    person: str
    skills: tuple[str, ...] = ()
    home_grid: str
    available: bool = True


class VulnerableResident(_Strict):
    id: str
    name: str
    category: Literal["elderly_alone", "left_behind_child", "disabled", "other"] = "other"
    grid: str
    address: str = ""
    needs: str = ""
    contact: str = ""
    responsible: str = Field(description="person id of the responsible grid worker")


class Directory(_Strict):
    """The whole directory, validated as a whole (every reference resolves)."""

    regions: tuple[Region, ...] = ()
    people: tuple[Person, ...] = ()
    duty: tuple[DutyShift, ...] = ()
    volunteers: tuple[Volunteer, ...] = ()
    vulnerable: tuple[VulnerableResident, ...] = ()

    @model_validator(mode="after")
    def _references(self) -> Directory:
        errors = list(_reference_errors(self))
        if errors:
            raise ValueError("; ".join(errors))
        return self

    def region(self, region_id: str) -> Region | None:
        return next((r for r in self.regions if r.id == region_id), None)

    def person(self, person_id: str) -> Person | None:
        return next((p for p in self.people if p.id == person_id), None)


def _duplicates(ids: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    dup: set[str] = set()
    for i in ids:
        (dup if i in seen else seen).add(i)
    return dup


def _reference_errors(d: Directory) -> Iterable[str]:
    regions = {r.id for r in d.regions}
    people = {p.id for p in d.people}
    for kind, ids in (("region", [r.id for r in d.regions]), ("person", [p.id for p in d.people]),
                      ("vulnerable resident", [v.id for v in d.vulnerable]),
                      ("volunteer", [v.person for v in d.volunteers])):
        for dup in sorted(_duplicates(ids)):
            yield f"duplicate {kind} id {dup}"
    for r in d.regions:
        if r.parent is not None and r.parent not in regions:
            yield f"region {r.id}: parent {r.parent} is not in the directory"
    for p in d.people:
        if p.region not in regions:
            yield f"person {p.id}: region {p.region} is not in the directory"
    for s in d.duty:
        if s.person not in people:
            yield f"duty: unknown person {s.person}"
        if s.region not in regions:
            yield f"duty of {s.person}: unknown region {s.region}"
    for v in d.volunteers:
        if v.person not in people:
            yield f"volunteer: unknown person {v.person}"
        if v.home_grid not in regions:
            yield f"volunteer {v.person}: unknown home grid {v.home_grid}"
    for res in d.vulnerable:
        if res.grid not in regions:
            yield f"vulnerable resident {res.id}: unknown grid {res.grid}"
        if res.responsible not in people:
            yield f"vulnerable resident {res.id}: unknown responsible person {res.responsible}"
