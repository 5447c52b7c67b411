"""The sensor registry: which gateway owns which sensor, where it is, and its station attributes.

Loaded from a YAML file (``ANLAN_SENSORS_FILE``)::

    gateways:
      gw-0001:
        region: "110101001001"          # grid or village region id
        sensors:
          rg-0101: {kind: rain_mm, region: "110101001001", interval_s: 300}
          wl-0102: {kind: water_level_m, attrs: {warning_level: 3.5, guaranteed_level: 4.2}}

The bridge uses it to reject readings of sensors not registered to the publishing gateway; the
streams use it for the region and station attributes of each sensor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from anlan.errors import StartupError

KINDS: dict[str, str] = {
    "rain_mm": "mm",
    "water_level_m": "m",
    "displacement_mm": "mm",
    "gas_lel_pct": "%LEL",
    "smoke_obscuration": "%/m",
    "wind_mps": "m/s",
    "temperature_c": "°C",
    "soil_moisture_pct": "%",
}
"""Supported reading kinds and their canonical units."""


class SensorInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sensor_id: str = ""
    gateway_id: str = ""
    kind: str
    region: str = ""
    interval_s: int = 300
    attrs: dict[str, Any] = Field(default_factory=dict)


class GatewayInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: str
    sensors: dict[str, SensorInfo] = Field(default_factory=dict)


class Registry(BaseModel):
    """All gateways and sensors; ``sensor(id)`` and ``owns(gateway, sensor)`` are O(1)."""

    model_config = ConfigDict(extra="forbid")

    gateways: dict[str, GatewayInfo] = Field(default_factory=dict)

    def model_post_init(self, __context: Any) -> None:
        self._sensors: dict[str, SensorInfo] = {}
        for gw_id, gw in self.gateways.items():
            for sensor_id, info in gw.sensors.items():
                info.sensor_id = sensor_id
                info.gateway_id = gw_id
                info.region = info.region or gw.region
                self._sensors[sensor_id] = info

    def sensor(self, sensor_id: str) -> SensorInfo | None:
        return self._sensors.get(sensor_id)

    def owns(self, gateway_id: str, sensor_id: str) -> bool:
        info = self._sensors.get(sensor_id)
        return info is not None and info.gateway_id == gateway_id

    @property
    def sensors(self) -> dict[str, SensorInfo]:
        return self._sensors


class RegistryError(StartupError, ValueError):
    """The sensors file is missing or invalid (a part cannot start without it)."""


def load_registry(path: Path) -> Registry:
    """Load and validate the sensors file; raise :class:`RegistryError` with a plain message."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise RegistryError(f"sensors file not found: {path} (set ANLAN_SENSORS_FILE)") from exc
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return Registry.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RegistryError(f"{path}: {where}: {first['msg']}") from exc
