"""Find the sensors an alert's evidence names (pure), whatever the plan's trigger shape.

Evidence is JSON from the assessment (``contingency_plans.evaluate``): a sensor's evidence is
``{sensor, kind, level, matched: [{type, value, threshold, window}]}``; a region's is
``{region, level, matched: [{type: sensors, sensors: [ids], top: <sensor evidence>}]}``. Any
object with a string ``sensor`` (or ``sensor_id``) is one sensor, its ``kind`` and its
``threshold`` / ``value`` taken from itself, its first ``matched`` entry, or its parents; a list
of strings under ``sensors`` names sensors too. Later mentions fill what earlier ones lacked.
"""

from __future__ import annotations

from typing import Any

MAX_SENSORS = 12
FIELDS = ("kind", "threshold", "value")


def evidence_sensors(evidence: Any) -> list[dict[str, Any]]:
    """``[{sensor, kind, threshold, value}]`` named in ``evidence``, in order of mention."""
    found: dict[str, dict[str, Any]] = {}
    _walk(evidence, found, {}, depth=0)
    return list(found.values())[:MAX_SENSORS]


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _add(found: dict[str, dict[str, Any]], sensor: str, info: dict[str, Any]) -> None:
    entry = found.setdefault(sensor, {"sensor": sensor, "kind": None, "threshold": None,
                                      "value": None})
    for key in FIELDS:
        if entry[key] is None and info.get(key) is not None:
            entry[key] = info[key]


def _own(node: dict[str, Any], ctx: dict[str, Any]) -> dict[str, Any]:
    """kind / threshold / value of a node: its own, else its first match's, else inherited."""
    first = next((m for m in node.get("matched", []) if isinstance(m, dict)), {}) \
        if isinstance(node.get("matched"), list) else {}
    kind = node.get("kind") if isinstance(node.get("kind"), str) else ctx.get("kind")
    threshold = _number(node.get("threshold"))
    threshold = threshold if threshold is not None else _number(first.get("threshold"))
    value = _number(node.get("value"))
    value = value if value is not None else _number(first.get("value"))
    return {"kind": kind, "threshold": threshold if threshold is not None
            else ctx.get("threshold"), "value": value}


def _walk(node: Any, found: dict[str, dict[str, Any]], ctx: dict[str, Any], depth: int) -> None:
    if depth > 8 or len(found) >= MAX_SENSORS:
        return
    if isinstance(node, list):
        for item in node:
            _walk(item, found, ctx, depth + 1)
        return
    if not isinstance(node, dict):
        return
    info = _own(node, ctx)
    sensor = node.get("sensor", node.get("sensor_id"))
    if isinstance(sensor, str):
        _add(found, sensor, info)
    here = {"kind": info["kind"], "threshold": info["threshold"]}
    for key, value in node.items():
        if isinstance(value, dict) or (isinstance(value, list) and key != "sensors"):
            _walk(value, found, here, depth + 1)
    names = node.get("sensors")
    if isinstance(names, list):
        for name in names:
            if isinstance(name, str):
                _add(found, name, {"kind": here["kind"]})
            else:
                _walk(name, found, here, depth + 1)
