"""Backtests of a plan: on stored readings of your area, or on uploaded CSV files.

Runs ``contingency_plans.backtest.run_backtest`` (the same functions as the live streams) and
returns every level change per region.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Path, UploadFile, status
from pydantic import AwareDatetime, BaseModel, Field, model_validator
from starlette.concurrency import run_in_threadpool

from api.data import sensors as sensor_repo
from api.deps import ActingUser, DbConn, State, User
from api.scope import in_scope
from api.validation import RequestBody, invalid
from contingency_plans import Plan, PlanError, load_plan, parse_plan
from contingency_plans.backtest import (
    BacktestError,
    BacktestResult,
    Reading,
    read_readings,
    read_reports,
    run_backtest,
)

router = APIRouter(prefix="/plans", tags=["plans"])
MAX_READINGS = 500_000
MAX_UPLOAD = 32 * 1024 * 1024
MAX_RANGE = timedelta(days=62)
PLAN_ID = Path(pattern=r"^[a-z][a-z0-9_]*$")


class StoredRange(RequestBody):
    since: AwareDatetime
    until: AwareDatetime
    region: str | None = Field(None, pattern=r"^\d{6}(\d{3}){0,2}(-G\d+)?$")

    @model_validator(mode="after")
    def _range(self) -> StoredRange:
        if self.until <= self.since:
            raise ValueError("until must be after since")
        if self.until - self.since > MAX_RANGE:
            raise ValueError("at most 62 days per backtest")
        return self


class Outcome(BaseModel):
    plan: str
    readings: int
    changes: list[dict[str, Any]]
    worst: dict[str, str] = Field(description="per region, the highest level reached")
    warnings: list[str]
    truncated: bool = False


def _find_plan(state: State, plan_id: str) -> Plan:
    for path in sorted(FilePath(state.settings.plans_dir).glob("*.y*ml")):
        try:
            plan = load_plan(path)
        except PlanError:
            continue
        if plan.id == plan_id:
            return plan
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"no plan {plan_id}")


def _outcome(plan: Plan, result: BacktestResult, readings: int, user: User,
             truncated: bool) -> Outcome:
    changes = [c for c in result.changes if in_scope(user.region, c.region)]
    worst: dict[str, str] = {}
    for c in changes:
        if c.level.rank > _rank(worst.get(c.region)):
            worst[c.region] = c.level.value
    return Outcome(plan=plan.id, readings=readings, changes=[c.to_json() for c in changes[:5000]],
                   worst=worst, warnings=result.warnings[:100], truncated=truncated)


def _rank(level: str | None) -> int:
    return {"IV": 1, "III": 2, "II": 3, "I": 4}.get(level or "", 0)


@router.post("/{plan_id}/backtest", response_model=Outcome)
def backtest_stored(plan_id: Annotated[str, PLAN_ID], body: StoredRange, user: ActingUser,
                    conn: DbConn, state: State) -> Outcome:
    """Replay the stored readings of your area (or ``region``) between ``since`` and ``until``
    through plan ``plan_id``."""
    scope = user.scope_for(body.region)
    plan = _find_plan(state, plan_id)
    rows = sensor_repo.readings_between(conn, scope, list(plan.kinds), body.since, body.until,
                                        MAX_READINGS + 1)
    readings = [Reading(r["ts"], r["sensor_id"], r["kind"], r["value"])
                for r in rows[:MAX_READINGS]]
    result = run_backtest(plan, readings, state.registry)
    return _outcome(plan, result, len(readings), user, len(rows) > MAX_READINGS)


@router.post("/backtest", response_model=Outcome)
async def backtest_upload(user: ActingUser, state: State, readings: UploadFile,
                          plan_id: Annotated[str | None, Form(pattern=r"^[a-z][a-z0-9_]*$")]
                          = None,
                          plan: UploadFile | None = None,
                          reports: UploadFile | None = None) -> Outcome:
    """Backtest uploaded readings (CSV ``ts,sensor,kind,value``) and optional reports (CSV
    ``ts,kind,region``) against a shipped plan (``plan_id``) or an uploaded plan (``plan``)."""
    if (plan_id is None) == (plan is None):
        raise invalid(("body", "plan_id"), "give either plan_id or a plan file")
    files = {"readings": await readings.read(MAX_UPLOAD + 1),
             "reports": await reports.read(MAX_UPLOAD + 1) if reports else None,
             "plan": await plan.read(MAX_UPLOAD + 1) if plan else None}
    if any(v is not None and len(v) > MAX_UPLOAD for v in files.values()):
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "files are at most 32 MiB")
    return await run_in_threadpool(_run_upload, state, user, plan_id, files,
                                   plan.filename if plan else None)


def _run_upload(state: State, user: User, plan_id: str | None, files: dict[str, bytes | None],
                plan_name: str | None) -> Outcome:
    try:
        chosen = _find_plan(state, plan_id) if plan_id else parse_plan(
            (files["plan"] or b"").decode("utf-8", errors="replace"), plan_name or "plan.yaml")
    except PlanError as exc:
        raise invalid(("body", "plan"), str(exc)) from exc
    with tempfile.TemporaryDirectory(prefix="anlan-backtest-") as tmp:
        paths = {}
        for name in ("readings", "reports"):
            if files[name] is not None:
                paths[name] = FilePath(tmp) / f"{name}.csv"
                paths[name].write_bytes(files[name] or b"")
        problems: list[str] = []
        try:
            readings = read_readings(paths["readings"], problems)
            reports = read_reports(paths["reports"], problems) if "reports" in paths else []
        except BacktestError as exc:
            msg = str(exc).replace(str(tmp) + "/", "")
            raise invalid(("body", "readings"), msg) from exc
        problems = [p.replace(str(tmp) + "/", "") for p in problems]
    if len(readings) > MAX_READINGS:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                            f"at most {MAX_READINGS} readings per backtest")
    result = run_backtest(chosen, readings, state.registry, reports)
    result.warnings[:0] = problems
    return _outcome(chosen, result, len(readings), user, False)



