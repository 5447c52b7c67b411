"""The gateways' MQTT contract, checked: pure functions from (topic, payload) to Kafka records.

No I/O here. :func:`route` turns one MQTT message into the Kafka records the bridge must produce
(forwarded events and dead letters); the bridge only sends them and acks the MQTT message after
Kafka acknowledged every one.

Topics (``{id}`` is ``[A-Za-z0-9_.-]{1,64}``)::

    anlan/v1/gw/{gateway_id}/readings   {"seq": 42, "readings": [{sensor, ts, kind, value, unit?}]}
    anlan/v1/gw/{gateway_id}/status     online | offline   (retained; the gateway's last will)
    anlan/v1/reports/{reporter_id}      {"kind", "region", "lat"?, "lon"?, "text"?, "ts"}
    anlan/v1/exercise/gw/{gateway_id}/readings   a drill's readings (same payload), forwarded
                                                 with ``exercise: true`` (see anlan.exercise)
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from anlan import topics
from anlan.bounds import (
    BIGINT_MAX,
    CLOCK_SKEW,
    EARLIEST,
    REPORT_NEEDS_REGION,
    bad_unicode_in_json,
    invalid_unicode,
    report_time_problem,
)
from anlan.events import (
    DeadLetter,
    GatewayMessage,
    GatewayStatus,
    RawReading,
    RawReadings,
    Report,
)
from anlan.regions import REGION_ID_PATTERN
from anlan.registry import KINDS, Registry

PREFIX = "anlan/v1"
EXERCISE_PREFIX = f"{PREFIX}/exercise"
"""The exercise namespace: a drill publishes its readings here, never on the real topics."""
MAX_PAYLOAD_BYTES = 256 * 1024
"""Largest payload the bridge accepts (1,000 readings of ~200 bytes fit comfortably)."""
MAX_READINGS = 1000
MAX_FUTURE_SKEW = CLOCK_SKEW
"""A reading may be at most this far ahead of the bridge's clock (gateway clock drift)."""
EARLIEST_TS = EARLIEST
DEADLETTER_ORIGINAL_LIMIT = 64 * 1024
"""Dead letters keep at most this many bytes of an oversized original (Kafka request limits)."""

_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def subscriptions(share_group: str) -> list[str]:
    """The bridge's subscriptions (QoS 1): shared by the group, or plain when it is empty.

    Measured on Mosquitto 2.0.11: messages for a *shared* subscription whose client is away are
    lost when the broker restarts before the client is back; a plain subscription's queue
    survives. A single bridge may therefore run with ``ANLAN_MQTT_SHARE_GROUP=""``.
    """
    base = f"$share/{share_group}/{PREFIX}" if share_group else PREFIX
    return [f"{base}/gw/+/readings", f"{base}/gw/+/status", f"{base}/reports/+",
            f"{base}/exercise/gw/+/readings"]


def readings_topic(gateway_id: str, exercise: bool = False) -> str:
    """The readings topic of a gateway; ``exercise``: the drill namespace's."""
    return f"{EXERCISE_PREFIX if exercise else PREFIX}/gw/{gateway_id}/readings"


def status_topic(gateway_id: str) -> str:
    return f"{PREFIX}/gw/{gateway_id}/status"


def report_topic(reporter_id: str) -> str:
    return f"{PREFIX}/reports/{reporter_id}"


@dataclass(frozen=True, slots=True)
class Record:
    """One Kafka record to produce: contract topic name (unprefixed), key and value bytes."""

    topic: str
    key: str | None
    value: bytes
    seq: int | None = None  # a readings message's seq, when it had a valid one


class Rejected(Exception):
    """An MQTT message (or part of one) that breaks the contract; the message is the reason."""


