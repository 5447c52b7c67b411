"""Per-kind quality rules: hard limits reject, soft limits / spikes / rate of change / flat lines
flag. Station attributes in the registry (``attrs``) may override any limit by the same name."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any


@dataclass(frozen=True)
class KindRules:
    """Quality limits of one reading kind (``None`` disables a check)."""

    hard_min: float | None = None
    hard_max: float | None = None
    soft_min: float | None = None
    soft_max: float | None = None
    spike_delta: float | None = None
    """A jump from the previous value larger than this flags a spike (excluded from assessment)."""
    max_rate_per_h: float | None = None
    """A change faster than this per hour flags rate_of_change."""
    flatline_s: float | None = None
    """The same value for at least this long flags a flat line."""


DEFAULT_RULES: dict[str, KindRules] = {
    "rain_mm": KindRules(hard_min=0, hard_max=300, soft_max=100),
    "water_level_m": KindRules(hard_min=-50, hard_max=500, spike_delta=2.0, max_rate_per_h=3.0,
                               flatline_s=24 * 3600),
    "displacement_mm": KindRules(hard_min=-5000, hard_max=50000, spike_delta=500),
    "gas_lel_pct": KindRules(hard_min=0, hard_max=100),
    "smoke_obscuration": KindRules(hard_min=0, hard_max=100),
    "wind_mps": KindRules(hard_min=0, hard_max=120, soft_max=70, spike_delta=40),
    "temperature_c": KindRules(hard_min=-70, hard_max=70, soft_min=-45, soft_max=50,
                               spike_delta=15, flatline_s=12 * 3600),
    "soil_moisture_pct": KindRules(hard_min=0, hard_max=100, spike_delta=25,
                                   flatline_s=2 * 3600),
}

_FIELDS = ("hard_min", "hard_max", "soft_min", "soft_max", "spike_delta", "max_rate_per_h",
           "flatline_s")


def rules_for(kind: str, attrs: dict[str, Any] | None = None) -> KindRules:
    """The rules of ``kind``, with any numeric overrides from the sensor's station attributes."""
    if not attrs:
        return DEFAULT_RULES.get(kind, _NONE)
    overrides = tuple((f, float(attrs[f])) for f in _FIELDS
                      if isinstance(attrs.get(f), int | float) and not isinstance(attrs[f], bool))
    return _with_overrides(kind, overrides)


_NONE = KindRules()


@lru_cache(maxsize=4096)
def _with_overrides(kind: str, overrides: tuple[tuple[str, float], ...]) -> KindRules:
    base = DEFAULT_RULES.get(kind, _NONE)
    return replace(base, **dict(overrides)) if overrides else base
