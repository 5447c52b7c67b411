"""Durations in plan files: ``90s``, ``30m``, ``3h``, ``1d``, ``1h30m`` or a number of seconds."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_WHOLE = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[smhd]\s*)+$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}

DURATION_PATTERN = r"^\s*(\d+(\.\d+)?\s*[smhd]\s*)+$"


def parse_duration(value: Any) -> float:
    """Seconds from ``"3h"``-style text or a plain number of seconds; ``ValueError`` otherwise."""
    if isinstance(value, bool):
        raise ValueError("a duration must be text like '30m', '3h' or a number of seconds")  # noqa: TRY004 (pydantic reports ValueError)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _WHOLE.match(value):
        return float(sum(float(n) * _UNIT[u] for n, u in _PART.findall(value)))
    raise ValueError(f"{value!r} is not a duration (use e.g. '90s', '30m', '3h', '1d')")


def format_duration(seconds: float) -> str:
    """``10800`` → ``"3h"``; ``5400`` → ``"1h30m"``."""
    rest, out = int(seconds), ""
    for unit in ("d", "h", "m", "s"):
        n, rest = divmod(rest, _UNIT[unit])
        if n:
            out += f"{n}{unit}"
    return out or "0s"


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    Field(gt=0),
    WithJsonSchema({"anyOf": [{"type": "string", "pattern": DURATION_PATTERN},
                              {"type": "number", "exclusiveMinimum": 0}],
                    "description": "a duration: '90s', '30m', '3h', '1d' or seconds"}),
]
"""A positive duration in seconds, written in YAML as ``'3h'`` or a number of seconds."""
