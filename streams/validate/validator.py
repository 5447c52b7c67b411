"""Validate one gateway message against the registry and each sensor's recent history.

Hard limits, unknown sensors, a sensor of another gateway, a wrong kind and times in the future
or far in the past reject a reading (it goes to the dead letter). Soft limits, spikes, rate of
change, flat lines and stale times only flag it. A reading whose sensor + time was already seen is
a duplicate (a replayed or re-sent message) and is dropped silently: a replay is not bad input.
"""

from __future__ import annotations

import bisect
import operator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import repeat
from typing import Any

from anlan.events import QualityFlag, RawReadings
from anlan.registry import Registry, SensorInfo
from streams.codec import dumps
from streams.validate.rules import KindRules, rules_for

MAX_FUTURE = timedelta(minutes=5)
STALE_AFTER = timedelta(hours=2)
MAX_AGE = timedelta(days=7)
SEEN_RING = 32
"""How many recent reading times per sensor are kept for deduplication."""

_SPIKE, _DUPLICATE, _STALE = QualityFlag.SPIKE, QualityFlag.DUPLICATE, QualityFlag.STALE
_MAX_AGE_S, _MAX_FUTURE_S, _STALE_S = (MAX_AGE.total_seconds(), MAX_FUTURE.total_seconds(),
                                       STALE_AFTER.total_seconds())
_RULES: dict[int, tuple[SensorInfo, KindRules, float, float, bool]] = {}
_INF = float("inf")


def _rules_of(info: SensorInfo) -> tuple[SensorInfo, KindRules, float, float, bool]:
    """``(info, rules_for(info.kind, info.attrs), hard min, hard max, flagging)`` (±inf when
    unset; ``flagging``: any check of :func:`_flags` is set), memoised per registry entry (the
    registry is reference data: an entry's kind and attributes do not change while loaded)."""
    hit = _RULES.get(id(info))
    if hit is not None and hit[0] is info:
        return hit
    rules = rules_for(info.kind, info.attrs)
    if len(_RULES) >= 100_000:
        _RULES.clear()
    flagging = any(getattr(rules, f) is not None for f in (
        "soft_min", "soft_max", "spike_delta", "max_rate_per_h", "flatline_s"))
    entry = (info, rules, -_INF if rules.hard_min is None else rules.hard_min,
             _INF if rules.hard_max is None else rules.hard_max, flagging)
    _RULES[id(info)] = entry  # holds ``info``: its id is not reused while cached
    return entry


@dataclass
class SensorMemory:
    """What validation remembers of one sensor (compact, JSON-serialisable)."""

    last_ts: float | None = None  # latest reading time seen (epoch s)
    last_value: float | None = None  # latest value that was not a spike
    value_ts: float | None = None  # its time
    flat_since: float | None = None
    seen: list[float] = field(default_factory=list)  # sorted recent reading times (epoch s)

    def to_dict(self) -> dict[str, Any]:
        base = self.last_ts or 0.0
        return {"t": self.last_ts, "v": self.last_value, "vt": self.value_ts,
                "f": self.flat_since, "s": list(map(operator.sub, self.seen, repeat(base)))}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SensorMemory:
        base = data.get("t") or 0.0
        return cls(last_ts=data.get("t"), last_value=data.get("v"), value_ts=data.get("vt"),
                   flat_since=data.get("f"), seen=[base + s for s in data.get("s", [])])

    def is_duplicate(self, ts: float) -> bool | None:
        """True when seen, False when new, None when too old to tell (outside the ring)."""
        if self.last_ts is None or ts > self.last_ts:
            return False
        i = bisect.bisect_left(self.seen, ts)
        if i < len(self.seen) and self.seen[i] == ts:
            return True
        if len(self.seen) >= SEEN_RING and ts < self.seen[0]:
            return None
        return False

    def remember(self, ts: float, value: float, spike: bool) -> None:
        """Record a new reading (after its flags were computed); a spike is not a value."""
        seen = self.seen
        if not seen or ts > seen[-1]:
            seen.append(ts)
        else:
            bisect.insort(seen, ts)
        if len(seen) > SEEN_RING:
            del seen[0]
        if self.last_ts is not None and ts < self.last_ts:
            return  # out of order: the history of the latest value is unchanged
        self.last_ts = ts
        if spike:
            return
        if self.last_value is None or value != self.last_value:
            self.flat_since = ts
        self.last_value, self.value_ts = value, ts


@dataclass
class CheckedReading:
    """A validated reading (the fields of :class:`anlan.events.Reading`, without the cost of
    a pydantic model per reading on the hot path). Not ``slots``: orjson encodes a dataclass
    with a ``__dict__`` about three times as fast."""

    sensor: str
    ts: datetime
    kind: str
    value: float
    region: str
    flags: list[QualityFlag]


