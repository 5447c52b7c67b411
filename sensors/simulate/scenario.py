"""Scenario files and the frames they produce (pure: the clock is passed in).

A scenario (YAML in ``sensors/scenarios/``) says how long the simulated stretch of time is, its
step, how fast to play it, and which series model drives which sensors of the registry::

    name: rainstorm
    duration: 12h          # event time covered; it ends at "now" when played
    step: 5m
    wall_seconds: 60       # default compression (anlan simulate --speed / --wall-seconds)
    seed: 7
    exercise: false        # true: a drill, always played in the exercise scope
    models:                # first matching rule wins; unmatched sensors are not published
      - sensors: [rg-0201]
        model: scheduled_rain
        params: {schedule: [[0, 5], [1.5, 40]]}
      - kind: rain_mm
        model: storm_rain
        params: {cells: [{x_km: 0, y_km: 5, vx_kmh: 8, peak_mm_h: 45, duration_h: 6}]}
      - kind: "*"
        model: baseline
    faults:
      - {sensors: [tp-0301], fault: spikes, probability: 0.1, magnitude: 40}
      - {sensors: [sm-0201], fault: flatline, at: 2h}
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from anlan.registry import KINDS, Registry, SensorInfo
from sensors.simulate import models as m

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
CHINA_TZ = timezone(timedelta(hours=8))
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message says where and why."""


def parse_duration(text: str | float | int) -> float:
    """``"90s"``, ``"5m"``, ``"3h"``, ``"1d"`` or a number of seconds → seconds."""
    if isinstance(text, (int, float)):
        return float(text)
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"not a duration: {text!r} (use 90s, 5m, 3h, 1d)")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sensors: list[str] | None = None
    kind: str | None = None
    model: Literal["baseline", "storm_rain", "scheduled_rain", "flood_wave", "landslide",
                   "gas_leak"]
    params: dict[str, Any] = Field(default_factory=dict)

    def matches(self, info: SensorInfo) -> bool:
        if self.sensors is not None and info.sensor_id not in self.sensors:
            return False
        return self.kind in (None, "*", info.kind)


class FaultRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sensors: list[str]
    fault: Literal["flatline", "spikes"]
    at: float = 0.0  # seconds after the start (flatline)
    probability: float = Field(0.05, ge=0, le=1)
    magnitude: float = 100.0

    @field_validator("at", mode="before")
    @classmethod
    def _at(cls, value: Any) -> float:
        return parse_duration(value)


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    duration: float  # seconds
    step: float = 300.0
    wall_seconds: float = Field(60.0, gt=0)
    seed: int = 1
    exercise: bool = False  # a drill: published in the exercise namespace (anlan.exercise)
    models: list[Rule] = Field(min_length=1)
    faults: list[FaultRule] = Field(default_factory=list)

    @field_validator("duration", "step", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)

    @property
    def steps(self) -> int:
        return max(1, int(round(self.duration / self.step)))


def load_scenario(name_or_path: str) -> Scenario:
    """A scenario by name (``sensors/scenarios/<name>.yaml``) or by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SCENARIO_DIR / f"{name_or_path}.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml")))
        raise ScenarioError(f"no scenario {name_or_path!r} (known: {known})") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ScenarioError(f"{path}: {where}: {err['msg']}") from None
    return scenario


def sensor_position(info: SensorInfo) -> tuple[float, float]:
    """x/y (km) from the sensor's attrs, else near a stable point of its region."""
    if "x_km" in info.attrs and "y_km" in info.attrs:
        return float(info.attrs["x_km"]), float(info.attrs["y_km"])
    rx, ry = m.position(info.region)
    dx, dy = m.position(info.sensor_id, spread_km=2.0)
    return rx + dx - 1.0, ry + dy - 1.0


def build_model(rule: Rule, info: SensorInfo) -> m.Model:
    """The series model of one sensor under a rule; raise :class:`ScenarioError` on bad params."""
    p = dict(rule.params)
    try:
        if rule.model == "baseline":
            base = m.BASELINES.get(info.kind, m.Baseline())
            return m.Baseline(**{**base.__dict__, **p}) if p else base
        if rule.model == "storm_rain":
            cells = tuple(m.StormCell(**c) for c in p.pop("cells", []))
            x, y = sensor_position(info)
            return m.StormRain(x, y, cells, **p)
        if rule.model == "scheduled_rain":
            schedule = tuple((float(a), float(b)) for a, b in p.pop("schedule"))
            return m.ScheduledRain(schedule, **p)
        cls = {"flood_wave": m.FloodWave, "landslide": m.Landslide, "gas_leak": m.GasLeak}
        return cls[rule.model](**p)  # type: ignore[no-any-return]
    except (TypeError, KeyError, ValueError) as exc:
        raise ScenarioError(f"model {rule.model} for {info.sensor_id}: bad params: {exc}") \
            from None


@dataclass(frozen=True)
class SimSensor:
    info: SensorInfo
    model: m.Model
    period_steps: int
    rng: random.Random


def sim_sensors(scenario: Scenario, registry: Registry) -> list[SimSensor]:
    """Every registry sensor a rule matches, with its model (faults applied) and own RNG."""
    out = []
    for sensor_id in sorted(registry.sensors):
        info = registry.sensors[sensor_id]
        rule = next((r for r in scenario.models if r.matches(info)), None)
        if rule is None or info.kind not in KINDS:
            continue
        model = build_model(rule, info)
        for fault in scenario.faults:
            if sensor_id in fault.sensors:
                model = m.Flatline(model, fault.at / 3600) if fault.fault == "flatline" \
                    else m.Spikes(model, fault.probability, fault.magnitude)
        period = max(1, round(max(info.interval_s, scenario.step) / scenario.step))
        seed = int(hashlib.sha256(f"{scenario.seed}|{sensor_id}".encode()).hexdigest()[:12], 16)
        out.append(SimSensor(info, model, period, random.Random(seed)))
    return out


@dataclass(frozen=True)
class Frame:
    """One gateway message to publish: its event time and readings."""

    ts: datetime
    gateway_id: str
    readings: list[dict[str, Any]]


def frames(scenario: Scenario, registry: Registry, end: datetime
           ) -> Iterator[tuple[int, datetime, list[Frame]]]:
    """Per step ``(index, event time, frames)``; event times run up to ``end`` (never past it),
    aligned to whole steps (a 5-minute gauge reports at :00, :05, …)."""
    sensors = sim_sensors(scenario, registry)
    epoch = end.timestamp()
    end = datetime.fromtimestamp(epoch - epoch % scenario.step, tz=timezone.utc)
    start = end - timedelta(seconds=scenario.steps * scenario.step)
    step_h = scenario.step / 3600
    for k in range(1, scenario.steps + 1):
        ts = (start + timedelta(seconds=k * scenario.step)).astimezone(CHINA_TZ)
        by_gateway: dict[str, list[dict[str, Any]]] = {}
        for s in sensors:
            if k % s.period_steps:
                continue
            value = s.model.value(k * step_h, s.period_steps * step_h, s.rng)
            by_gateway.setdefault(s.info.gateway_id, []).append(
                {"sensor": s.info.sensor_id, "ts": ts.isoformat(), "kind": s.info.kind,
                 "value": value})
        yield k, ts, [Frame(ts, gw, rs) for gw, rs in sorted(by_gateway.items())]
