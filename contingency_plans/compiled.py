"""Sensor conditions compiled to closures once per plan, region and kind: the hot path of
:func:`contingency_plans.evaluate.sensor_level` (no type dispatch or attribute lookups of the
parsed models per reading).

A check is ``check(ctx, matched) -> bool``; it appends a description of every leaf that held
to ``matched`` (an ``all`` that fails takes its partial descriptions back out).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from contingency_plans.conditions import (
    AllOfSensor,
    AnyOfSensor,
    ConsecutiveDays,
    Held,
    SensorCondition,
    SensorLeaf,
    WindowSum,
)
from contingency_plans.durations import format_duration
from contingency_plans.state import SensorState

EPS = 1e-9
"""Tolerance of threshold comparisons (sums of decimal amounts are not exact in binary)."""

Matched = list[dict[str, Any]]
_MISSING: Any = object()


class Ctx:
    """One sensor at one event time: its state, attributes and a memo of window values."""

    __slots__ = ("attrs", "kind", "memo", "offset", "state", "staying", "t")

    def __init__(self, state: SensorState, attrs: dict[str, Any], t: float, offset: float,
                 kind: str) -> None:
        self.state, self.attrs, self.t, self.offset, self.kind = state, attrs, t, offset, kind
        self.staying = False
        self.memo: dict[tuple[str, float], Any] = {}


Check = Callable[[Ctx, Matched], bool]


def compile_condition(cond: SensorCondition) -> Check:
    """A closure evaluating ``cond`` (see the module docstring)."""
    if isinstance(cond, AnyOfSensor):
        subs = tuple(compile_condition(c) for c in cond.conditions)

        def any_of(ctx: Ctx, matched: Matched) -> bool:
            for f in subs:
                if f(ctx, matched):
                    return True
            return False
        return any_of
    if isinstance(cond, AllOfSensor):
        subs = tuple(compile_condition(c) for c in cond.conditions)

        def all_of(ctx: Ctx, matched: Matched) -> bool:
            mark = len(matched)
            for f in subs:
                if not f(ctx, matched):
                    del matched[mark:]
                    return False
            return True
        return all_of
    return _compile_leaf(cond)


def _threshold_of(leaf: SensorLeaf) -> Callable[[dict[str, Any]], float | None]:
    if leaf.gte is not None:
        constant = leaf.gte + leaf.offset
        return lambda attrs: constant
    return leaf.threshold


def _value_of(leaf: SensorLeaf) -> Callable[[Ctx], Any]:
    """The leaf's value for a sensor (window values memoised per call)."""
    if leaf.type in ("latest", "held"):
        def latest(ctx: Ctx) -> Any:
            last = ctx.state.latest()
            return None if last is None else last[1]
        return latest
    if isinstance(leaf, ConsecutiveDays):
        days = leaf.days
        key: tuple[str, float] = ("consecutive_days", float(days))

        def daily(ctx: Ctx) -> Any:
            v = ctx.memo.get(key, _MISSING)
            if v is _MISSING:
                v = ctx.memo[key] = ctx.state.daily_max(ctx.t, days, ctx.offset)
            return v
        return daily
    span = leaf.window  # type: ignore[union-attr]
    method = {"window_sum": SensorState.window_sum, "window_max": SensorState.window_max,
              "rate": SensorState.rate_per_hour}[leaf.type]
    wkey = (leaf.type, float(span))

    def windowed(ctx: Ctx) -> Any:
        v = ctx.memo.get(wkey, _MISSING)
        if v is _MISSING:
            v = ctx.memo[wkey] = method(ctx.state, ctx.t, span)
        return v
    return windowed


def _compile_leaf(leaf: SensorLeaf) -> Check:
    kind, hysteresis = leaf.kind, leaf.hysteresis
    threshold_of, value_of = _threshold_of(leaf), _value_of(leaf)
    describe = _describer(leaf)
    held = leaf.duration if isinstance(leaf, Held) else None
    daily = isinstance(leaf, ConsecutiveDays)

    constant = leaf.gte + leaf.offset if leaf.gte is not None else None

    def check(ctx: Ctx, matched: Matched) -> bool:
        if ctx.kind != kind:
            return False
        threshold = constant if constant is not None else threshold_of(ctx.attrs)
        if threshold is None:
            return False
        if ctx.staying:
            threshold -= hysteresis
        value = value_of(ctx)
        if held is not None:
            ok = ctx.state.held_at_least(threshold, ctx.t, held)
        elif daily:
            ok = all(v is not None and v >= threshold - EPS for v in value)
            value = None if None in value else min(value)
        else:
            ok = value is not None and value >= threshold - EPS
        if ok:
            matched.append(describe(value, threshold))
        return ok
    return check