def readings_event(msg: RawReadings, readings: list[CheckedReading]) -> bytes:
    """The ``anlan.readings`` event (a :class:`anlan.events.Readings`) of a gateway message."""
    return dumps({"gateway_id": msg.gateway_id, "seq": msg.seq, "received_at": msg.received_at,
                  "readings": readings, "exercise": msg.exercise})


@dataclass
class Rejection:
    sensor: str
    ts: str
    reason: str


@dataclass
class ValidationResult:
    """Readings to forward, rejections for the dead letter, and what the assessment may use."""

    readings: list[CheckedReading] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    duplicates: int = 0
    assessable: list[tuple[SensorInfo, CheckedReading, float]] = field(default_factory=list)
    """Readings the assessment may use, with their sensor and their time in epoch seconds."""


def validate_message(msg: RawReadings, registry: Registry,
                     memory: dict[str, SensorMemory]) -> ValidationResult:
    """Validate every reading of ``msg``; update ``memory`` (per sensor id) in place."""
    result = ValidationResult()
    received = msg.received_at.timestamp()
    window = (received - _MAX_AGE_S, received + _MAX_FUTURE_S, received - _STALE_S)
    gateway = msg.gateway_id
    sensor_of = registry.sensors.get
    rules_of = _RULES.get
    readings, assessable = result.readings, result.assessable
    for raw in msg.readings:
        sid = raw.sensor
        info = sensor_of(sid)
        ts = raw.ts.timestamp()  # once per reading: the rest of the path uses this
        value = raw.value
        if info is None:
            result.rejected.append(Rejection(sid, raw.ts.isoformat(), "unknown sensor"))
            continue
        entry = rules_of(id(info))
        if entry is None or entry[0] is not info:
            entry = _rules_of(info)
        _, rules, hard_min, hard_max, flagging = entry
        if info.gateway_id != gateway or raw.kind != info.kind or ts > window[1] or \
                ts < window[0] or value < hard_min or value > hard_max:
            reason = _reject_reason(gateway, raw.kind, value, ts, window, info, rules) or "?"
            result.rejected.append(Rejection(sid, raw.ts.isoformat(), reason))
            continue
        mem = memory.get(sid)
        if mem is None:
            mem = memory[sid] = SensorMemory()
        last = mem.last_ts
        dup = False if last is None or ts > last else mem.is_duplicate(ts)
        if dup:
            result.duplicates += 1
            continue
        flags = _flags(value, ts, rules, mem) if flagging else []
        if dup is None or ts < window[2]:
            flags.append(_STALE)
        if dup is None:
            flags.append(_DUPLICATE)  # cannot rule it out: keep it out of the sums
        else:
            mem.remember(ts, value, _SPIKE in flags)
        reading = CheckedReading(sid, raw.ts, raw.kind, value, info.region, flags)
        readings.append(reading)
        if not flags or (_SPIKE not in flags and _DUPLICATE not in flags):
            assessable.append((info, reading, ts))
    return result


def _reject_reason(gateway: str, kind: str, value: float, ts: float,
                   window: tuple[float, float, float], info: SensorInfo,
                   rules: KindRules) -> str | None:
    """Why a reading of a known sensor is rejected (None: it is not)."""
    if info.gateway_id != gateway:
        return f"sensor registered to gateway {info.gateway_id}, not {gateway}"
    if kind != info.kind:
        return f"kind {kind} does not match the registry ({info.kind})"
    if ts > window[1]:
        return "time in the future"
    if ts < window[0]:
        return "time too far in the past"
    if rules.hard_min is not None and value < rules.hard_min:
        return f"below hard limit {rules.hard_min:g}"
    if rules.hard_max is not None and value > rules.hard_max:
        return f"above hard limit {rules.hard_max:g}"
    return None


def _flags(value: float, ts: float, rules: KindRules, mem: SensorMemory) -> list[QualityFlag]:
    flags: list[QualityFlag] = []
    if (rules.soft_min is not None and value < rules.soft_min) or \
            (rules.soft_max is not None and value > rules.soft_max):
        flags.append(QualityFlag.SOFT_LIMIT)
    if mem.value_ts is None or mem.last_value is None or ts <= mem.value_ts:
        return flags
    delta = abs(value - mem.last_value)
    if rules.spike_delta is not None and delta > rules.spike_delta:
        flags.append(QualityFlag.SPIKE)
    elif rules.max_rate_per_h is not None and \
            delta / max(ts - mem.value_ts, 1.0) * 3600 > rules.max_rate_per_h:
        flags.append(QualityFlag.RATE_OF_CHANGE)
    if rules.flatline_s is not None and value == mem.last_value and mem.flat_since is not None \
            and ts - mem.flat_since >= rules.flatline_s:
        flags.append(QualityFlag.FLATLINE)
    return flags
