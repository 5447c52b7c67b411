"""JSON Schema files of the MQTT contract, generated from the models the bridge validates with.

``python -m sensors.schemas`` rewrites ``sensors/schemas/*.schema.json``; a test fails when a file
is out of date, so the published schemas and the bridge never disagree. Checks that a schema
cannot express (the sensor is registered to the publishing gateway, the region is one of the
directory, timestamps at most 5 minutes ahead, at most 256 KiB, no lone surrogates in strings)
are stated in the descriptions.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from anlan.events import GatewayMessage
from anlan.registry import KINDS
from sensors import contract

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
BASE_ID = "https://anlan.example/schemas/mqtt/v1/"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def readings_schema() -> dict[str, Any]:
    """``anlan/v1/gw/{gateway_id}/readings``."""
    schema = GatewayMessage.model_json_schema()
    reading = schema["$defs"]["RawReading"]
    reading["properties"]["kind"] = {"enum": list(KINDS), "title": "Kind",
                                     "description": "reading kind; see the unit of each"}
    reading["properties"]["value"]["description"] = (
        "a finite number (no NaN/Infinity); rain_mm is the total of the reporting interval")
    reading["properties"]["ts"]["description"] = (
        "RFC 3339 time with UTC offset; at most 5 minutes ahead of the bridge's clock")
    reading["properties"]["unit"] = {
        "anyOf": [{"type": "string"}, {"type": "null"}], "default": None, "title": "Unit",
        "description": "optional; when given it must be the kind's unit: "
        + ", ".join(f"{k}={u}" for k, u in KINDS.items())}
    reading["properties"]["sensor"]["description"] = (
        "sensor id, registered to the publishing gateway in the sensor registry")
    schema["properties"]["seq"]["description"] = (
        "the gateway's message counter (0 … 2^63-1, a PostgreSQL bigint); (gateway, seq, sensor, "
        "ts) identifies a reading")
    schema["examples"] = [{"seq": 42, "readings": [
        {"sensor": "rg-0201", "ts": "2026-07-20T08:00:00+08:00", "kind": "rain_mm", "value": 3.5},
        {"sensor": "sm-0201", "ts": "2026-07-20T08:00:00+08:00", "kind": "soil_moisture_pct",
         "value": 41.2, "unit": "%"}]}]
    return _wrap(schema, "readings", "Gateway readings",
                 f"QoS 1 on anlan/v1/gw/{{gateway_id}}/readings; at most "
                 f"{contract.MAX_PAYLOAD_BYTES} bytes and {contract.MAX_READINGS} readings.")


def status_schema() -> dict[str, Any]:
    """``anlan/v1/gw/{gateway_id}/status`` (a plain-text payload)."""
    return _wrap({"type": "string", "enum": ["online", "offline"], "examples": ["offline"]},
                 "status", "Gateway status",
                 "Plain-text payload (not JSON), retained, QoS 1: 'online' published by the "
                 "gateway on connect, 'offline' set as its last will.")


def report_schema() -> dict[str, Any]:
    """``anlan/v1/reports/{reporter_id}``."""
    schema = contract.ReportMessage.model_json_schema()
    schema["dependentRequired"] = {"lat": ["lon"], "lon": ["lat"]}
    schema["examples"] = [
        {"kind": "flooding", "region": "360121100002-G1", "text": "村口道路积水约30厘米",
         "ts": "2026-07-20T08:05:00+08:00"},
        {"kind": "landslide", "region": "360121101001-G1", "lat": 28.69, "lon": 115.86,
         "ts": "2026-07-20T08:07:00+08:00"}]
    return _wrap(schema, "report", "Report",
                 "QoS 1 on anlan/v1/reports/{reporter_id}: a region of the directory (lat+lon "
                 "optional, for the record: the directory has no geometry to locate a point); "
                 "a time at most 5 minutes ahead of the bridge's clock and at most 7 days old. "
                 "The bridge derives the report id from reporter and ts, so a redelivered report "
                 "dedups.")


def _wrap(schema: dict[str, Any], name: str, title: str, description: str) -> dict[str, Any]:
    return {"$schema": DRAFT, "$id": f"{BASE_ID}{name}.schema.json", **schema, "title": title,
            "description": description}


SCHEMAS = {"readings": readings_schema, "status": status_schema, "report": report_schema}


def render(name: str) -> str:
    return json.dumps(SCHEMAS[name](), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    """Write every schema file (``--check``: only report stale files, exit 1 if any)."""
    stale = []
    SCHEMA_DIR.mkdir(exist_ok=True)
    for name in SCHEMAS:
        path = SCHEMA_DIR / f"{name}.schema.json"
        text = render(name)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(path.name)
            if "--check" not in argv:
                path.write_text(text, encoding="utf-8")
    print(("stale: " if "--check" in argv else "written: ") + (", ".join(stale) or "none"))
    return 1 if stale and "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
