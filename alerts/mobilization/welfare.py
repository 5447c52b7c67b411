"""Welfare checks (pure): one task per vulnerable resident in the affected grids, assigned to
the resident's responsible grid worker."""

from __future__ import annotations

from datetime import datetime

from alerts.directory.model import TIERS, Directory, VulnerableResident
from alerts.directory.tree import RegionTree
from anlan.events import Task


def residents_in(directory: Directory, tree: RegionTree, region: str) -> list[VulnerableResident]:
    grids = set(tree.grids(region))
    return [r for r in directory.vulnerable if r.grid in grids]


def welfare_task_id(parent: Task, resident_id: str) -> str:
    """One check per resident per incident: an evacuation and a welfare-check task of the same
    incident (or a replay) map to the same id."""
    return f"{parent.incident_id or parent.task_id}:wc:{resident_id}"


def affected_area(tree: RegionTree, parent: Task) -> str:
    """The region whose grids are checked: the task's region, widened to ``detail.tier`` (an
    evacuation of the whole community, say) when that tier is above it."""
    tier = parent.detail.get("tier")
    if tier in TIERS and TIERS.index(tier) < TIERS.index(tree.tier(parent.region)):
        wider = tree.at_tier(parent.region, tier)
        if wider:
            return wider[0]
    return parent.region


def welfare_tasks(directory: Directory, tree: RegionTree, parent: Task, now: datetime
                  ) -> list[Task]:
    """The welfare-check tasks of ``parent`` (an evacuation or a region-wide welfare check);
    ids are derived from the parent and resident so a replay creates nothing new."""
    only = parent.detail.get("resident_id")
    groups = parent.detail.get("groups")
    out = []
    for r in residents_in(directory, tree, affected_area(tree, parent)):
        if (only and r.id != only) or (isinstance(groups, list) and r.category not in groups):
            continue
        out.append(Task(
            task_id=welfare_task_id(parent, r.id) if not only else parent.task_id,
            incident_id=parent.incident_id, kind="welfare_check", state="offered",
            region=r.grid, title=f"走访核查 {r.name}（{r.address}）", quota=1,
            deadline=parent.deadline, ts=now,
            detail={"parent": parent.task_id, "resident_id": r.id, "resident_name": r.name,
                    "category": r.category, "address": r.address, "needs": r.needs,
                    "contact": r.contact, "assignee": r.responsible},
            exercise=parent.exercise or bool(parent.detail.get("exercise", False))))
    return out
