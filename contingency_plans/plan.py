"""The plan model: one hazard, its levels IV → I, step-down rules and per-region overrides.

Parsed configuration only (frozen pydantic models, ``extra="forbid"``); the runtime state lives
in :mod:`contingency_plans.state` and :mod:`contingency_plans.tracker`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from anlan.events import Level
from contingency_plans.actions import Actions, Text
from contingency_plans.conditions import (
    DEFAULT_REGION_TRIGGER,
    RegionCondition,
    SensorCondition,
    SensorLeaf,
    SensorsAgree,
    region_leaves,
    sensor_leaves,
)
from contingency_plans.durations import Duration

LevelKey = Literal["IV", "III", "II", "I"]
LEVEL_ORDER: tuple[LevelKey, ...] = ("IV", "III", "II", "I")
CAP_SEVERITY = {"IV": "Minor", "III": "Moderate", "II": "Severe", "I": "Extreme"}
"""CAP severity per level (WMO practice, as in CMA's own CAP feeds)."""

Triggers = tuple[tuple[tuple[Level, int, Callable[..., bool]], ...], "StepDown"]
"""Sensor triggers (highest level first) and the step-down rules, for one region and kind."""

Scope = Literal["sensor", "grid", "community", "township", "county"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Standard(_Strict):
    """The official text the plan follows."""

    title: str = Field(min_length=1)
    issuer: str = Field(min_length=1)
    ref: str | None = Field(None, description="document number, edition or article")
    url: str | None = None
    notes: str | None = Field(None, description="how the plan maps the standard to sensors")


class LevelSpec(_Strict):
    """One level: when a sensor / a region reaches it, and what happens then."""

    trigger: SensorCondition | None = Field(
        None, description="sensor conditions: a sensor is at this level when they hold")
    region_trigger: RegionCondition | None = Field(
        None, description="region conditions (default: one sensor at this level or above)")
    actions: Actions

    @model_validator(mode="after")
    def _consistent(self) -> LevelSpec:
        uses_sensors = any(isinstance(leaf, SensorsAgree) and leaf.at_level is None
                           for leaf in region_leaves(self.effective_region_trigger))
        if self.trigger is None and uses_sensors:
            raise ValueError("region_trigger counts sensors at this level but the level has no "
                             "sensor 'trigger'")
        return self

    @property
    def effective_region_trigger(self) -> RegionCondition:
        return self.region_trigger if self.region_trigger is not None else DEFAULT_REGION_TRIGGER


class MissingData(_Strict):
    """What a sensor whose latest reading is older than ``after`` counts as."""

    after: Duration
    behaviour: Literal["hold", "assume_zero", "ignore"] = Field(
        "hold", description="hold: keep its level; assume_zero: evaluate the windows as they "
        "are (no data adds nothing); ignore: no level, and not counted in a region's M")


class StepDown(_Strict):
    """How a region's level comes down."""

    hold: Duration = Field(description="a level stays until it has not been assessed for this")
    quiet: Duration = Field(description="clear (no level) after no level assessed for this")
    missing_data: MissingData

    @model_validator(mode="after")
    def _quiet_covers_hold(self) -> StepDown:
        if self.quiet < self.hold:
            raise ValueError("quiet must be at least hold")
        return self


class LevelOverride(_Strict):
    """Replaces the given parts of a level (``null`` for the whole level removes it)."""

    trigger: SensorCondition | None = None
    region_trigger: RegionCondition | None = None
    actions: Actions | None = None


class Override(_Strict):
    """Thresholds of a province or prefecture: applies to regions whose division code starts
    with one of ``regions``; several matching overrides apply from the shortest prefix up."""

    name: str = Field(min_length=1)
    regions: list[str] = Field(min_length=1)
    source: str = Field(min_length=1, description="the regional text it follows")
    levels: dict[LevelKey, LevelOverride | None] = Field(default_factory=dict)
    step_down: StepDown | None = None

    @model_validator(mode="after")
    def _digits(self) -> Override:
        bad = [r for r in self.regions if not r.isdigit() or len(r) % 2 or len(r) > 12]
        if bad:
            raise ValueError(f"regions must be division-code prefixes (2, 4, 6 … digits): {bad}")
        return self


class Plan(_Strict):
    """A contingency plan (应急预案) for one hazard."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: Text
    hazard: str = Field(min_length=1)
    standard: Standard
    kinds: list[str] = Field(min_length=1, description="sensor kinds the plan reads")
    scope: Scope = Field("sensor", description="the region a level applies to: the sensor's "
                         "own region, or its ancestor at this tier")
    utc_offset_h: int = Field(8, ge=-12, le=14, strict=True, description="for daily maxima")
    levels: dict[LevelKey, LevelSpec] = Field(min_length=1)
    step_down: StepDown
    overrides: list[Override] = Field(default_factory=list)

    _cache: dict[tuple[int, ...], tuple[dict[Level, LevelSpec], StepDown]] = PrivateAttr(
        default_factory=dict)
    _by_region: dict[str, tuple[dict[Level, LevelSpec], StepDown]] = PrivateAttr(
        default_factory=dict)
    _triggers: dict[tuple[str | int, str], Triggers] = PrivateAttr(default_factory=dict)
    _bounds: dict[tuple[str | int, str], tuple[Callable[..., Any], ...]] = PrivateAttr(
        default_factory=dict)

    def for_region(self, region: str) -> tuple[dict[Level, LevelSpec], StepDown]:
        """The levels (lowest first) and step-down rules in force in ``region``."""
        by_region = self.__pydantic_private__["_by_region"]  # type: ignore[index]
        hit = by_region.get(region)
        if hit is not None:
            return hit
        key = tuple(i for i, o in enumerate(self.overrides)
                    if any(region.startswith(p) for p in o.regions))
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = _apply(self, [self.overrides[i] for i in key])
        if len(by_region) < 100_000:
            by_region[region] = found
        return found

    def triggers_for(self, region: str, kind: str) -> Triggers:
        """The sensor triggers in force in ``region`` that read ``kind``, highest level first,
        as ``((level, rank, compiled check), …), step_down`` (the evaluation's fast path, see
        :mod:`contingency_plans.compiled`)."""
        return self._compiled("_triggers", region, kind,
                              lambda rules: triggers_of(*rules, kind))

    def bounds_for(self, region: str, kind: str) -> tuple[Callable[..., Any], ...]:
        """The quiet bounds (:func:`contingency_plans.compiled.compile_bound`) of the sensor
        triggers in force in ``region`` that read ``kind``."""
        from contingency_plans.compiled import compile_bound
        return self._compiled("_bounds", region, kind, lambda rules: tuple(
            compile_bound(spec.trigger) for spec in rules[0].values()
            if spec.trigger is not None
            and any(leaf.kind == kind for leaf in sensor_leaves(spec.trigger))))

    def _compiled(self, cache_name: str, region: str, kind: str,
                  build: Callable[[tuple[dict[Level, LevelSpec], StepDown]], Any]) -> Any:
        """``build(self.for_region(region))``, cached per region and kind and compiled once
        per set of overrides (regions under the same overrides share it)."""
        cache = self.__pydantic_private__[cache_name]  # type: ignore[index]
        hit = cache.get((region, kind))
        if hit is None:
            rules = self.for_region(region)
            hit = cache.get((id(rules), kind))
            if hit is None:
                hit = cache[(id(rules), kind)] = build(rules)
            if len(cache) < 100_000:
                cache[(region, kind)] = hit
        return hit

    def level_specs(self) -> dict[Level, LevelSpec]:
        """The national levels (no override), lowest first."""
        return self.for_region("")[0]


def _apply(plan: Plan, overrides: list[Override]) -> tuple[dict[Level, LevelSpec], StepDown]:
    levels: dict[str, LevelSpec] = {str(k): v for k, v in plan.levels.items()}
    step_down = plan.step_down
    for o in sorted(overrides, key=lambda o: min(len(p) for p in o.regions)):
        for key, change in o.levels.items():
            if change is None:
                levels.pop(key, None)
                continue
            fields: dict[str, Any] = {}
            if key in levels:
                fields = {f: getattr(levels[key], f) for f in LevelSpec.model_fields}
            fields.update({f: getattr(change, f) for f in change.model_fields_set})
            levels[key] = LevelSpec.model_validate(fields)
        step_down = o.step_down or step_down
    ordered = {Level(k): levels[k] for k in LEVEL_ORDER if k in levels}
    return ordered, step_down


def triggers_of(specs: dict[Level, LevelSpec], step: StepDown, kind: str) -> Triggers:
    """See :meth:`Plan.triggers_for`."""
    from contingency_plans.compiled import compile_condition
    found = tuple((level, level.rank, compile_condition(spec.trigger))
                  for level, spec in reversed(specs.items())
                  if spec.trigger is not None
                  and any(leaf.kind == kind for leaf in sensor_leaves(spec.trigger)))
    return found, step


def all_leaves(plan: Plan) -> list[SensorLeaf]:
    """Every sensor-condition leaf of the plan, overrides included."""
    specs: list[LevelSpec | LevelOverride] = list(plan.levels.values())
    specs += [lo for o in plan.overrides for lo in o.levels.values() if lo is not None]
    return [leaf for s in specs for leaf in sensor_leaves(s.trigger)]
