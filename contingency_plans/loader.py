"""Load and validate plan files; every problem is reported as file, line, path in the document
and a plain message (no tracebacks).

Exceptions::

    PlanError (ValueError)   one or more plan files are invalid; ``.issues`` lists them
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from contingency_plans import actions, conditions
from contingency_plans import plan as plan_mod
from contingency_plans.checks import check_plan
from contingency_plans.plan import Plan

PLANS_DIR = Path(__file__).parent / "plans"
"""The shipped plans."""


@dataclass(frozen=True)
class PlanIssue:
    """One problem: where (file, path in the document, line) and what."""

    file: str
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or '(document)'}: {self.message}"


class PlanError(ValueError):
    """One or more plans are invalid."""

    def __init__(self, issues: list[PlanIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


def load_plan(path: Path | str) -> Plan:
    """Load one plan file; raise :class:`PlanError` when it is invalid."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanError([PlanIssue(str(path), "", f"cannot read: {exc.strerror}")]) from None
    return parse_plan(text, str(path))


def load_plans(directory: Path | str = PLANS_DIR) -> dict[str, Plan]:
    """Load every ``*.yaml`` plan in ``directory`` by id; all problems in one :class:`PlanError`."""
    return load_files(sorted(Path(directory).glob("*.y*ml")))


def load_files(paths: Iterable[Path | str]) -> dict[str, Plan]:
    """Load the given plan files by id; all problems of all files in one :class:`PlanError`."""
    plans: dict[str, Plan] = {}
    where: dict[str, str] = {}
    issues: list[PlanIssue] = []
    for p in paths:
        try:
            plan = load_plan(p)
        except PlanError as exc:
            issues += exc.issues
            continue
        if plan.id in plans:
            issues.append(PlanIssue(str(p), "id", f"plan id {plan.id!r} is also used by "
                                    f"{where[plan.id]}"))
        plans[plan.id], where[plan.id] = plan, str(p)
    if issues:
        raise PlanError(issues)
    return plans


def parse_plan(text: str, source: str = "<plan>") -> Plan:
    """Parse and validate one plan document (YAML text)."""
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise PlanError([PlanIssue(source, "", f"not valid YAML: {problem}", line)]) from None
    if not isinstance(data, dict):
        raise PlanError([PlanIssue(source, "", "a plan is a mapping (id, name, hazard, …)")])
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        raise PlanError(_issues(exc, data, node, source)) from None
    problems = check_plan(plan)
    if problems:
        raise PlanError([_issue(source, data, node, list(loc), msg) for loc, msg in problems])
    return plan


def _issues(exc: ValidationError, data: Any, node: Any, source: str) -> list[PlanIssue]:
    out: list[PlanIssue] = []
    for err in exc.errors(include_url=False):
        loc = _doc_loc(err["loc"], data)
        message = _message(err, loc)
        if loc and loc[-1] == "[key]":  # a mapping key that is not allowed
            loc = loc[:-1]
            message = f"not an allowed key: {message}"
        out.append(_issue(source, data, node, loc, message))
    return out


def _issue(source: str, data: Any, node: Any, loc: list[Any], message: str) -> PlanIssue:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    return PlanIssue(source, path, message, _line(node, loc))


def _doc_loc(loc: tuple[Any, ...], data: Any) -> list[Any]:
    """The error location as a path in the document (union tags dropped)."""
    out: list[Any] = []
    cur = data
    for part in loc:
        if isinstance(cur, Mapping) and part not in cur and cur.get("type") == part:
            continue  # a discriminated-union tag, not a document key
        out.append(part)
        if isinstance(cur, Mapping):
            cur = cur.get(part)
        elif isinstance(cur, list) and isinstance(part, int) and part < len(cur):
            cur = cur[part]
        else:
            cur = None
    return out


def _message(err: Any, loc: list[Any]) -> str:
    kind, msg = err["type"], str(err["msg"])
    if kind == "extra_forbidden":
        name = str(loc[-1]) if loc else "?"
        close = difflib.get_close_matches(name, _field_names(), n=1)
        return f"unknown field {name!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
    if kind == "missing":
        return "required field missing"
    if kind == "union_tag_not_found":
        return "missing 'type' (the kind of condition or task)"
    if kind == "union_tag_invalid":
        tags = err.get("ctx", {}).get("expected_tags", "")
        return f"unknown type {err['input'].get('type')!r}; expected one of {tags}"
    msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind.endswith(("_type", "_parsing")) or kind == "literal_error":
        msg += f", got {err['input']!r}"
    return msg


def _field_names() -> list[str]:
    names: set[str] = set()
    for module in (actions, conditions, plan_mod):
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, BaseModel) and obj is not BaseModel:
                for name, f in obj.model_fields.items():
                    names.add(f.alias or name)
    return sorted(names)


def _line(node: Any, loc: list[Any]) -> int | None:
    """1-based line of the deepest node of ``loc`` found in the composed YAML."""
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and \
                part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
