"""The JSON Schema of a plan file, for editors (``plan.schema.json`` beside this module).

Regenerate with ``python -m contingency_plans schema --write``; a test checks it is current.
A YAML file can point editors at it with a first line
``# yaml-language-server: $schema=../plan.schema.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contingency_plans.plan import Plan

SCHEMA_PATH = Path(__file__).parent / "plan.schema.json"


def plan_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a plan document."""
    schema = Plan.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://anlan.example/contingency_plans/plan.schema.json", **schema}


def schema_text() -> str:
    """The schema as written to :data:`SCHEMA_PATH` (stable key order, trailing newline)."""
    return json.dumps(plan_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    path.write_text(schema_text(), encoding="utf-8")
    return path
