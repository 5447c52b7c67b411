"""Sensors (status, latest value, history for charts) and gateways (online / offline, and the
messages the bridge never received from them: seq gaps)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import AwareDatetime, BaseModel

from anlan.registry import KINDS
from api.data import sensors as repo
from api.deps import CurrentUser, DbConn, State
from api.scope import in_scope
from api.validation import invalid

router = APIRouter(prefix="/sensors", tags=["sensors"])
gateways_router = APIRouter(prefix="/gateways", tags=["sensors"])
REGION = r"^\d{6}(\d{3}){0,2}(-G\d+)?$"


class Sensor(BaseModel):
    sensor_id: str
    gateway_id: str
    kind: str
    unit: str | None
    region: str
    interval_s: int
    attrs: dict[str, Any]
    value: float | None = None
    ts: datetime | None = None
    flags: list[str] = []
    stale: bool = True  # no reading within three intervals


class Point(BaseModel):
    ts: datetime
    value: float


class History(BaseModel):
    sensor_id: str
    kind: str
    unit: str | None
    resolution: str
    points: list[Point]


class Gateway(BaseModel):
    gateway_id: str
    region: str
    sensors: int
    status: str  # online, offline, unknown
    at: datetime | None = None
    seq_gaps: int = 0  # gaps in its seq the bridge reported in the last GAP_WINDOW
    missing_messages: int = 0  # messages in those gaps (a broker that dropped them)
    too_late: int = 0  # readings received in the last GAP_WINDOW too late to be assessed
    last_gap_at: datetime | None = None


class SeqGap(BaseModel):
    """Messages of a gateway the bridge never received (seq ``first_missing`` … ``last``)."""

    gateway_id: str
    region: str
    first_missing: int
    last_missing: int
    missing: int
    at: datetime
    bridge: str


GAP_WINDOW = timedelta(days=7)


@router.get("", response_model=list[Sensor])
def list_sensors(user: CurrentUser, conn: DbConn, state: State,
                 region: Annotated[str | None, Query(pattern=REGION)] = None,
                 kind: str | None = None) -> list[Sensor]:
    """Registered sensors in your area with their latest reading."""
    scope = user.scope_for(region)
    latest = repo.latest(conn, scope)
    now = datetime.now(UTC)
    out = []
    for info in state.registry.sensors.values():
        if not in_scope(scope, info.region) or (kind and info.kind != kind):
            continue
        last = latest.get(info.sensor_id)
        out.append(Sensor(
            sensor_id=info.sensor_id, gateway_id=info.gateway_id, kind=info.kind,
            unit=KINDS.get(info.kind), region=info.region, interval_s=info.interval_s,
            attrs=info.attrs, value=last["value"] if last else None,
            ts=last["ts"] if last else None, flags=last["flags"] if last else [],
            stale=last is None or now - last["ts"] > timedelta(seconds=3 * info.interval_s)))
    return sorted(out, key=lambda s: s.sensor_id)


@router.get("/{sensor_id:path}/history", response_model=History)
def sensor_history(sensor_id: Annotated[str, Path(max_length=64)], user: CurrentUser,
                   conn: DbConn, state: State, since: AwareDatetime | None = None,
                   until: AwareDatetime | None = None) -> History:
    """Readings for a chart: raw up to 48 h (default the last 6 h), hourly means beyond."""
    info = state.registry.sensor(sensor_id)
    if info is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no sensor {sensor_id}")
    user.check_region(info.region)
    until = until or datetime.now(UTC)
    since = since or until - timedelta(hours=6)
    if since >= until:
        raise invalid(("query", "since"), "since must be before until")
    resolution, rows = repo.history(conn, sensor_id, since, until)
    return History(sensor_id=sensor_id, kind=info.kind, unit=KINDS.get(info.kind),
                   resolution=resolution,
                   points=[Point(ts=r["ts"], value=r["value"]) for r in rows])


@gateways_router.get("", response_model=list[Gateway])
def list_gateways(user: CurrentUser, conn: DbConn, state: State,
                  region: Annotated[str | None, Query(pattern=REGION)] = None) -> list[Gateway]:
    """Gateways in your area: online, offline, or unknown (never heard from); with the seq gaps
    of the last 7 days — messages a gateway sent that never reached the bridge — and the
    readings that arrived too late to be assessed (``too_late``)."""
    scope = user.scope_for(region)
    statuses = repo.gateway_status(conn)
    gaps = repo.seq_gap_totals(conn, datetime.now(UTC) - GAP_WINDOW)
    late = repo.too_late_totals(conn, datetime.now(UTC) - GAP_WINDOW)
    out = []
    for gw_id, gw in sorted(state.registry.gateways.items()):
        if not in_scope(scope, gw.region):
            continue
        st, gap = statuses.get(gw_id), gaps.get(gw_id)
        out.append(Gateway(gateway_id=gw_id, region=gw.region, sensors=len(gw.sensors),
                           status=st["status"] if st else "unknown",
                           at=st["at"] if st else None,
                           seq_gaps=gap["gaps"] if gap else 0,
                           missing_messages=gap["missing"] if gap else 0,
                           last_gap_at=gap["last_gap_at"] if gap else None,
                           too_late=late.get(gw_id, 0)))
    return out


@gateways_router.get("/gaps", response_model=list[SeqGap])
def list_seq_gaps(user: CurrentUser, conn: DbConn, state: State,
                  region: Annotated[str | None, Query(pattern=REGION)] = None,
                  since: AwareDatetime | None = None) -> list[SeqGap]:
    """Seq gaps of the gateways in your area (default: the last 7 days), newest first: messages
    the MQTT broker acknowledged to a gateway but never delivered to the bridge."""
    scope = user.scope_for(region)
    ours = {gw_id: gw.region for gw_id, gw in state.registry.gateways.items()
            if in_scope(scope, gw.region)}
    rows = repo.seq_gaps(conn, sorted(ours), since or datetime.now(UTC) - GAP_WINDOW)
    return [SeqGap(region=ours[r["gateway_id"]], **r) for r in rows]
