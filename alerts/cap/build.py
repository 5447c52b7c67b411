"""Build a CAP 1.2 XML document per alert (pure), and validate it against the shipped XSD.

Rules followed beyond the schema (see the standards note): ``sent`` carries ``+08:00``; Update
and Cancel carry ``references`` ("sender,identifier,sent", space-separated); one ``info`` per
language (zh-CN, en-US); no HTML; geocodes carry the GB/T 2260 division code. A drill's alert
has status ``Exercise``, a ``note`` saying it is a drill, and each headline starts with the drill
tag of its language (【演练】, [EXERCISE]).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from xml.etree import ElementTree as ET

import xmlschema

from alerts.directory.model import BEIJING, division_code_of
from alerts.directory.tree import RegionTree
from alerts.templates.render import hazard_name
from anlan.events import Alert, Level
from anlan.exercise import exercise_tag

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
XSD_PATH = Path(__file__).resolve().parent / "CAP-v1.2.xsd"
SEVERITY = {Level.IV: "Minor", Level.III: "Moderate", Level.II: "Severe", Level.I: "Extreme",
            Level.NONE: "Unknown"}
URGENCY = {Level.IV: "Future", Level.III: "Expected", Level.II: "Expected",
           Level.I: "Immediate", Level.NONE: "Unknown"}
CATEGORY = {"rainstorm": "Met", "flood": "Met", "gale": "Met", "typhoon": "Met", "heat": "Met",
            "cold_wave": "Met", "snow": "Met", "waterlogging": "Met", "landslide": "Geo",
            "gas": "Safety", "gas_leak": "Safety", "fire": "Fire", "river_flood": "Met",
            "urban_waterlogging": "Met"}
_GBT_ID = re.compile(r"^\d{14}_\d{15}$")
EXERCISE_NOTE = "演练信息，非真实预警。Exercise: a drill, not a real warning."


def cap_sent(ts: datetime) -> str:
    """CAP ``sent``: Beijing time with an explicit ``+08:00`` offset, whole seconds."""
    return ts.astimezone(BEIJING).replace(microsecond=0).isoformat()


def cap_identifier(division_code: str, sent: datetime, seq: int = 0, org: str = "000",
                   internal: str = "000", ext: str = "00") -> str:
    """GB/T 35965.1 identifier: 6-digit division + 3-digit organisation + 3-digit internal +
    2-digit extension, ``_``, YYYYMMDDhhmmss (Beijing), one sequence digit."""
    stamp = sent.astimezone(BEIJING).strftime("%Y%m%d%H%M%S")
    return f"{division_code[:6]}{org:0>3}{internal:0>3}{ext:0>2}_{stamp}{seq % 10}"


def identifier_for(alert: Alert, org: str = "000") -> str:
    """The alert's CAP identifier: its own id when already GB/T-shaped, otherwise derived from
    the region's division code and ``sent`` with an internal code from the alert id's hash."""
    if _GBT_ID.match(alert.alert_id):
        return alert.alert_id
    digest = int(hashlib.sha256(alert.alert_id.encode()).hexdigest(), 16)
    try:
        division = division_code_of(alert.region)
    except ValueError:
        division = "000000"
    return cap_identifier(division, alert.sent, seq=digest // 1000, org=org,
                          internal=f"{digest % 1000:03d}")


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        el.text = text
    return el


def _references(alert: Alert, sender: str, known: Mapping[str, Alert]) -> str:
    refs = []
    for ref in alert.references:
        earlier = known.get(ref)
        if earlier is not None:
            refs.append(f"{sender},{identifier_for(earlier)},{cap_sent(earlier.sent)}")
        else:  # not seen by this dispatcher: keep the id, the sent time is unknown
            refs.append(f"{sender},{ref},{cap_sent(alert.sent)}")
    return " ".join(refs)


def build_cap(alert: Alert, tree: RegionTree, sender: str = "anlan@yjgl.gov.cn",
              sender_name: str = "安澜应急预警", known: Mapping[str, Alert] | None = None
              ) -> str:
    """The CAP 1.2 XML (UTF-8 text) of ``alert``; ``known`` maps earlier alert ids to alerts
    (for the references of an Update / Cancel)."""
    ET.register_namespace("", CAP_NS)
    root = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(root, "identifier", identifier_for(alert))
    _sub(root, "sender", sender)
    _sub(root, "sent", cap_sent(alert.sent))
    _sub(root, "status", alert.status)
    _sub(root, "msgType", alert.msg_type)
    _sub(root, "scope", "Public")
    if alert.status == "Exercise":
        _sub(root, "note", EXERCISE_NOTE)
    if alert.msg_type in ("Update", "Cancel") and alert.references:
        _sub(root, "references", _references(alert, sender, known or {}))
    _sub(root, "incidents", alert.incident_id.replace(" ", "_").replace(",", "_"))
    for lang, cap_lang in (("zh-CN", "zh-CN"), ("en", "en-US")):
        _info(root, alert, tree, lang, cap_lang, sender_name)
    return ET.tostring(root, encoding="unicode", xml_declaration=False)


_ALLOWED = {
    "category": {"Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env",
                 "Transport", "Infra", "CBRNE", "Other"},
    "response_type": {"Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor",
                      "Assess", "AllClear", "None"},
    "urgency": {"Immediate", "Expected", "Future", "Past", "Unknown"},
    "certainty": {"Observed", "Likely", "Possible", "Unlikely", "Unknown"},
}


def _plan_cap(alert: Alert, key: str) -> list[str]:
    """The plan level's CAP value(s) for ``key`` carried in ``evidence["cap"]`` (valid only)."""
    cap = alert.evidence.get("cap")
    value = cap.get(key) if isinstance(cap, dict) else None
    values = value if isinstance(value, list) else [value] if value else []
    return [str(v) for v in values if str(v) in _ALLOWED[key]]