def route(topic: str, payload: bytes, registry: Registry, now: datetime, *,
          regions: Collection[str]) -> list[Record]:
    """All Kafka records for one MQTT message. Never raises on bad input: it dead-letters it.

    ``regions``: the region ids of the directory (a report must name one of them)."""
    key: str | None = None
    try:
        parts = topic.split("/")
        if len(parts) == 6 and topic.startswith(f"{EXERCISE_PREFIX}/gw/") and \
                parts[5] == "readings":
            key = _check_id(parts[4], "gateway id")
            return route_readings(key, topic, payload, registry, now, exercise=True)
        if len(parts) == 5 and topic.startswith(f"{PREFIX}/gw/"):
            key = _check_id(parts[3], "gateway id")
            if parts[4] == "readings":
                return route_readings(key, topic, payload, registry, now)
            if parts[4] == "status":
                if key not in registry.gateways:
                    raise Rejected(f"gateway {key!r} is not registered")
                return [_status_record(key, payload, now)]
        if len(parts) == 4 and topic.startswith(f"{PREFIX}/reports/"):
            key = _check_id(parts[3], "reporter id")
            return [_report_record(key, payload, regions, now)]
        raise Rejected(f"topic {topic!r} is not part of the contract")
    except Rejected as exc:
        return [dead_letter(str(exc), topic, payload, key)]
    except Exception as exc:  # noqa: BLE001 - the bridge must never crash on input
        return [dead_letter(f"internal error on this input: {exc!r}", topic, payload, key)]


def dead_letter(reason: str, topic: str, payload: bytes, key: str | None,
                seq: int | None = None) -> Record:
    """A dead-letter record; an oversized original is truncated (and the reason says so).
    ``seq``: the seq of the readings message it rejects, when that was valid."""
    if len(payload) > DEADLETTER_ORIGINAL_LIMIT:
        reason = f"{reason} (original truncated to {DEADLETTER_ORIGINAL_LIMIT} of " \
                 f"{len(payload)} bytes)"
        payload = payload[:DEADLETTER_ORIGINAL_LIMIT]
    letter = DeadLetter.of(stage="bridge", reason=reason, source_topic=topic, original=payload,
                           key=key)
    return Record(topics.DEADLETTER, key, letter.to_bytes(), seq)


def route_readings(gateway_id: str, topic: str, payload: bytes, registry: Registry,
                   now: datetime, exercise: bool = False) -> list[Record]:
    """Forward the good readings of a gateway message; dead-letter the bad ones with reasons.
    ``exercise``: a drill's message (its topic is in the exercise namespace)."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise Rejected(f"payload too large: {len(payload)} bytes > {MAX_PAYLOAD_BYTES}")
    try:  # fast path: well-formed messages validate in one strict pass of pydantic-core
        message = GatewayMessage.model_validate_json(payload, strict=True)
    except ValidationError:
        return _route_readings_slow(gateway_id, topic, payload, registry, now, exercise)
    if gateway_id not in registry.gateways:
        raise Rejected(f"gateway {gateway_id!r} is not registered")
    latest = now + MAX_FUTURE_SKEW
    body = payload.strip()
    if body.startswith(b"{") and _all_fine(message.readings, gateway_id, registry, latest):
        return [Record(topics.READINGS_RAW, gateway_id,
                       _splice(gateway_id, topic, now, body, exercise), message.seq)]
    good: list[RawReading] = []
    bad: list[tuple[int, Any, str]] = []
    for index, reading in enumerate(message.readings):
        try:
            good.append(_check_meaning(reading, gateway_id, registry, latest))
        except Rejected as exc:
            bad.append((index, reading.model_dump(mode="json", exclude_none=True), str(exc)))
    return _records(gateway_id, topic, payload, message.seq, len(message.readings), good, bad,
                    now, exercise)


def _all_fine(readings: list[RawReading], gateway_id: str, registry: Registry,
              latest: datetime) -> bool:
    """The common case in one cheap pass: every reading passes :func:`_check_meaning`."""
    sensors = registry.sensors
    tz = readings[0].ts.tzinfo  # pydantic shares one tzinfo per offset within a message, and
    low, high = EARLIEST_TS.astimezone(tz), latest.astimezone(tz)  # same-tzinfo compares are cheap
    for r in readings:
        info = sensors.get(r.sensor)
        if info is None or info.gateway_id != gateway_id or info.kind != r.kind or \
                r.kind not in KINDS or (r.unit is not None and r.unit != KINDS[r.kind]):
            return False
        ts = r.ts
        if not (low <= ts <= high if ts.tzinfo is tz else EARLIEST_TS <= ts <= latest):
            return False
    return True


def _splice(gateway_id: str, topic: str, now: datetime, body: bytes,
            exercise: bool = False) -> bytes:
    """The ``RawReadings`` event of a fully valid message: the bridge's fields spliced in front of
    the gateway's own (strictly validated) ``seq`` and ``readings`` — no re-serialisation."""
    head = '{"gateway_id":%s,"mqtt_topic":%s,"received_at":"%s",%s' % (
        json.dumps(gateway_id), json.dumps(topic), now.isoformat(),
        '"exercise":true,' if exercise else "")
    return head.encode() + body[1:]


