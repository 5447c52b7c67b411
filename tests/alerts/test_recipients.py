from alerts.directory import Directory
from alerts.recipients import resolve
from tests.alerts.helpers import DAY, GRID, NIGHT, demo


def test_roles_times_tiers() -> None:
    d, tree = demo()
    res = resolve(d, GRID, [{"role": "duty_officer", "tier": "county"},
                            {"role": "leader", "tier": "community"},
                            {"role": "grid_worker", "tier": "grid"}], DAY, tree)
    assert res.person_ids == ["p-county-duty-day", "p-hkc-leader", "p-gw-hkc1"]
    assert res.gaps == []


def test_only_officers_on_duty_now() -> None:
    d, tree = demo()
    notify = [{"role": "duty_officer", "tier": "county"}]
    assert resolve(d, GRID, notify, DAY, tree).person_ids == ["p-county-duty-day"]
    assert resolve(d, GRID, notify, NIGHT, tree).person_ids == ["p-county-duty-night"]


def test_one_recipient_per_person_even_with_several_roles() -> None:
    d, tree = demo()
    # p-cg-duty is duty officer and leader of the township
    res = resolve(d, GRID, [{"role": "duty_officer", "tier": "township"},
                            {"role": "leader", "tier": "township"}], DAY, tree)
    assert res.person_ids == ["p-cg-duty"]
    assert res.recipients[0].roles == ("duty_officer", "leader")


def test_lower_tier_fans_out_to_every_grid() -> None:
    d, tree = demo()
    res = resolve(d, "360121100", [{"role": "grid_worker", "tier": "grid"}], DAY, tree)
    assert res.person_ids == ["p-gw-hkc1", "p-gw-hkc2", "p-gw-qd1"]


def test_unavailable_volunteers_are_left_out() -> None:
    d, _ = demo()
    vols = tuple(v.model_copy(update={"available": v.person != "v-001"}) for v in d.volunteers)
    d2 = d.model_copy(update={"volunteers": vols})
    res = resolve(d2, GRID, [{"role": "volunteer", "tier": "grid"}], DAY)
    assert res.person_ids == ["v-002"]


def test_gaps_are_reported_not_raised() -> None:
    d, tree = demo()
    res = resolve(d, GRID, [{"role": "technician", "tier": "grid"},
                            {"role": "mayor", "tier": "county"}], DAY, tree)
    assert res.person_ids == []
    assert len(res.gaps) == 2
    assert resolve(Directory(), "360121", [{"role": "leader", "tier": "county"}],
                   DAY).person_ids == []


def test_region_missing_from_the_directory_still_reaches_the_tiers_above() -> None:
    d, tree = demo()
    res = resolve(d, "360121100001-G9", [{"role": "duty_officer", "tier": "township"},
                                         {"role": "grid_worker", "tier": "grid"}], DAY, tree)
    assert res.person_ids == ["p-cg-duty"]
    assert res.gaps == ["no grid_worker for 360121100001-G9 (360121100001-G9)"]


def test_leaders_stand_in_when_nobody_is_on_duty() -> None:
    d, tree = demo()
    d2 = d.model_copy(update={"duty": tuple(s for s in d.duty if s.region != "360121100")})
    res = resolve(d2, GRID, [{"role": "duty_officer", "tier": "township"}], DAY)
    assert res.person_ids == ["p-cg-duty"]  # the township's leader (also its officer)
    assert res.gaps and "nobody on duty" in res.gaps[0]
    d3 = d.model_copy(update={"duty": ()})
    res = resolve(d3, GRID, [{"role": "duty_officer", "tier": "county"}], NIGHT, tree)
    assert res.person_ids == ["p-county-leader"]


def test_volunteers_and_grid_workers_of_a_community_are_those_of_its_grids() -> None:
    d, tree = demo()
    res = resolve(d, GRID, [{"role": "volunteer", "tier": "community"},
                            {"role": "leader", "tier": "county"}], DAY, tree)
    assert res.person_ids == ["v-001", "v-002", "v-003", "p-county-leader"]
    res = resolve(d, "360121100002", [{"role": "grid_worker", "tier": "community"}], DAY, tree)
    assert res.person_ids == ["p-gw-qd1"]
