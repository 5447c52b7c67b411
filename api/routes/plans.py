"""Contingency plans: list the plans in force, show one, validate an uploaded plan.

Plans are read from ``settings.plans_dir`` with ``contingency_plans.load_plan``; validation uses
``contingency_plans.parse_plan`` and reports each problem with its line and path.
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, UploadFile, status
from pydantic import BaseModel

from api.deps import CurrentUser, State
from contingency_plans import Plan, PlanError, load_plan, parse_plan

router = APIRouter(prefix="/plans", tags=["plans"])
MAX_PLAN_BYTES = 512 * 1024


class Issue(BaseModel):
    file: str
    path: str
    line: int | None
    message: str


class PlanSummary(BaseModel):
    id: str
    name: dict[str, Any] | str
    hazard: str
    standard: dict[str, Any]
    kinds: list[str]
    levels: list[str]
    file: str


class PlanListing(BaseModel):
    plans: list[PlanSummary]
    invalid: list[Issue]  # shipped files that do not load (the worker would refuse them)


class Validation(BaseModel):
    valid: bool
    plan: PlanSummary | None = None
    issues: list[Issue] = []


def _summary(plan: Plan, file: str) -> PlanSummary:
    data = plan.model_dump(mode="json")
    return PlanSummary(id=plan.id, name=data["name"], hazard=plan.hazard,
                       standard=data["standard"], kinds=list(plan.kinds),
                       levels=[str(k) for k in data["levels"]], file=file)


def _issues(exc: PlanError) -> list[Issue]:
    return [Issue(file=i.file, path=i.path, line=i.line, message=i.message) for i in exc.issues]


def _plan_files(state: State) -> list[FilePath]:
    return sorted(FilePath(state.settings.plans_dir).glob("*.y*ml"))


@router.get("", response_model=PlanListing)
def list_plans(user: CurrentUser, state: State) -> PlanListing:
    """The plans in ``plans_dir``, and the problems of any file that does not load."""
    plans, invalid = [], []
    for path in _plan_files(state):
        try:
            plans.append(_summary(load_plan(path), path.name))
        except PlanError as exc:
            invalid += _issues(exc)
    return PlanListing(plans=plans, invalid=invalid)


@router.get("/{plan_id}")
def get_plan(plan_id: Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]*$")], user: CurrentUser,
             state: State) -> dict[str, Any]:
    """One plan in full (levels, triggers, actions, step-down rules, overrides)."""
    for path in _plan_files(state):
        try:
            plan = load_plan(path)
        except PlanError:
            continue
        if plan.id == plan_id:
            return plan.model_dump(mode="json")
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"no plan {plan_id}")


@router.post("/validate", response_model=Validation)
async def validate_plan(file: UploadFile, user: CurrentUser) -> Validation:
    """Validate an uploaded plan (YAML): ``valid`` and every problem with line and path."""
    data = await file.read(MAX_PLAN_BYTES + 1)
    if len(data) > MAX_PLAN_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "a plan is at most 512 KiB")
    name = file.filename or "upload.yaml"
    try:
        plan = parse_plan(data.decode("utf-8"), name)
    except UnicodeDecodeError:
        return Validation(valid=False, issues=[Issue(file=name, path="", line=None,
                                                     message="not UTF-8 text")])
    except PlanError as exc:
        return Validation(valid=False, issues=_issues(exc))
    return Validation(valid=True, plan=_summary(plan, name))