def _route_readings_slow(gateway_id: str, topic: str, payload: bytes, registry: Registry,
                         now: datetime, exercise: bool = False) -> list[Record]:
    """Reading by reading, so each bad one gets its own reason and the good ones still pass."""
    body = _json_object(payload)
    seq = body.get("seq")
    if type(seq) is not int or not 0 <= seq <= BIGINT_MAX:
        raise Rejected(f"'seq' must be an integer from 0 to {BIGINT_MAX} (2^63-1)")
    try:
        return _route_checked(gateway_id, topic, payload, body, seq, registry, now, exercise)
    except Rejected as exc:
        return [dead_letter(str(exc), topic, payload, gateway_id, seq)]


def _route_checked(gateway_id: str, topic: str, payload: bytes, body: dict[str, Any], seq: int,
                   registry: Registry, now: datetime, exercise: bool = False) -> list[Record]:
    raw = body.get("readings")
    if not isinstance(raw, list) or not raw:
        raise Rejected("'readings' must be a non-empty list")
    if len(raw) > MAX_READINGS:
        raise Rejected(f"too many readings: {len(raw)} > {MAX_READINGS}")
    extra = set(body) - {"seq", "readings"}
    if extra:
        raise Rejected(f"unknown fields: {sorted(extra)}")
    if gateway_id not in registry.gateways:
        raise Rejected(f"gateway {gateway_id!r} is not registered")
    good: list[RawReading] = []
    bad: list[tuple[int, Any, str]] = []
    for index, item in enumerate(raw):
        try:
            good.append(check_reading(item, gateway_id, registry, now))
        except Rejected as exc:
            bad.append((index, item, str(exc)))
    return _records(gateway_id, topic, payload, seq, len(raw), good, bad, now, exercise)


def _records(gateway_id: str, topic: str, payload: bytes, seq: int, count: int,
             good: list[RawReading], bad: list[tuple[int, Any, str]],
             now: datetime, exercise: bool = False) -> list[Record]:
    records: list[Record] = []
    if good:
        event = RawReadings(gateway_id=gateway_id, mqtt_topic=topic, received_at=now, seq=seq,
                            readings=good, exercise=exercise)
        records.append(Record(topics.READINGS_RAW, gateway_id, event.to_bytes(), seq))
    if bad:
        reasons = "; ".join(f"readings[{i}]: {why}" for i, _, why in bad)
        reason = f"{len(bad)} of {count} readings rejected (seq {seq}): {reasons}"
        original = json.dumps({"seq": seq, "readings": [item for _, item, _ in bad]},
                              ensure_ascii=False).encode()
        records.append(dead_letter(reason, topic, original if good else payload, gateway_id, seq))
    return records


def check_reading(item: Any, gateway_id: str, registry: Registry, now: datetime) -> RawReading:
    """Validate one reading of ``gateway_id``; raise :class:`Rejected` with the reason."""
    if not isinstance(item, dict):
        raise Rejected(f"not an object but {type(item).__name__}")
    value = item.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Rejected(f"'value' must be a number, got {type(value).__name__}")
    if not isinstance(item.get("ts"), str):
        raise Rejected("'ts' must be an RFC 3339 string with offset")
    try:
        reading = RawReading.model_validate(item)
    except ValidationError as exc:
        raise Rejected(_first_error(exc)) from None
    return _check_meaning(reading, gateway_id, registry, now + MAX_FUTURE_SKEW)


