"""Find the sensors an alert's evidence names (pure), whatever the plan's trigger shape.

Evidence is free-form JSON from the assessment. Any object with a string ``sensor`` (or
``sensor_id``) is taken as one sensor, with its ``kind`` and ``threshold`` when present; a list
under ``sensors`` of strings names sensors too.
"""

from __future__ import annotations

from typing import Any

MAX_SENSORS = 12


def evidence_sensors(evidence: Any) -> list[dict[str, Any]]:
    """``[{sensor, kind, threshold, value}]`` named in ``evidence``, first mention wins."""
    found: dict[str, dict[str, Any]] = {}
    inherited: dict[str, Any] = {}
    _walk(evidence, found, inherited, depth=0)
    return list(found.values())[:MAX_SENSORS]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None


def _walk(node: Any, found: dict[str, dict[str, Any]], ctx: dict[str, Any], depth: int) -> None:
    if depth > 6 or len(found) >= MAX_SENSORS:
        return
    if isinstance(node, list):
        for item in node:
            _walk(item, found, ctx, depth + 1)
        return
    if not isinstance(node, dict):
        return
    here = dict(ctx)
    for key in ("kind", "threshold"):
        if key in node:
            here[key] = node[key]
    sensor = node.get("sensor", node.get("sensor_id"))
    if isinstance(sensor, str) and sensor not in found:
        found[sensor] = {"sensor": sensor, "kind": here.get("kind"),
                         "threshold": _number(here.get("threshold")),
                         "value": _number(node.get("value"))}
    for name in node.get("sensors", []) if isinstance(node.get("sensors"), list) else []:
        if isinstance(name, str) and name not in found:
            found[name] = {"sensor": name, "kind": here.get("kind"),
                           "threshold": _number(here.get("threshold")), "value": None}
    for key, value in node.items():
        if isinstance(value, dict | list) and key != "sensors":
            _walk(value, found, here, depth + 1)
        elif key == "sensors" and isinstance(value, list):
            _walk([v for v in value if isinstance(v, dict)], found, here, depth + 1)
