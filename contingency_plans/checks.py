"""Checks across a whole plan that the field types cannot express. Each problem is
``(path in the document, message)``."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from pydantic import ValidationError

from anlan.registry import KINDS
from contingency_plans.conditions import (
    SensorLeaf,
    region_leaves,
    sensor_leaves,
)
from contingency_plans.plan import (
    CAP_SEVERITY,
    LEVEL_ORDER,
    LevelOverride,
    LevelSpec,
    Plan,
    all_leaves,
)

Path = tuple[str | int, ...]
Problem = tuple[Path, str]


def check_plan(plan: Plan) -> list[Problem]:
    """Every semantic problem of ``plan`` (empty when it is sound)."""
    problems: list[Problem] = []
    problems += _level_order(list(plan.levels), ("levels",))
    problems += _kinds(plan)
    for key, spec in plan.levels.items():
        problems += _level(spec, ("levels", key), key)
    problems += _thresholds_rise({str(k): v for k, v in plan.levels.items()}, ("levels",))
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
    if not problems:
        problems += _overrides_rise(plan)
    return problems


def _overrides_rise(plan: Plan) -> list[Problem]:
    """The thresholds-rise check on the levels in force where each override applies."""
    out: list[Problem] = []
    for i, o in enumerate(plan.overrides):
        try:
            levels = plan.for_region(o.regions[0])[0]
        except ValidationError as exc:
            out.append((("overrides", i), f"the overridden levels are invalid: {exc}"))
            continue
        out += _thresholds_rise({lv.value: spec for lv, spec in levels.items()},
                                ("overrides", i, "levels"))
    return out


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
    read = {leaf.kind for leaf in all_leaves(plan)}
    read |= {leaf.kind for spec in _all_specs(plan) for leaf in region_leaves(spec.region_trigger)
             if leaf.type == "sensors" and leaf.kind is not None}
    missing = sorted(read - set(plan.kinds))
    if missing:
        out.append((("kinds",), f"conditions read {missing}; add them to kinds"))
    return out


def _all_specs(plan: Plan) -> list[LevelSpec | LevelOverride]:
    specs: list[LevelSpec | LevelOverride] = list(plan.levels.values())
    return specs + [lo for o in plan.overrides for lo in o.levels.values() if lo is not None]


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


def _thresholds_rise(levels: dict[str, LevelSpec], path: Path) -> list[Problem]:
    """Where two levels compare the same quantity, the higher level may not ask for less."""
    out: list[Problem] = []
    keys = [k for k in LEVEL_ORDER if k in levels]
    for lower, higher in pairwise(keys):
        lo = _mins(levels[lower])
        hi = _mins(levels[higher])
        for shape, value in hi.items():
            if shape in lo and value < lo[shape]:
                out.append(((*path, higher, "trigger"),
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
