from datetime import timedelta

import pytest

from alerts.dispatch.offsets import OffsetTracker
from alerts.mobilization.links import Link, hash_token, link_command, new_token
from alerts.mobilization.waves import (
    Window,
    busy_volunteers,
    decide_accept,
    plan_wave,
    task_window,
)
from alerts.mobilization.welfare import welfare_tasks
from anlan.errors import PermanentError
from tests.alerts.helpers import DAY, GRID, demo, task


def test_waves_go_grid_then_community_then_township() -> None:
    d, tree = demo()
    assert plan_wave(d, tree, GRID, ["sandbag"], 0, 2, set(), set()) == (1, ["v-001", "v-002"])
    # everyone in the grid asked: wave 2 has nobody new with sandbag in the community,
    # so the township (v-004, 桥东社区) is next
    assert plan_wave(d, tree, GRID, ["sandbag"], 1, 1, {"v-001", "v-002"}, set()) == \
        (3, ["v-004"])
    assert plan_wave(d, tree, GRID, ["first_aid"], 1, 1, {"v-001"}, set()) == (2, ["v-003"])
    assert plan_wave(d, tree, GRID, ["sandbag"], 3, 1, {"v-001", "v-002", "v-004"},
                     set()) == (0, [])
    assert plan_wave(d, tree, GRID, ["sandbag"], 0, 0, set(), set()) == (0, [])


def test_wave_size_and_busy_people() -> None:
    d, tree = demo()
    assert plan_wave(d, tree, GRID, [], 0, 1, set(), set(), overbook=1.0) == (1, ["v-001"])
    assert plan_wave(d, tree, GRID, ["sandbag"], 0, 2, set(), {"v-001"}) == (1, ["v-002"])


def test_overlap() -> None:
    a = Window(DAY, DAY + timedelta(hours=2))
    b = Window(DAY + timedelta(hours=1), DAY + timedelta(hours=3))
    c = Window(DAY + timedelta(hours=2), DAY + timedelta(hours=4))
    assert a.overlaps(b) and not a.overlaps(c)
    assert busy_volunteers({"x": [a], "y": [c]}, b) == {"x", "y"}
    assert busy_volunteers({"x": [a]}, c) == set()


@pytest.mark.parametrize("task_state, quota, accepted, mine, busy, expected", [
    ("offered", 2, 0, "offered", False, "accepted"),
    ("offered", 2, 2, "offered", False, "filled"),
    ("offered", 2, 0, "offered", True, "busy"),
    ("offered", 2, 1, "accepted", False, "duplicate"),
    ("cancelled", 2, 0, "offered", False, "closed"),
    ("offered", 2, 0, None, False, "not_offered"),
    ("offered", 2, 0, "withdrawn", False, "closed"),
])
def test_accept_decisions(task_state: str, quota: int, accepted: int, mine: str | None,
                          busy: bool, expected: str) -> None:
    assert decide_accept(task_state, quota, accepted, mine, busy) == expected


def test_welfare_tasks_one_per_resident() -> None:
    d, tree = demo()
    parent = task(kind="evacuation", region="360121100001", quota=1)
    tasks = welfare_tasks(d, tree, parent, DAY)
    assert [t.detail["resident_id"] for t in tasks] == ["r-001", "r-002", "r-003"]
    assert [t.detail["assignee"] for t in tasks] == ["p-gw-hkc1", "p-gw-hkc1", "p-gw-hkc2"]
    assert len({t.task_id for t in tasks}) == 3
    assert welfare_tasks(d, tree, parent, DAY)[0].task_id == tasks[0].task_id  # stable ids
    # a welfare-check task of the same incident maps to the same checks (no duplicates)
    same = task(kind="welfare_check", region="360121100001", incident_id=parent.incident_id)
    assert [t.task_id for t in welfare_tasks(d, tree, same, DAY)] == [t.task_id for t in tasks]


def test_welfare_groups_and_evacuation_area() -> None:
    d, tree = demo()
    only_children = task(kind="welfare_check", region=GRID.replace("G1", "G2"),
                         detail={"groups": ["left_behind_child"]})
    assert [t.detail["resident_id"] for t in welfare_tasks(d, tree, only_children, DAY)] == \
        ["r-003"]
    township = task(kind="evacuation", region=GRID, detail={"tier": "township"})
    assert [t.detail["resident_id"] for t in welfare_tasks(d, tree, township, DAY)] == \
        ["r-001", "r-002", "r-003", "r-004"]
    grid_only = task(kind="evacuation", region=GRID)
    assert [t.detail["resident_id"] for t in welfare_tasks(d, tree, grid_only, DAY)] == \
        ["r-001", "r-002"]


def test_tokens_and_commands() -> None:
    token = new_token()
    assert len(token) >= 43 and token != new_token()  # 32 bytes → 43 url-safe chars
    h = hash_token(token)
    assert len(h) == 64 and token not in h
    link = Link(h, "t1", "v-001", DAY + timedelta(hours=1), "mobilization", "x", "offered",
                "offered")
    cmd = link_command(link, "accept", DAY)
    assert (cmd.kind, cmd.target, cmd.actor) == ("task_accept", "t1", "v-001")
    assert cmd.command_id == link_command(link, "accept", DAY).command_id
    with pytest.raises(PermanentError, match="expired"):
        link_command(link, "accept", DAY + timedelta(hours=2))
    with pytest.raises(PermanentError, match="unknown action"):
        link_command(link, "delete", DAY)


def test_offset_tracker_commits_the_finished_prefix() -> None:
    t = OffsetTracker()
    for off in (5, 6, 7):
        t.started("p0", off)
    t.done("p0", 6)
    assert t.committable() == {"p0": 5}
    t.done("p0", 5)
    assert t.committable() == {"p0": 7}
    assert t.committable() == {}
    t.done("p0", 7)
    assert t.committable() == {"p0": 8} and t.in_flight() == 0


def test_a_task_that_arrives_late_starts_now() -> None:
    hour = timedelta(hours=1)
    assert task_window(DAY, DAY + hour, DAY, 60) == Window(DAY, DAY + hour)
    late = DAY + 5 * hour  # a replayed drill: its time is hours in the past
    assert task_window(DAY, DAY + hour, late, 60) == Window(late, late + hour)
    assert task_window(DAY, None, DAY, 60) == Window(DAY, DAY + timedelta(seconds=60))
    assert task_window(DAY + hour, DAY + 2 * hour, DAY, 60) == Window(DAY + hour, DAY + 2 * hour)
