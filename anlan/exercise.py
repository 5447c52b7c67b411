"""The exercise scope of drills: the names every part shares (DESIGN.md, "Exercise scope").

A drill is an exercise end to end. Its readings are marked at the edge — the gateway publishes
them under the MQTT namespace ``anlan/v1/exercise/…`` (see ``sensors/README.md``) — and every
event made from them says so: ``exercise: true`` on ``RawReadings``, ``Readings``, the workers'
condition changes, ``Signal``, ``IncidentEvent`` and ``Task``, CAP status ``Exercise`` on
``Alert``. A drill command of the API targets an exercise-scoped ``plan:region``.

Whatever state a drill builds lives under keys of its own scope (:func:`scoped_key`): the
workers' gateway, region and incident tables, and so incident ids and the alert and task ids
made from them. A drill therefore never reads or writes a real sensor's, region's or incident's
state, and a real crossing during a drill is an ``Actual`` alert of the real incident. Kafka
message keys stay unscoped, so both scopes of a gateway or a plan + region share a partition.
"""

from __future__ import annotations

from typing import Literal

EXERCISE_PREFIX = "EXERCISE:"
"""Prefix of an exercise-scoped key or id. Upper case and ``:``: never the start of a plan id
(``[a-z][a-z0-9_]*``), a region id or a gateway id (``[A-Za-z0-9_.-]``)."""

EXERCISE_TAGS: dict[str, str] = {"zh-CN": "【演练】", "en": "[EXERCISE]"}
"""What every message of a drill starts with, per language."""

EXERCISE_TAG = EXERCISE_TAGS["zh-CN"]

CapStatus = Literal["Actual", "Exercise"]


def scoped_key(key: str, exercise: bool) -> str:
    """``key`` in the exercise scope when ``exercise`` (real keys are left as they are)."""
    return f"{EXERCISE_PREFIX}{key}" if exercise else key


def split_scope(key: str) -> tuple[str, bool]:
    """``(key without its scope, exercise)`` of a possibly scoped key or id."""
    if key.startswith(EXERCISE_PREFIX):
        return key[len(EXERCISE_PREFIX):], True
    return key, False


def is_exercise(key: str) -> bool:
    """True for a key or id of the exercise scope."""
    return key.startswith(EXERCISE_PREFIX)


def cap_status(exercise: bool) -> CapStatus:
    """The CAP ``<status>`` of a message in this scope."""
    return "Exercise" if exercise else "Actual"


def exercise_tag(lang: str) -> str:
    """The drill tag in ``lang`` (zh-CN for any other language)."""
    return EXERCISE_TAGS.get(lang, EXERCISE_TAG)
