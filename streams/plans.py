"""Adapter from :mod:`contingency_plans` plans to what the streams need: plans by sensor kind,
and the per-region :class:`~streams.incidents.PlanView` the incident machine uses."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from anlan.events import Level
from anlan.registry import Registry
from streams.incidents.planview import LevelActions, PlanView, TaskSpec


LATE_HORIZON_S = 86400.0
"""A gateway's backlog up to a day old (a village link down overnight) is still assessed."""


class _SafeDict(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(template: str, values: Mapping[str, Any]) -> str:
    """Fill a plan text template; unknown placeholders stay as they are."""
    try:
        return string.Formatter().vformat(template, (), _SafeDict(values))
    except (ValueError, IndexError):
        return template


def _text(value: Any, lang: str = "zh-CN") -> str:
    if value is None:
        return ""
    get = getattr(value, "get", None)
    return str(get(lang)) if callable(get) else str(value)


def _task_spec(task: Any, values: Mapping[str, Any]) -> TaskSpec:
    kind = task.type
    detail: dict[str, Any] = {}
    if kind == "welfare_check":
        detail["groups"] = list(task.groups)
    if kind == "evacuation":
        detail["tier"] = task.tier
    return TaskSpec(kind=kind, title=render(_text(task.title), values),
                    quota=getattr(task, "quota", 1), skills=tuple(getattr(task, "skills", ())),
                    deadline_s=task.within, detail=detail)


def level_actions(level: Level, actions: Any, values: Mapping[str, Any]) -> LevelActions:
    """The :class:`LevelActions` of one plan level (texts rendered in zh-CN)."""
    vals = {**values, "level": level.value, "colour": level.colour,
            "colour_zh": level.colour_zh}
    cap = actions.cap
    return LevelActions(
        notify=tuple({"role": n.role, "tier": n.tier} for n in actions.notify),
        tasks=tuple(_task_spec(t, vals) for t in actions.tasks),
        ack_timeout_s=actions.ack_timeout,
        renotify_s=actions.renotify,
        cap={"category": list(cap.category), "urgency": cap.urgency,
             "certainty": cap.certainty, "response_type": list(cap.response_type)},
        headline=render(_text(cap.headline), vals),
        description=render(_text(cap.description), vals) if cap.description else "",
        instruction=render(_text(cap.instruction), vals))


@dataclass
class PlanBook:
    """The loaded plans, indexed for the stream agents."""

    plans: dict[str, Any] = field(default_factory=dict)
    _views: dict[tuple[str, str], PlanView] = field(default_factory=dict)
    _members: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    _by_kind: dict[str, list[Any]] = field(default_factory=dict)
    _shapes: dict[str, tuple[int, float, float]] = field(default_factory=dict)
    _late: dict[str, float] = field(default_factory=dict)

    def for_kind(self, kind: str) -> list[Any]:
        """Plans that read sensors of ``kind``."""
        found = self._by_kind.get(kind)
        if found is None:
            found = self._by_kind[kind] = [p for p in self.plans.values() if kind in p.kinds]
        return found

    def new_state(self, kind: str) -> Any:
        """An empty :class:`~contingency_plans.state.SensorState` sized for the plans reading
        ``kind`` (computed once per kind): the assessment's horizon (:meth:`horizon`) plus
        their longest window, so that a reading up to a horizon older than the newest can be
        assessed again at every reading time after it."""
        from contingency_plans.state import SensorState

        shape = self._shapes.get(kind)
        if shape is None:
            proto = SensorState.for_plans(self.for_kind(kind), kind)
            late = max(proto.horizon_s, LATE_HORIZON_S)
            shape = self._shapes[kind] = (proto.bucket_s, late + proto.horizon_s,
                                          late + proto.sample_s if proto.sample_s else 0.0)
            self._late[kind] = late
        return SensorState(*shape)

    def horizon(self, kind: str) -> float:
        """How far back from a sensor's newest reading a reading of ``kind`` is still assessed:
        the plans' longest window, and at least :data:`LATE_HORIZON_S`; older is too late."""
        late = self._late.get(kind)
        if late is None:
            self.new_state(kind)
            late = self._late[kind]
        return late

    def members(self, plan: Any, region: str, registry: Registry) -> dict[str, str]:
        """The registry's sensors (id → kind) that count for ``plan`` in ``region`` (cached)."""
        from contingency_plans.evaluate import region_of

        key = (plan.id, region)
        found = self._members.get(key)
        if found is None:
            found = self._members[key] = {
                sid: info.kind for sid, info in registry.sensors.items()
                if info.kind in plan.kinds and region_of(plan, info) == region}
        return found

    def view(self, plan_id: str, region: str) -> PlanView:
        """The incident machine's view of a plan in a region (overrides applied; cached)."""
        key = (plan_id, region)
        found = self._views.get(key)
        if found is None:
            found = self._views[key] = self._build_view(plan_id, region)
        return found

    def _build_view(self, plan_id: str, region: str) -> PlanView:
        plan = self.plans.get(plan_id)
        if plan is None:
            return PlanView(plan_id=plan_id, hazard=plan_id, name=plan_id)
        name = _text(plan.name)
        values = {"hazard": plan.hazard, "region": region, "region_name": region,
                  "plan": name, "value": ""}
        levels, _ = plan.for_region(region)
        return PlanView(plan_id=plan_id, hazard=plan.hazard, name=name, levels={
            level: level_actions(level, spec.actions, values) for level, spec in levels.items()})
