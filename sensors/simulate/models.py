"""Physically plausible series models for simulated sensors (pure: no I/O, no clocks).

Every model answers ``value(t_h, period_h, rng)``: the reading at ``t_h`` hours after the start
of the scenario, for a sensor that reports every ``period_h`` hours (rain is the total over that
period ending at ``t_h``; the others are instantaneous). Positions are kilometres in a local plane.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, field
from typing import Protocol


class Model(Protocol):
    def value(self, t_h: float, period_h: float, rng: random.Random) -> float: ...


def position(key: str, spread_km: float = 20.0) -> tuple[float, float]:
    """A stable pseudo-position for an id (sensors without coordinates)."""
    digest = hashlib.sha256(key.encode()).digest()
    return (digest[0] / 255 * spread_km, digest[1] / 255 * spread_km)


# ---------------------------------------------------------------- rain

@dataclass(frozen=True)
class StormCell:
    """A convective cell: a Gaussian rain footprint moving at constant velocity, growing and
    decaying over its lifetime."""

    x_km: float
    y_km: float
    vx_kmh: float = 0.0
    vy_kmh: float = 0.0
    radius_km: float = 5.0
    peak_mm_h: float = 40.0
    start_h: float = 0.0
    duration_h: float = 3.0

    def rate(self, x: float, y: float, t_h: float) -> float:
        """Rain rate (mm/h) at a point."""
        age = t_h - self.start_h
        if age < 0 or age > self.duration_h:
            return 0.0
        envelope = math.sin(math.pi * age / self.duration_h)  # grows, matures, decays
        cx, cy = self.x_km + self.vx_kmh * age, self.y_km + self.vy_kmh * age
        d2 = (x - cx) ** 2 + (y - cy) ** 2
        return self.peak_mm_h * envelope * math.exp(-d2 / (2 * self.radius_km ** 2))


@dataclass(frozen=True)
class StormRain:
    """Rain at a gauge from moving storm cells; total over each reporting period (mm)."""

    x_km: float
    y_km: float
    cells: tuple[StormCell, ...]
    background_mm_h: float = 0.0
    substeps: int = 6

    def value(self, t_h: float, period_h: float, rng: random.Random) -> float:
        total = 0.0
        for k in range(self.substeps):  # midpoint rule over the period
            t = t_h - period_h + (k + 0.5) * period_h / self.substeps
            total += sum(c.rate(self.x_km, self.y_km, t) for c in self.cells)
        total = total / self.substeps + self.background_mm_h
        return round(max(0.0, total * period_h * rng.uniform(0.9, 1.1)), 1)


@dataclass(frozen=True)
class ScheduledRain:
    """Rain following a schedule of rates: ``[(from_h, mm_h), ...]`` (step function)."""

    schedule: tuple[tuple[float, float], ...]
    jitter: float = 0.1

    def rate(self, t_h: float) -> float:
        rate = 0.0
        for start, mm_h in self.schedule:
            if t_h >= start:
                rate = mm_h
        return rate

    def value(self, t_h: float, period_h: float, rng: random.Random) -> float:
        mid = t_h - period_h / 2
        noise = rng.uniform(1 - self.jitter, 1 + self.jitter)
        return round(max(0.0, self.rate(mid) * period_h * noise), 2)


# ---------------------------------------------------------------- river level

@dataclass(frozen=True)
class FloodWave:
    """River stage: base level, a flood wave (smooth rise to a peak, exponential recession)."""

    base_m: float = 2.0
    rise_m: float = 2.5
    start_h: float = 1.0
    rise_h: float = 3.0
    recession_h: float = 4.0
    noise_m: float = 0.01

    def level(self, t_h: float) -> float:
        age = t_h - self.start_h
        if age <= 0:
            return self.base_m
        if age <= self.rise_h:
            return self.base_m + self.rise_m * (1 - math.cos(math.pi * age / self.rise_h)) / 2
        return self.base_m + self.rise_m * math.exp(-(age - self.rise_h) / self.recession_h)

    def rate_of_rise(self, t_h: float, dt_h: float = 1.0) -> float:
        """Metres per hour over the last ``dt_h`` hours."""
        return (self.level(t_h) - self.level(t_h - dt_h)) / dt_h

    def value(self, t_h: float, period_h: float, rng: random.Random) -> float:
        return round(self.level(t_h) + rng.gauss(0, self.noise_m), 3)


# ---------------------------------------------------------------- slope displacement

@dataclass(frozen=True)
class Landslide:
    """Slope displacement accelerating towards failure (Fukuzono: 1/velocity falls linearly).

    Velocity ``v = v0 / (1 - t/tf)``, so displacement ``d = -v0·tf·ln(1 - t/tf)`` until the
    failure time ``tf``; after failure the sensor reads the displaced value plus a jump.
    """

    creep_mm_h: float = 0.05
    start_h: float = 0.0
    failure_h: float = 10.0
    failure_jump_mm: float = 500.0
    noise_mm: float = 0.05

    def displacement(self, t_h: float) -> float:
        age = t_h - self.start_h
        tf = self.failure_h - self.start_h
        if age <= 0:
            return 0.0
        if age >= tf * 0.999:
            return -self.creep_mm_h * tf * math.log(0.001) + self.failure_jump_mm
        return -self.creep_mm_h * tf * math.log(1 - age / tf)

    def velocity(self, t_h: float) -> float:
        """mm/h at ``t_h`` (infinite at failure)."""
        age, tf = t_h - self.start_h, self.failure_h - self.start_h
        return self.creep_mm_h / max(1e-9, 1 - age / tf) if age > 0 else self.creep_mm_h

    def value(self, t_h: float, period_h: float, rng: random.Random) -> float:
        return round(max(0.0, self.displacement(t_h) + rng.gauss(0, self.noise_mm)), 2)


# ---------------------------------------------------------------- gas

@dataclass(frozen=True)
class GasLeak:
    """Combustible gas (%LEL): background, then a leak ramping to a fluctuating plateau."""

    background_pct: float = 0.5
    start_h: float = 1.0
    ramp_h: float = 0.5
    plateau_pct: float = 35.0
    fluctuation: float = 0.15

    def value(self, t_h: float, period_h: float, rng: random.Random) -> float:
        age = t_h - self.start_h
        level = self.background_pct
        if age > 0:
            level += self.plateau_pct * min(1.0, age / self.ramp_h) * \
                rng.uniform(1 - self.fluctuation, 1 + self.fluctuation)
        else:
            level += rng.uniform(-0.3, 0.3)
        return round(min(100.0, max(0.0, level)), 1)


# ---------------------------------------------------------------- quiet sensors

@dataclass(frozen=True)
class Baseline:
    """A quiet signal: mean, a daily cycle, noise, clipped to a range."""

    mean: float = 0.0
    daily_amplitude: float = 0.0
    noise: float = 0.0
    low: float = -math.inf
    high: float = math.inf
    phase_h: float = 0.0
    digits: int = 2

    def value(self, t_h: float, period_h: float, rng: random.Random) -> float:
        v = self.mean + self.daily_amplitude * math.sin(2 * math.pi * (t_h + self.phase_h) / 24)
        v += rng.gauss(0, self.noise) if self.noise else 0.0
        return round(min(self.high, max(self.low, v)), self.digits)


BASELINES: dict[str, Baseline] = {
    "rain_mm": Baseline(0.0, low=0.0),
    "water_level_m": Baseline(2.0, noise=0.01, low=0.0, digits=3),
    "displacement_mm": Baseline(0.0, noise=0.05, low=0.0),
    "gas_lel_pct": Baseline(0.5, noise=0.2, low=0.0, high=100.0, digits=1),
    "smoke_obscuration": Baseline(0.1, noise=0.03, low=0.0, digits=3),
    "wind_mps": Baseline(3.0, daily_amplitude=1.5, noise=0.8, low=0.0, digits=1),
    "temperature_c": Baseline(24.0, daily_amplitude=5.0, noise=0.3, phase_h=-9, digits=1),
    "soil_moisture_pct": Baseline(30.0, noise=0.5, low=0.0, high=100.0, digits=1),
}
"""The quiet default of each supported kind."""


# ---------------------------------------------------------------- faults

@dataclass
class Flatline:
    """A faulty sensor: from ``at_h`` on it repeats the last good value."""

    inner: Model
    at_h: float
    _stuck: float | None = field(default=None, repr=False)

    def value(self, t_h: float, period_h: float, rng: random.Random) -> float:
        if t_h < self.at_h:
            self._stuck = self.inner.value(t_h, period_h, rng)
            return self._stuck
        if self._stuck is None:
            self._stuck = self.inner.value(t_h, period_h, rng)
        return self._stuck


@dataclass(frozen=True)
class Spikes:
    """A faulty sensor: each reading is, with ``probability``, off by ±``magnitude``."""

    inner: Model
    probability: float = 0.05
    magnitude: float = 100.0
    low: float = 0.0

    def value(self, t_h: float, period_h: float, rng: random.Random) -> float:
        v = self.inner.value(t_h, period_h, rng)
        if rng.random() < self.probability:
            v = max(self.low, v + rng.choice((-1, 1)) * self.magnitude)
        return v
