from datetime import UTC, datetime, time

import pytest

from alerts.directory import (
    Directory,
    DutyShift,
    RegionTree,
    division_code_of,
    parent_of,
    parse_csv,
    parse_yaml,
    tier_of,
)
from anlan.errors import PermanentError
from tests.alerts.helpers import DAY, GRID, NIGHT, demo


@pytest.mark.parametrize("rid, tier, parent, code", [
    ("360121", "county", None, "360121"),
    ("360121100", "township", "360121", "360121100000"),
    ("360121100001", "community", "360121100", "360121100001"),
    ("360121100001-G1", "grid", "360121100001", "360121100001"),
])
def test_region_ids(rid: str, tier: str, parent: str | None, code: str) -> None:
    assert tier_of(rid) == tier
    assert parent_of(rid) == parent
    assert division_code_of(rid) == code


@pytest.mark.parametrize("bad", ["36012", "3601211", "abc", "360121100001-X1", ""])
def test_bad_region_id(bad: str) -> None:
    with pytest.raises(ValueError):
        tier_of(bad)


def test_demo_directory_loads_and_tree_works() -> None:
    d, tree = demo()
    assert len(d.regions) == 10 and len(d.vulnerable) == 4
    assert tree.ancestors(GRID) == [GRID, "360121100001", "360121100", "360121"]
    assert tree.at_tier(GRID, "township") == ["360121100"]
    assert tree.grids("360121100") == ["360121100001-G1", "360121100001-G2", "360121100002-G1"]
    assert tree.walk("360121100")[:3] == ["360121100", "360121100001", "360121100001-G1"]
    assert tree.ring("360121100001-G2", GRID) == 1
    assert tree.ring("360121101001-G1", GRID) == 3
    assert {v.person for v in d.volunteers} == {"v-001", "v-002", "v-003", "v-004", "v-005"}


@pytest.mark.parametrize("text, message", [
    (("regions: [{id: '360121', name: A}]\npeople: [{id: p, name: P, roles: [leader], "
      "region: '999999'}]"), "region 999999 is not in the directory"),
    ("regions: [{id: '360121', name: A}, {id: '360121', name: B}]", "duplicate region"),
    ("regions: [{id: '360121100', name: A}]", "parent 360121 is not in the directory"),
    ("people: [{id: p, name: P, roles: [mayor], region: '360121'}]", "roles"),
    ("regions: [{id: 'x', name: A}]", "not a 6/9/12-digit"),
    ("- a\n- b", "expected a mapping"),
    ("a: [", "not valid YAML"),
    (("regions: [{id: '360121', name: A}]\npeople: [{id: p, name: P, roles: [leader], "
      "region: '360121', urls: ['nourl']}]"), "not an Apprise URL"),
])
def test_bad_yaml_says_what(text: str, message: str) -> None:
    with pytest.raises(PermanentError, match=message):
        parse_yaml(text)


def test_duty_shifts() -> None:
    def daily(frm: int, to: int) -> DutyShift:
        return DutyShift.model_validate({"person": "a", "region": "360121",
                                         "from": time(frm), "to": time(to)})

    day, night, allday = daily(8, 20), daily(20, 8), daily(0, 0)
    weekday_only = DutyShift.model_validate({"person": "d", "region": "360121", "from": time(20),
                                             "to": time(8), "weekdays": (3,)})  # Wed night
    fixed = DutyShift.model_validate({"person": "e", "region": "360121", "start": DAY,
                                      "end": NIGHT})
    assert day.covers(DAY) and not day.covers(NIGHT)
    assert night.covers(NIGHT) and not night.covers(DAY)
    assert allday.covers(DAY) and allday.covers(NIGHT)
    assert weekday_only.covers(NIGHT)  # Wed 22:00
    thursday_3am = datetime(2026, 7, 22, 19, 0, tzinfo=UTC)  # Thu 03:00 Beijing
    assert weekday_only.covers(thursday_3am)  # the Wednesday shift runs into Thursday
    assert fixed.covers(DAY) and not fixed.covers(NIGHT)
    with pytest.raises(ValueError):
        DutyShift.model_validate({"person": "x", "region": "360121"})


def test_csv_upserts_people_and_volunteers() -> None:
    d, _ = demo()
    text = ("id,name,roles,region,urls,lang,phone,skills,home_grid,available\n"
            "v-001,林涛,volunteer,360121100001-G1,json://a/b|mailto://x@y.z,en,,boat,"
            "360121100001-G1,false\n"
            "v-100,新人,volunteer;technician,360121100001-G2,log://n,,,first_aid,"
            "360121100001-G2,\n")
    merged = parse_csv(text, d)
    v1 = merged.person("v-001")
    assert v1 is not None and v1.urls == ("json://a/b", "mailto://x@y.z") and v1.lang == "en"
    vols = {v.person: v for v in merged.volunteers}
    assert vols["v-001"].available is False and vols["v-001"].skills == ("boat",)
    assert vols["v-100"].available is True
    assert len(merged.people) == len(d.people) + 1


def test_csv_errors_name_the_line() -> None:
    d, _ = demo()
    with pytest.raises(PermanentError, match="line 3"):
        parse_csv("id,name,roles,region\na,A,leader,360121\nb,B,mayor,360121\n", d)
    with pytest.raises(PermanentError, match="person b: region 360999"):
        parse_csv("id,name,roles,region\na,A,leader,360121\nb,B,leader,360999\n", d)
    with pytest.raises(PermanentError, match="missing columns"):
        parse_csv("id,name\n", d)


def test_empty_directory_is_valid() -> None:
    assert RegionTree(Directory()).regions == {}
