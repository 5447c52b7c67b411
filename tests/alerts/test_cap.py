import re
from xml.etree import ElementTree as ET

import pytest

from alerts.cap import CAP_NS, XSD_PATH, build_cap, cap_identifier, identifier_for, validate_cap
from anlan.events import Level
from tests.alerts.helpers import DAY, GRID, alert, demo

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


def test_a_drills_cap_says_exercise_everywhere_a_real_one_nowhere() -> None:
    _, tree = demo()
    for status in ("Actual", "Exercise"):
        root = ET.fromstring(build_cap(alert(level=Level.I, status=status), tree))
        drill = status == "Exercise"
        assert root.findtext("cap:status", namespaces=NS) == status
        note = root.findtext("cap:note", namespaces=NS)
        assert (note is not None and "演练" in note and "Exercise" in note) == drill
        headlines = [i.findtext("cap:headline", namespaces=NS) or ""
                     for i in root.findall("cap:info", NS)]
        assert [h.startswith(t) for h, t in zip(headlines, ("【演练】", "[EXERCISE] "),
                                                strict=True)] == [drill, drill]


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
    """Every level of every plan in contingency_plans/plans, as Alert, Update and Cancel, for
    real and as a drill, validates against the XSD and keeps the plan's CAP fields."""
    loader = pytest.importorskip("contingency_plans.loader")
    plans = loader.load_plans()
    assert plans, "no shipped plans"
    _, tree = demo()
    checked = 0
    for plan in plans.values():
        for key, spec in plan.levels.items():
            level = Level(key if isinstance(key, str) else key.value)
            cap = spec.actions.cap
            fields = {"hazard": plan.hazard, "region": GRID, "region_name": tree.name(GRID),
                      "level": level.value, "colour": level.colour,
                      "colour_zh": level.colour_zh, "plan": plan.id, "value": 0}
            first = alert(plan=plan.id, hazard=plan.hazard, level=level,
                          headline=cap.headline.zh_CN.format(**fields),
                          instruction=cap.instruction.zh_CN.format(**fields),
                          notify=[n.model_dump() for n in spec.actions.notify],
                          ack_timeout_s=spec.actions.ack_timeout,
                          evidence={"cap": {"category": cap.category, "urgency": cap.urgency,
                                            "certainty": cap.certainty,
                                            "response_type": cap.response_type}})
            update = alert(alert_id=first.alert_id + "-u", incident_id=first.incident_id,
                           msg_type="Update", references=[first.alert_id], plan=plan.id,
                           hazard=plan.hazard, level=level, headline=first.headline)
            cancel = alert(alert_id=first.alert_id + "-c", incident_id=first.incident_id,
                           msg_type="Cancel", references=[first.alert_id, update.alert_id],
                           plan=plan.id, hazard=plan.hazard, level=Level.NONE, previous=level,
                           headline="解除")
            known = {first.alert_id: first, update.alert_id: update}
            for a in (first, update, cancel):
                for status in ("Actual", "Exercise"):
                    xml = build_cap(a.model_copy(update={"status": status}), tree, known=known)
                    assert validate_cap(xml) == [], (plan.id, level, a.msg_type, status)
                    checked += 1
            root = ET.fromstring(build_cap(first, tree))
            info = root.find("cap:info", NS)
            assert info is not None
            assert [c.text for c in info.findall("cap:category", NS)] == list(cap.category)
            assert [c.text for c in info.findall("cap:responseType", NS)] == \
                list(cap.response_type)
            assert info.findtext("cap:severity", namespaces=NS) == cap.severity
    assert checked >= 6 * 3 * 2 * len(plans) // 2


def test_a_late_notice_is_an_update_with_the_real_onset_for_duty_officers() -> None:
    from datetime import timedelta

    _, tree = demo()
    late = alert(msg_type="Update", references=["x#1"], late=True,
                 onset=DAY - timedelta(hours=3), detected=DAY)
    xml = build_cap(late, tree)
    assert validate_cap(xml) == []
    info = ET.fromstring(xml).find("cap:info", NS)
    assert info is not None
    assert info.findtext("cap:onset", namespaces=NS) == "2026-07-22T07:00:00+08:00"
    assert info.findtext("cap:audience", namespaces=NS) == "值班人员"
    params = {p.findtext("cap:valueName", namespaces=NS): p.findtext("cap:value", namespaces=NS)
              for p in info.findall("cap:parameter", NS)}
    assert params["late_notice"] == "true" and params["detected"] == "2026-07-22T10:00:00+08:00"
