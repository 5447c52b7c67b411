"""The published JSON Schemas are current and their examples pass the bridge's checks."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from anlan import topics
from anlan.regions import load_region_ids
from anlan.registry import load_registry
from anlan.settings import DEMO_DIR
from sensors import schemas
from sensors.contract import route

REGISTRY = load_registry(Path(DEMO_DIR) / "sensors.yaml")
REGIONS = load_region_ids(Path(DEMO_DIR) / "directory.yaml")
NOW = datetime(2026, 7, 20, 1, 0, tzinfo=timezone.utc)


def test_schema_files_are_current() -> None:
    assert schemas.main(["--check"]) == 0, "run: python -m sensors.schemas"


@pytest.mark.parametrize(("name", "topic", "target"), [
    ("readings", "anlan/v1/gw/gw-0002/readings", topics.READINGS_RAW),
    ("report", "anlan/v1/reports/p-0001", topics.REPORTS_RAW),
    ("status", "anlan/v1/gw/gw-0002/status", topics.GATEWAY_STATUS),
])
def test_examples_are_accepted(name: str, topic: str, target: str) -> None:
    schema = json.loads((schemas.SCHEMA_DIR / f"{name}.schema.json").read_text())
    assert schema["$schema"].endswith("2020-12/schema") and schema["examples"]
    for example in schema["examples"]:
        payload = example.encode() if isinstance(example, str) else json.dumps(example).encode()
        assert [r.topic for r in route(topic, payload, REGISTRY, NOW, regions=REGIONS)] == [target]


def test_readings_schema_lists_every_kind() -> None:
    schema = schemas.readings_schema()
    kinds = schema["$defs"]["RawReading"]["properties"]["kind"]["enum"]
    assert set(kinds) == {"rain_mm", "water_level_m", "displacement_mm", "gas_lel_pct",
                          "smoke_obscuration", "wind_mps", "temperature_c", "soil_moisture_pct"}
    assert schema["additionalProperties"] is False
