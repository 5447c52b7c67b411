"""CAP 1.2: one document per alert and an Atom feed of recent alerts (public, as CAP is).

Documents come from the dispatcher's stored CAP when it has sent the alert, otherwise they are
rendered with ``alerts.cap.build_cap`` from the stored event.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import quote
from xml.etree import ElementTree as ET

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status

from alerts.cap import build_cap
from alerts.directory import RegionTree
from anlan.events import Alert
from api.data import cap as repo
from api.data import directory as directory_repo
from api.deps import DbConn

router = APIRouter(prefix="/cap", tags=["cap"])
ATOM = "http://www.w3.org/2005/Atom"
CAP_TYPE = "application/cap+xml"


@router.get("/feed.atom", response_class=Response,
            responses={200: {"content": {"application/atom+xml": {}}}})
def feed(request: Request, conn: DbConn,
         region: Annotated[str, Query(pattern=r"^\d{6}(\d{3}){0,2}(-G\d+)?$")] = "",
         days: Annotated[int, Query(ge=1, le=90)] = 7) -> Response:
    """Atom feed of Actual alerts of the last ``days`` days (optionally below ``region``)."""
    since = datetime.now(UTC) - timedelta(days=days)
    rows = repo.feed_alerts(conn, region, since, 200)
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed")
    base = str(request.base_url).rstrip("/")

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    sub(root, "id", f"{base}/api/v1/cap/feed.atom")
    sub(root, "title", "安澜应急预警 CAP")
    sub(root, "updated", (rows[0]["sent"] if rows else since).isoformat())
    sub(sub(root, "author"), "name", "安澜应急预警")
    sub(root, "link", rel="self", href=f"{base}/api/v1/cap/feed.atom")
    for r in rows:
        entry = sub(root, "entry")
        sub(entry, "id", f"urn:anlan:alert:{quote(r['alert_id'], safe='')}")
        sub(entry, "title", r["headline"])
        sub(entry, "updated", r["sent"].isoformat())
        sub(entry, "summary", r["description"] or r["headline"])
        sub(entry, "category", term=f"{r['hazard']}:{r['level']}")
        sub(entry, "link", rel="alternate", type=CAP_TYPE,
            href=cap_url(base, r["alert_id"]))
    body = ET.tostring(root, encoding="unicode")
    return Response('<?xml version="1.0" encoding="UTF-8"?>\n' + body,
                    media_type="application/atom+xml; charset=utf-8")


def cap_url(base: str, alert_id: str) -> str:
    """The URL of an alert's CAP document: the id percent-encoded whole (ids carry ``#``,
    ``:`` and whatever a sensor id holds, ``/`` included)."""
    return f"{base}/api/v1/cap/{quote(alert_id, safe='')}.xml"


@router.get("/{alert_id:path}.xml", response_class=Response,
            responses={200: {"content": {CAP_TYPE: {}}}})
def cap_document(alert_id: Annotated[str, Path(max_length=128)], conn: DbConn) -> Response:
    """The CAP 1.2 XML of one alert."""
    row = repo.alert_raw(conn, alert_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id}")
    xml = row["cap_xml"]
    if not xml:
        alert = Alert.model_validate(row["raw"])
        known = {r["alert_id"]: Alert.model_validate(r["raw"])
                 for r in repo.earlier_alerts(conn, row["incident_id"])}
        xml = build_cap(alert, RegionTree(directory_repo.load(conn)), known=known)
    if not xml.lstrip().startswith("<?xml"):
        xml = '<?xml version="1.0" encoding="UTF-8"?>\n' + xml
    return Response(xml, media_type=f"{CAP_TYPE}; charset=utf-8")