def _check_meaning(reading: RawReading, gateway_id: str, registry: Registry,
                   latest: datetime) -> RawReading:
    """Kind, ownership, unit and time checks of a well-formed reading."""
    if reading.kind not in KINDS:
        raise Rejected(f"unknown kind {reading.kind!r}")
    info = registry.sensor(reading.sensor)
    if info is None:
        raise Rejected(f"sensor {reading.sensor!r} is not registered")
    if info.gateway_id != gateway_id:
        raise Rejected(f"sensor {reading.sensor!r} is not registered to gateway {gateway_id!r}")
    if info.kind != reading.kind:
        raise Rejected(f"sensor {reading.sensor!r} measures {info.kind}, not {reading.kind}")
    if reading.unit is not None and reading.unit != KINDS[reading.kind]:
        raise Rejected(f"unit {reading.unit!r} is not {KINDS[reading.kind]!r} for {reading.kind}")
    if reading.ts > latest:
        raise Rejected(f"timestamp {reading.ts.isoformat()} is in the future")
    if reading.ts < EARLIEST_TS:
        raise Rejected(f"timestamp {reading.ts.isoformat()} is implausibly old")
    return reading


def _status_record(gateway_id: str, payload: bytes, now: datetime) -> Record:
    if len(payload) > 64:
        raise Rejected("status payload must be 'online' or 'offline'")
    text = payload.decode("utf-8", errors="replace").strip().lower()
    if text not in ("online", "offline"):
        raise Rejected(f"status payload must be 'online' or 'offline', got {text[:20]!r}")
    event = GatewayStatus(gateway_id=gateway_id, status=text, at=now)  # type: ignore[arg-type]
    return Record(topics.GATEWAY_STATUS, gateway_id, event.to_bytes())


def report_id(reporter_id: str, ts: datetime) -> str:
    """Deterministic id of an MQTT report (reporter + time), so a redelivered report dedups."""
    digest = hashlib.sha256(f"{reporter_id}|{ts.isoformat()}".encode()).hexdigest()
    return f"mqtt-{digest[:24]}"


class ReportMessage(BaseModel):
    """The JSON body of ``anlan/v1/reports/{reporter_id}`` (the bridge adds id and reporter)."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(min_length=1, max_length=32, description="flooding, landslide, fire, …")
    region: str = Field(max_length=32, json_schema_extra={"pattern": REGION_ID_PATTERN},
                        description="id of a region of the directory (a grid, village, township "
                        "or county); lat/lon alone cannot be located")
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    text: str = Field("", max_length=2000)
    ts: AwareDatetime = Field(description="RFC 3339 time with UTC offset, at most 5 minutes "
                              "ahead of the bridge's clock and at most 7 days old")


def _report_record(reporter_id: str, payload: bytes, regions: Collection[str],
                   now: datetime) -> Record:
    body = _json_object(payload)
    if "region" not in body and ("lat" in body or "lon" in body):
        raise Rejected(REPORT_NEEDS_REGION)
    try:
        msg = ReportMessage.model_validate(body)
    except ValidationError as exc:
        err = exc.errors()[0]
        if err["type"] == "extra_forbidden":
            raise Rejected(f"unknown fields: {sorted(set(body) - set(ReportMessage.model_fields))}"
                           ) from None
        if err["type"] == "missing":
            raise Rejected(f"'{err['loc'][0]}' is required") from None
        raise Rejected(_first_error(exc)) from None
    if (msg.lat is None) != (msg.lon is None):
        raise Rejected("'lat' and 'lon' go together")
    if msg.region not in regions:
        raise Rejected(f"region {msg.region!r} is not a region of the directory")
    problem = report_time_problem(msg.ts, now)
    if problem:
        raise Rejected(problem)
    report = Report(report_id=report_id(reporter_id, msg.ts), reporter_id=reporter_id,
                    source="mqtt", **msg.model_dump())
    return Record(topics.REPORTS_RAW, msg.region, report.to_bytes())


def _reject_constant(name: str) -> float:
    raise Rejected(f"{name} is not a number JSON allows")


def _json_object(payload: bytes) -> dict[str, Any]:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise Rejected(f"payload too large: {len(payload)} bytes > {MAX_PAYLOAD_BYTES}")
    try:
        body = json.loads(payload, parse_constant=_reject_constant)
    except Rejected:
        raise
    except RecursionError:
        raise Rejected("JSON nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise Rejected(f"not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise Rejected(f"payload must be a JSON object, got {type(body).__name__}")
    where = bad_unicode_in_json(payload, body)
    if where:
        raise Rejected(invalid_unicode(where))
    return body


def _check_id(value: str, what: str) -> str:
    if not _ID.match(value):
        raise Rejected(f"{what} {value[:80]!r} is not [A-Za-z0-9_.-]{{1,64}}")
    return value


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "value"
    return f"{where}: {err['msg']}"
