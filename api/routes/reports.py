"""``POST /api/v1/reports``: reports from residents and grid workers (validated, rate limited).

A report needs a credential — a reporter's API token (``anl_…``) or a login token — and the
reporter is the user behind it (their user name), never a field of the body: a plan counts
distinct reporters, so the id must be one nobody else can claim.

The report contract is the MQTT one (:mod:`anlan.bounds`): a region of the directory (lat/lon
alone cannot be located), a time at most 5 minutes ahead and at most 7 days old, text that is
valid Unicode. Anything else is a 422 that names the field and the reason.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from anlan.bounds import (
    REPORT_NEEDS_REGION,
    bad_unicode_in_json,
    invalid_unicode,
    report_time_problem,
)
from anlan.events import Report
from anlan.regions import REGION_ID_PATTERN
from api.commands import send_report
from api.deps import CurrentUser, State
from api.validation import RequestBody

router = APIRouter(prefix="/reports", tags=["reports"])


def _region_required(schema: dict[str, Any]) -> None:
    schema["required"] = [*schema.get("required", []), "region"]


class ReportIn(RequestBody):
    """A report: what (kind), where (a region id of the directory; lat/lon optional, for the
    record), optional text and time (default: now). The reporter is the caller."""

    model_config = ConfigDict(json_schema_extra=_region_required)

    kind: str = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$",
                      examples=["waterlogging", "landslide", "gas_smell"])
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    region: Annotated[str | None, Field(pattern=REGION_ID_PATTERN, validate_default=True,
                                        examples=["360121100002-G1"])] = None
    text: str = Field("", max_length=2000)
    ts: AwareDatetime | None = Field(None, description="at most 5 minutes ahead and 7 days old")

    @field_validator("region")
    @classmethod
    def _region_given(cls, region: str | None) -> str:
        if region is None:
            raise PydanticCustomError("missing", REPORT_NEEDS_REGION)
        return region

    @field_validator("ts")
    @classmethod
    def _within_bounds(cls, ts: datetime | None) -> datetime | None:
        problem = None if ts is None else report_time_problem(ts, datetime.now(UTC))
        if problem:
            raise ValueError(problem)
        return ts

    @model_validator(mode="after")
    def _lat_lon_together(self) -> ReportIn:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon")
        return self


class ReportAccepted(BaseModel):
    report_id: str
    status: str = "accepted"


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _unprocessable(field: str, message: str) -> HTTPException:
    """A 422 shaped like FastAPI's validation errors (without echoing the input)."""
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                         [{"type": "value_error", "loc": ["body", field], "msg": message}])


async def valid_unicode(request: Request) -> None:
    """A lone surrogate in the body is a 422 naming its field, before the model sees it
    (FastAPI's own 422 would echo the input, which cannot even be encoded: a 500)."""
    where = bad_unicode_in_json(await request.body())
    if where:
        raise _unprocessable(where, invalid_unicode(where))


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=ReportAccepted,
             dependencies=[Depends(valid_unicode)])
def post_report(body: ReportIn, request: Request, state: State,
                user: CurrentUser) -> ReportAccepted:
    """Accept a report of the caller (a reporter's API token or a login) onto
    ``anlan.reports.raw`` (source ``http``, ``reporter_id`` the caller's user name). At most a
    few per minute per client (address and reporter); 429 with ``Retry-After`` beyond that."""
    address = _address(request)
    client = f"{address}|{user.username}"
    if not (state.limits.hit(state.report_budget, client)
            and state.limits.hit(state.report_address_budget, address)):
        state.metrics.reports.labels("rate_limited").inc()
        retry = max(state.limits.retry_after(state.report_budget, client),
                    state.limits.retry_after(state.report_address_budget, address))
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many reports; slow down",
                            headers={"Retry-After": str(max(1, retry))})
    regions = state.regions.current(state.pool)
    if regions is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            "the region directory cannot be read; retry shortly")
    if body.region not in regions:
        state.metrics.reports.labels("rejected").inc()
        raise _unprocessable("region", f"region {body.region!r} is not a region of the "
                             "directory")
    ts = body.ts or datetime.now(UTC)
    report = Report(report_id=uuid.uuid4().hex, reporter_id=user.username, kind=body.kind,
                    region=body.region, lat=body.lat, lon=body.lon, text=body.text, ts=ts,
                    source="http")
    send_report(state, report)
    state.metrics.reports.labels("accepted").inc()
    return ReportAccepted(report_id=report.report_id)