def _describer(leaf: SensorLeaf) -> Callable[[Any, float], dict[str, Any]]:
    static: dict[str, Any] = {}
    window = getattr(leaf, "window", None)
    if window is not None:
        static["window"] = format_duration(window)
    if isinstance(leaf, Held):
        static["duration"] = format_duration(leaf.duration)
    if isinstance(leaf, ConsecutiveDays):
        static["days"] = leaf.days
    if leaf.gte_attr:
        static["attr"] = leaf.gte_attr
    type_ = leaf.type

    def describe(value: Any, threshold: float) -> dict[str, Any]:
        return {"type": type_, "value": _round(value), "threshold": _round(threshold),
                **static}
    return describe


def _round(x: Any) -> Any:
    return round(x, 3) if isinstance(x, float) else x


# ---------------------------------------------------------------------- quiet bounds

Bound = tuple[float, float] | None
"""How far a sensor at no level is from any trigger: ``(budget, cap)`` means the condition
cannot start to hold while the readings added since sum to less than ``budget`` and each is
below ``cap`` (``math.inf``: no limit); ``None``: it may hold after any reading."""
NEVER: Bound = (math.inf, math.inf)


def combine_any(bounds: list[Bound]) -> Bound:
    """The bound of "any of these holds" (also: of several levels or plans together)."""
    if any(b is None for b in bounds):
        return None
    return (min((b[0] for b in bounds if b is not None), default=math.inf),
            min((b[1] for b in bounds if b is not None), default=math.inf))


def compile_bound(cond: SensorCondition) -> Callable[[Ctx], Bound]:
    """A closure giving the :data:`Bound` of ``cond`` for a sensor at no level (no
    hysteresis) at ``ctx.t``. Sums are bounded only while the sensor's state holds no
    negative amount; a rate of change is never bounded."""
    if isinstance(cond, AnyOfSensor):
        subs = tuple(compile_bound(c) for c in cond.conditions)
        return lambda ctx: combine_any([f(ctx) for f in subs])
    if isinstance(cond, AllOfSensor):
        subs = tuple(compile_bound(c) for c in cond.conditions)

        def all_of(ctx: Ctx) -> Bound:  # cannot hold while any one part cannot
            for f in subs:
                b = f(ctx)
                if b is not None:
                    return b
            return None
        return all_of
    return _leaf_bound(cond)


def _leaf_bound(leaf: SensorLeaf) -> Callable[[Ctx], Bound]:
    kind, threshold_of, value_of = leaf.kind, _threshold_of(leaf), _value_of(leaf)
    if leaf.type == "rate":
        return lambda ctx: None if ctx.kind == kind else NEVER
    total = isinstance(leaf, WindowSum)
    daily = isinstance(leaf, ConsecutiveDays)

    def bound(ctx: Ctx) -> Bound:
        if ctx.kind != kind:
            return NEVER
        threshold = threshold_of(ctx.attrs)
        if threshold is None:
            return NEVER
        limit = threshold - EPS
        if total:  # a window sum grows by at most what is added (amounts ≥ 0)
            if not ctx.state.nonnegative:
                return None
            budget = limit - (value_of(ctx) or 0.0)
            return (budget, math.inf) if budget > 0 else None
        # latest, held, window maximum, today's maximum: only a reading ≥ threshold starts it
        if daily:
            days = value_of(ctx)
            value = days[-1] if days else None
        else:
            value = value_of(ctx) if leaf.type != "held" else _latest(ctx)
        return (math.inf, limit) if value is None or value < limit else None
    return bound


def _latest(ctx: Ctx) -> float | None:
    last = ctx.state.latest()
    return None if last is None else last[1]
