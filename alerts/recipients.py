"""Recipient resolution (pure): a plan level's ``notify`` list of {role, tier} → people.

Rules:
- A tier above (or equal to) the alert's region means the region's ancestor at that tier; a tier
  below means every region of that tier inside the alert's region.
- ``duty_officer`` resolves through the duty roster: only the officers on duty *now* for those
  regions; when nobody is on duty there, the region's leaders stand in (and a gap is reported).
  Leaders and technicians resolve through their own region; grid workers and volunteers
  through their grid, so a community or township tier reaches all of its grids (volunteers only
  when available).
- One recipient per person, whatever number of roles matched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alerts.directory.model import ROLES, TIERS, Directory, Person

GRID_ROLES = frozenset({"grid_worker", "volunteer"})
from alerts.directory.tree import RegionTree


@dataclass(frozen=True)
class Recipient:
    """A person to message and why (the roles and regions that matched)."""

    person: Person
    roles: tuple[str, ...]
    regions: tuple[str, ...]


@dataclass
class Resolution:
    recipients: list[Recipient] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)  # who should have been there but was not

    @property
    def person_ids(self) -> list[str]:
        return [r.person.id for r in self.recipients]


def resolve(directory: Directory, region: str, notify: Iterable[Mapping[str, Any]],
            now: datetime, tree: RegionTree | None = None) -> Resolution:
    """Resolve ``notify`` for an alert in ``region`` at ``now`` (see the module rules)."""
    tree = tree or RegionTree(directory)
    people = {p.id: p for p in directory.people}
    unavailable = {v.person for v in directory.volunteers if not v.available}
    matched: dict[str, tuple[list[str], list[str]]] = {}
    out = Resolution()
    for entry in notify:
        role, tier = str(entry.get("role", "")), str(entry.get("tier", ""))
        if role not in ROLES or tier not in TIERS:
            out.gaps.append(f"unknown role/tier {role!r}/{tier!r} in notify")
            continue
        regions = tree.at_tier(region, tier)  # type: ignore[arg-type]
        if not regions:
            out.gaps.append(f"no {tier} region for {region}")
            continue
        for rid in regions:
            found = _people_for(directory, tree, unavailable, role, rid, now)
            if not found and role == "duty_officer":
                found = _people_for(directory, tree, unavailable, "leader", rid, now)
                out.gaps.append(f"nobody on duty for {rid} ({tree.name(rid)}); "
                                f"its leaders instead: {found}")
            elif not found:
                out.gaps.append(f"no {role} for {rid} ({tree.name(rid)})")
            for pid in found:
                roles, regs = matched.setdefault(pid, ([], []))
                if role not in roles:
                    roles.append(role)
                if rid not in regs:
                    regs.append(rid)
    for pid, (roles, regs) in matched.items():
        out.recipients.append(Recipient(people[pid], tuple(roles), tuple(regs)))
    return out


def _people_for(directory: Directory, tree: RegionTree, unavailable: set[str],
                role: str, region: str, now: datetime) -> list[str]:
    if role == "duty_officer":
        known = {p.id for p in directory.people}
        return [s.person for s in directory.duty
                if s.region == region and s.person in known and s.covers(now)]
    # grid workers and volunteers belong to grids: a community or township means all of its
    # grids; officers, leaders and technicians belong to exactly their own region
    regions = {region, *tree.descendants(region)} if role in GRID_ROLES else {region}
    return [p.id for p in directory.people
            if p.region in regions and role in p.roles
            and not (role == "volunteer" and p.id in unavailable)]


def on_duty(directory: Directory, region: str, now: datetime) -> list[str]:
    """Person ids on duty for ``region`` at ``now``."""
    return [s.person for s in directory.duty if s.region == region and s.covers(now)]
