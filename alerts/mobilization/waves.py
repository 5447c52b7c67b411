"""Mobilization waves and quota filling (pure).

Wave 1 offers the task to matching, available volunteers of the same grid as the task's place,
wave 2 adds the community, wave 3 the township. A wave offers to at most ``remaining ×
overbook`` volunteers not offered before, nearest first. A volunteer never holds two tasks whose
time windows overlap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from alerts.directory.model import Directory
from alerts.directory.tree import RegionTree

MAX_WAVE = 3  # 1 same grid, 2 same community, 3 same township
WAVE_NAMES = {1: "grid", 2: "community", 3: "township"}


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def overlaps(self, other: Window) -> bool:
        return self.start < other.end and other.start < self.end


def task_window(ts: datetime, deadline: datetime | None, now: datetime,
                default_duration_s: float) -> Window:
    """When a task occupies its people: from its time (or from now, when it reaches us late —
    a replayed drill, a backlog) for as long as its deadline allowed (or the default)."""
    start = max(ts, now)
    length = (deadline - ts) if deadline is not None else timedelta(seconds=default_duration_s)
    return Window(start, start + max(length, timedelta(0)))


def busy_volunteers(commitments: Mapping[str, Iterable[Window]], window: Window) -> set[str]:
    """People whose accepted tasks overlap ``window``."""
    return {pid for pid, windows in commitments.items()
            if any(w.overlaps(window) for w in windows)}


def eligible(directory: Directory, tree: RegionTree, place: str, skills: Iterable[str],
             busy: set[str]) -> list[tuple[int, str]]:
    """(ring, person id) of every available volunteer with all ``skills``, not busy, within the
    township of ``place``; ring 0 same grid, 1 same community, 2 same township."""
    need = set(skills)
    out = []
    for v in directory.volunteers:
        if not v.available or v.person in busy or not need <= set(v.skills):
            continue
        ring = tree.ring(v.home_grid, place)
        if ring is not None and ring < MAX_WAVE:
            out.append((ring, v.person))
    return sorted(out)


def plan_wave(directory: Directory, tree: RegionTree, place: str, skills: Iterable[str],
              after_wave: int, remaining: int, offered: set[str], busy: set[str],
              overbook: float = 2.0) -> tuple[int, list[str]]:
    """The next wave after ``after_wave``: (wave number, people to offer). Waves with nobody
    new to ask are skipped; (0, []) when no wave is left."""
    if remaining <= 0:
        return 0, []
    pool = [(ring, pid) for ring, pid in eligible(directory, tree, place, skills, busy)
            if pid not in offered]
    limit = max(1, int(remaining * overbook + 0.999))
    for wave in range(after_wave + 1, MAX_WAVE + 1):
        picks = [pid for ring, pid in pool if ring < wave][:limit]
        if picks:
            return wave, picks
    return 0, []


Decision = Literal["accepted", "filled", "closed", "busy", "not_offered", "duplicate"]


def decide_accept(task_state: str, quota: int, accepted: int, assignment_state: str | None,
                  busy: bool) -> Decision:
    """What an ``accept`` reply does. ``filled`` when the quota is already met."""
    if assignment_state is None:
        return "not_offered"
    if assignment_state in ("accepted", "checked_in", "completed"):
        return "duplicate"
    if task_state not in ("open", "offered"):
        return "closed"
    if assignment_state != "offered":
        return "closed"  # declined, withdrawn or cancelled before
    if accepted >= quota:
        return "filled"
    if busy:
        return "busy"
    return "accepted"
