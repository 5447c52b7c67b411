"""Checks across a whole plan that the field types cannot express. Each problem is
``(path in the document, message)``."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from anlan.registry import KINDS
from contingency_plans.conditions import (
    SensorLeaf,
    region_leaves,
    sensor_leaves,
)
from contingency_plans.plan import CAP_SEVERITY, LEVEL_ORDER, LevelOverride, LevelSpec, Plan

Path = tuple[str | int, ...]
Problem = tuple[Path, str]


def check_plan(plan: Plan) -> list[Problem]:
    """Every semantic problem of ``plan`` (empty when it is sound)."""
    problems: list[Problem] = []
    problems += _level_order(list(plan.levels), ("levels",))
    problems += _kinds(plan)
    for key, spec in plan.levels.items():
        problems += _level(spec, ("levels", key), key)
    problems += _thresholds_rise(plan)
    for i, o in enumerate(plan.overrides):
        problems += _level_order(list(o.levels), ("overrides", i, "levels"))
        for key, lo in o.levels.items():
            if lo is None:
                continue
            path: Path = ("overrides", i, "levels", key)
            if key not in plan.levels and (lo.actions is None or
                                           (lo.trigger is None and lo.region_trigger is None)):
                problems.append((path, (f"level {key} is not in the plan's levels, so the "
                                        "override must give its trigger and actions")))
            problems += _level(lo, path, key)
    return problems


def _level_order(keys: list[str], path: Path) -> list[Problem]:
    ranks = [LEVEL_ORDER.index(k) for k in keys]  # type: ignore[arg-type]
    if ranks != sorted(ranks):
        want = [k for k in LEVEL_ORDER if k in keys]
        return [(path, (f"levels out of order: {', '.join(keys)}; list them from the lowest "
                        f"(IV, blue) to the highest (I, red): {', '.join(want)}"))]
    return []


def _kinds(plan: Plan) -> list[Problem]:
    out: list[Problem] = [(("kinds", i), f"unknown sensor kind {k!r}; known: {sorted(KINDS)}")
                          for i, k in enumerate(plan.kinds) if k not in KINDS]
    return out


def _level(spec: LevelSpec | LevelOverride, path: Path, key: str) -> list[Problem]:
    out: list[Problem] = []
    if spec.actions is not None and spec.actions.cap.severity != CAP_SEVERITY[key]:
        out.append((path + ("actions", "cap", "severity"),
                    (f"level {key} has CAP severity {CAP_SEVERITY[key]}, not "
                     f"{spec.actions.cap.severity}")))
    for rleaf in region_leaves(spec.region_trigger):
        if rleaf.type != "sensors":
            continue
        if rleaf.kind is not None and rleaf.kind not in KINDS:
            out.append((path + ("region_trigger",), f"unknown sensor kind {rleaf.kind!r}"))
        if rleaf.at_level and LEVEL_ORDER.index(rleaf.at_level) > LEVEL_ORDER.index(key):
            out.append((path + ("region_trigger",), (f"at_level {rleaf.at_level} is above the "
                                                    f"level {key} it triggers")))
    return out


def _shape(leaf: SensorLeaf) -> tuple[Any, ...]:
    span = getattr(leaf, "window", None) or getattr(leaf, "duration", None) or \
        getattr(leaf, "days", None)
    return (leaf.type, leaf.kind, span, leaf.gte_attr, leaf.factor if leaf.gte_attr else None)


def _thresholds_rise(plan: Plan) -> list[Problem]:
    """Where two levels compare the same quantity, the higher level may not ask for less."""
    out: list[Problem] = []
    keys = [k for k in LEVEL_ORDER if k in plan.levels]
    for lower, higher in pairwise(keys):
        lo = _mins(plan.levels[lower])
        hi = _mins(plan.levels[higher])
        for shape, value in hi.items():
            if shape in lo and value < lo[shape]:
                out.append((("levels", higher, "trigger"),
                            (f"levels out of order: {higher} asks for {shape[0]} of "
                             f"{shape[1]} ≥ {value:g}, less than {lower} (≥ {lo[shape]:g})")))
    return out


def _mins(spec: LevelSpec) -> dict[tuple[Any, ...], float]:
    out: dict[tuple[Any, ...], float] = {}
    for leaf in sensor_leaves(spec.trigger):
        value = (leaf.gte if leaf.gte is not None else 0.0) + leaf.offset
        key = _shape(leaf)
        out[key] = min(value, out.get(key, value))
    return out