def _info(root: ET.Element, alert: Alert, tree: RegionTree, lang: str, cap_lang: str,
          sender_name: str) -> None:
    level = alert.level if alert.level != Level.NONE else alert.previous
    cancel = alert.msg_type == "Cancel"
    info = _sub(root, "info")
    _sub(info, "language", cap_lang)
    for category in _plan_cap(alert, "category") or [CATEGORY.get(alert.hazard, "Other")]:
        _sub(info, "category", category)
    name = hazard_name(alert.hazard, lang)
    _sub(info, "event", f"{name}{level.colour_zh}预警" if lang == "zh-CN"
         else f"{level.colour.capitalize()} {name} warning")
    responses = ["AllClear"] if cancel else _plan_cap(alert, "response_type") or [
        "Evacuate" if level >= Level.II else "Prepare"]
    for response in responses:
        _sub(info, "responseType", response)
    _sub(info, "urgency", "Past" if cancel else (_plan_cap(alert, "urgency") or
                                                  [URGENCY[level]])[0])
    _sub(info, "severity", "Minor" if cancel and level == Level.NONE else SEVERITY[level])
    _sub(info, "certainty", (_plan_cap(alert, "certainty") or [
        "Observed" if alert.evidence else "Likely"])[0])
    if alert.late:
        _sub(info, "audience", "值班人员" if lang == "zh-CN" else "duty officers")
    if alert.onset is not None and not cancel:
        _sub(info, "onset", cap_sent(alert.onset))
    _sub(info, "senderName", sender_name)
    tag = "" if alert.status != "Exercise" else exercise_tag(lang) + ("" if lang == "zh-CN"
                                                                     else " ")
    _sub(info, "headline", (tag + _plain(alert.headline))[:160])
    if alert.description:
        _sub(info, "description", _plain(alert.description))
    if alert.instruction:
        _sub(info, "instruction", _plain(alert.instruction))
    params = [("plan", alert.plan), ("level", level.value), ("colour", level.colour),
              ("tier", str(alert.tier))]
    if alert.late:
        params.append(("late_notice", "true"))
    if alert.detected is not None:
        params.append(("detected", cap_sent(alert.detected)))
    for key, value in params:
        param = _sub(info, "parameter")
        _sub(param, "valueName", key)
        _sub(param, "value", value)
    area = _sub(info, "area")
    _sub(area, "areaDesc", " ".join(tree.name(r) for r in reversed(tree.ancestors(alert.region))))
    geocode = _sub(area, "geocode")
    _sub(geocode, "valueName", "GB/T 2260")
    try:
        _sub(geocode, "value", division_code_of(alert.region))
    except ValueError:
        _sub(geocode, "value", alert.region)


_TAGS = re.compile(r"<[^>]+>")


def _plain(text: str) -> str:
    """Strip anything that looks like markup (CAP text elements carry no HTML)."""
    return _TAGS.sub("", text)


@lru_cache(maxsize=1)
def _schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD_PATH))


def validate_cap(xml: str) -> list[str]:
    """Schema errors of a CAP document (empty when valid)."""
    return [str(err.reason or err) for err in _schema().iter_errors(xml)]
