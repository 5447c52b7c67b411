"""Shared helpers of the streams tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from anlan.registry import Registry

T0 = datetime(2026, 7, 20, 0, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def registry() -> Registry:
    return Registry.model_validate({"gateways": {
        "gw-1": {"region": "360121100001", "sensors": {
            "rg-1": {"kind": "rain_mm", "region": "360121100001-G1", "interval_s": 300},
            "rg-2": {"kind": "rain_mm", "region": "360121100001-G1", "interval_s": 300},
            "tp-1": {"kind": "temperature_c", "region": "360121100001-G1", "interval_s": 300},
            "wl-1": {"kind": "water_level_m", "region": "360121100001-G1", "interval_s": 300,
                     "attrs": {"warning_level": 3.5, "hard_max": 10}},
        }},
        "gw-2": {"region": "360121100002", "sensors": {
            "rg-9": {"kind": "rain_mm", "region": "360121100002-G1", "interval_s": 60},
        }},
    }})
