import re
from xml.etree import ElementTree as ET

import pytest

from alerts.cap import CAP_NS, XSD_PATH, build_cap, cap_identifier, identifier_for, validate_cap
from anlan.events import Level
from tests.alerts.helpers import DAY, alert, demo

NS = {"cap": CAP_NS}


def test_xsd_ships_with_the_package() -> None:
    assert XSD_PATH.exists() and XSD_PATH.parent.name == "cap"


@pytest.mark.parametrize("level, severity", [
    (Level.IV, "Minor"), (Level.III, "Moderate"), (Level.II, "Severe"), (Level.I, "Extreme")])
@pytest.mark.parametrize("status", ["Actual", "Exercise"])
def test_every_level_validates(level: Level, severity: str, status: str) -> None:
    _, tree = demo()
    xml = build_cap(alert(level=level, status=status), tree)
    assert validate_cap(xml) == []
    root = ET.fromstring(xml)
    assert root.findtext("cap:status", namespaces=NS) == status
    infos = root.findall("cap:info", NS)
    assert [i.findtext("cap:language", namespaces=NS) for i in infos] == ["zh-CN", "en-US"]
    assert {i.findtext("cap:severity", namespaces=NS) for i in infos} == {severity}
    assert root.findtext("cap:sent", namespaces=NS) == "2026-07-22T10:00:00+08:00"
    geocode = infos[0].find("cap:area/cap:geocode/cap:value", NS)
    assert geocode is not None and geocode.text == "360121100001"


def test_identifier_is_gbt_35965_style() -> None:
    assert cap_identifier("360121100001", DAY, seq=3) == "36012100000000_202607221000003"
    ident = identifier_for(alert())
    assert re.fullmatch(r"360121\d{8}_\d{15}", ident)
    assert identifier_for(alert(alert_id="36012100000000_202607221000001")) == \
        "36012100000000_202607221000001"
    assert identifier_for(alert(alert_id="a")) != identifier_for(alert(alert_id="b"))


def test_update_and_cancel_carry_references() -> None:
    _, tree = demo()
    first = alert()
    upd = alert(alert_id="u1", incident_id=first.incident_id, msg_type="Update",
                references=[first.alert_id], level=Level.I)
    cancel = alert(alert_id="c1", incident_id=first.incident_id, msg_type="Cancel",
                   references=[first.alert_id, "u1"], level=Level.NONE, previous=Level.I)
    known = {first.alert_id: first, "u1": upd}
    for a in (upd, cancel):
        xml = build_cap(a, tree, sender="anlan@test", known=known)
        assert validate_cap(xml) == []
        refs = ET.fromstring(xml).findtext("cap:references", namespaces=NS) or ""
        assert refs.split(" ")[0] == \
            f"anlan@test,{identifier_for(first)},2026-07-22T10:00:00+08:00"
    root = ET.fromstring(build_cap(cancel, tree, known=known))
    assert root.findtext("cap:msgType", namespaces=NS) == "Cancel"
    assert root.findtext("cap:info/cap:responseType", namespaces=NS) == "AllClear"


def test_markup_is_stripped_and_invalid_documents_are_reported() -> None:
    _, tree = demo()
    xml = build_cap(alert(headline="<b>暴雨</b>", description="<script>x</script>"), tree)
    assert "<b>" not in xml and validate_cap(xml) == []
    assert validate_cap(xml.replace("+08:00", "Z"))  # no offset: the schema says no


def test_cap_for_every_shipped_plan_level() -> None:
    loader = pytest.importorskip("contingency_plans.loader")
    from anlan.settings import load_settings

    plans = loader.load_plans(load_settings().plans_dir)
    _, tree = demo()
    checked = 0
    items = plans.values() if isinstance(plans, dict) else plans
    for plan in items:
        for level in _levels(plan):
            for status in ("Actual", "Exercise"):
                a = alert(plan=str(getattr(plan, "id", getattr(plan, "name", "plan"))),
                          hazard=str(getattr(plan, "hazard", "rainstorm")),
                          level=level, status=status)
                assert validate_cap(build_cap(a, tree)) == [], (plan, level)
                checked += 1
    assert checked > 0


def _levels(plan: object) -> list[Level]:
    levels = getattr(plan, "levels", None) or []
    keys = levels.keys() if isinstance(levels, dict) else [getattr(lv, "level", lv)
                                                           for lv in levels]
    return [k if isinstance(k, Level) else Level(str(getattr(k, "value", k))) for k in keys]
