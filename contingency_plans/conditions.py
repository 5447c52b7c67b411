"""Trigger conditions of a plan level (parsed configuration only; evaluation is in
:mod:`contingency_plans.evaluate`).

Two trees per level:

- ``trigger`` — *sensor conditions*, evaluated for one sensor from its event-time state:
  ``window_sum``, ``window_max``, ``rate`` (rise per hour), ``held`` (threshold held for a
  duration), ``latest``, ``consecutive_days`` (daily maximum), combined with ``any`` / ``all``.
- ``region_trigger`` — *region conditions*, evaluated for a region from its sensors' levels and
  the reports filed there: ``sensors`` (N of the M sensors at this level or above),
  ``reports`` (M reports of a kind within T), combined with ``any`` / ``all``.

Every numeric sensor condition compares a value with a threshold (``gte``), either a constant or
a station attribute (``gte_attr`` × ``factor`` + ``offset``), and may carry ``hysteresis``: once
a sensor is at a level it stays there until the value drops below threshold − hysteresis.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contingency_plans.durations import Duration

StrictNumber = Annotated[float, Field(strict=True, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Threshold(_Strict):
    """A ``value ≥ threshold`` comparison on one sensor kind."""

    kind: str = Field(description="sensor kind read, e.g. rain_mm")
    gte: StrictNumber | None = Field(None, description="constant threshold (value ≥ gte)")
    gte_attr: str | None = Field(
        None, description="take the threshold from this station attribute of the sensor")
    factor: StrictNumber = Field(1.0, description="multiplies the attribute threshold")
    offset: StrictNumber = Field(0.0, description="added to the (attribute) threshold")
    attr_default: StrictNumber | None = Field(
        None, description="threshold attribute value for sensors that lack it")
    hysteresis: StrictNumber = Field(
        0.0, ge=0, description="a sensor at this level leaves it only below threshold − this")

    @model_validator(mode="after")
    def _one_threshold(self) -> _Threshold:
        if (self.gte is None) == (self.gte_attr is None):
            raise ValueError("give exactly one of 'gte' (a number) or 'gte_attr' (an attribute)")
        return self

    def threshold(self, attrs: dict[str, object]) -> float | None:
        """The entry threshold for a sensor with these attributes (None: attribute missing)."""
        if self.gte is not None:
            return self.gte + self.offset
        raw = attrs.get(self.gte_attr or "", self.attr_default)
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            return None
        return float(raw) * self.factor + self.offset


class WindowSum(_Threshold):
    """Sum over an event-time window, e.g. rainfall over 3 h."""

    type: Literal["window_sum"]
    window: Duration


class WindowMax(_Threshold):
    """Maximum over an event-time window, e.g. the highest 10-minute mean wind in 1 h."""

    type: Literal["window_max"]
    window: Duration


class Rate(_Threshold):
    """Rise per hour over a window (threshold in units per hour), e.g. water level m/h."""

    type: Literal["rate"]
    window: Duration


class Held(_Threshold):
    """The value has stayed at or above the threshold for the whole duration."""

    type: Literal["held"]
    duration: Duration


class Latest(_Threshold):
    """The latest value."""

    type: Literal["latest"]


class ConsecutiveDays(_Threshold):
    """The daily maximum reached the threshold on each of the last ``days`` days (today
    included; days in the plan's ``utc_offset``)."""

    type: Literal["consecutive_days"]
    days: int = Field(ge=1, le=31, strict=True)


class AnyOfSensor(_Strict):
    """Holds when any sub-condition holds."""

    type: Literal["any"]
    conditions: list[SensorCondition] = Field(min_length=1)


class AllOfSensor(_Strict):
    """Holds when every sub-condition holds."""

    type: Literal["all"]
    conditions: list[SensorCondition] = Field(min_length=1)


SensorLeaf = WindowSum | WindowMax | Rate | Held | Latest | ConsecutiveDays
SensorCondition = Annotated[
    WindowSum | WindowMax | Rate | Held | Latest | ConsecutiveDays | AnyOfSensor | AllOfSensor,
    Field(discriminator="type"),
]


class SensorsAgree(_Strict):
    """N of the region's M sensors are at this level or above (``min_count`` and, optionally,
    a ``min_fraction`` of M), or at ``at_level`` or above when given (e.g. two sensors at IV
    make the region III). With ``missing_data: ignore`` stale sensors do not count in M."""

    type: Literal["sensors"]
    min_count: int = Field(1, ge=1, strict=True)
    min_fraction: StrictNumber | None = Field(None, gt=0, le=1)
    kind: str | None = Field(None, description="count only sensors of this kind")
    at_level: Literal["IV", "III", "II", "I"] | None = Field(
        None, description="count sensors at this level or above instead of the level's own")


class Reports(_Strict):
    """At least ``min_count`` reports of ``kind`` filed in the region within ``within``."""

    type: Literal["reports"]
    kind: str = Field(min_length=1)
    min_count: int = Field(ge=1, strict=True)
    within: Duration


class AnyOfRegion(_Strict):
    type: Literal["any"]
    conditions: list[RegionCondition] = Field(min_length=1)


class AllOfRegion(_Strict):
    type: Literal["all"]
    conditions: list[RegionCondition] = Field(min_length=1)


RegionCondition = Annotated[
    SensorsAgree | Reports | AnyOfRegion | AllOfRegion, Field(discriminator="type")
]

DEFAULT_REGION_TRIGGER = SensorsAgree(type="sensors", min_count=1, min_fraction=None,
                                      kind=None, at_level=None)
"""A region is at a level when one of its sensors is (the default ``region_trigger``)."""

for _model in (AnyOfSensor, AllOfSensor, AnyOfRegion, AllOfRegion):
    _model.model_rebuild()

CONDITION_TYPES = frozenset({
    "window_sum", "window_max", "rate", "held", "latest", "consecutive_days", "any", "all",
    "sensors", "reports",
})


def sensor_leaves(cond: SensorCondition | None) -> list[SensorLeaf]:
    """Every leaf of a sensor condition tree, in document order."""
    if cond is None:
        return []
    if isinstance(cond, AnyOfSensor | AllOfSensor):
        return [leaf for sub in cond.conditions for leaf in sensor_leaves(sub)]
    return [cond]


def region_leaves(cond: RegionCondition | None) -> list[SensorsAgree | Reports]:
    """Every leaf of a region condition tree, in document order."""
    if cond is None:
        return []
    if isinstance(cond, AnyOfRegion | AllOfRegion):
        return [leaf for sub in cond.conditions for leaf in region_leaves(sub)]
    return [cond]
