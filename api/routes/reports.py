"""``POST /api/v1/reports``: reports from residents and grid workers (validated, rate limited)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import AwareDatetime, BaseModel, Field, model_validator

from anlan.events import Report
from api.commands import send_report
from api.deps import State
from api.validation import RequestBody

router = APIRouter(prefix="/reports", tags=["reports"])
REGION_PATTERN = r"^\d{6}(\d{3}){0,2}(-G\d+)?$"


class ReportIn(RequestBody):
    """A report: what (kind), where (region id and/or lat/lon), optional text and time."""

    reporter_id: str = Field(min_length=1, max_length=64, pattern=r"^[\w.@:+-]+$")
    kind: str = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$",
                      examples=["waterlogging", "landslide", "gas_smell"])
    region: Annotated[str | None, Field(pattern=REGION_PATTERN)] = None
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    text: str = Field("", max_length=2000)
    ts: AwareDatetime | None = None

    @model_validator(mode="after")
    def _where(self) -> ReportIn:
        if self.region is None and (self.lat is None or self.lon is None):
            raise ValueError("give a region id or both lat and lon")
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon")
        return self


class ReportAccepted(BaseModel):
    report_id: str
    status: str = "accepted"


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=ReportAccepted)
def post_report(body: ReportIn, request: Request, state: State) -> ReportAccepted:
    """Accept a report onto ``anlan.reports.raw`` (source ``http``). At most a few per minute
    per client (address and reporter); 429 with ``Retry-After`` beyond that."""
    address = _address(request)
    client = f"{address}|{body.reporter_id}"
    if not (state.limits.hit(state.report_budget, client)
            and state.limits.hit(state.report_address_budget, address)):
        state.metrics.reports.labels("rate_limited").inc()
        retry = max(state.limits.retry_after(state.report_budget, client),
                    state.limits.retry_after(state.report_address_budget, address))
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many reports; slow down",
                            headers={"Retry-After": str(max(1, retry))})
    ts = body.ts or datetime.now(UTC)
    report = Report(report_id=uuid.uuid4().hex, reporter_id=body.reporter_id, kind=body.kind,
                    region=body.region, lat=body.lat, lon=body.lon, text=body.text, ts=ts,
                    source="http")
    send_report(state, report)
    state.metrics.reports.labels("accepted").inc()
    return ReportAccepted(report_id=report.report_id)
