"""Event schemas: the payloads of every Kafka topic (pydantic v2, JSON on the wire).

Every event is a pydantic model with ``to_bytes`` / ``from_bytes``. Models are strict about
what they accept so that a malformed event is rejected with a clear message (and dead-lettered)
instead of travelling further. Times are timezone-aware; naive times are rejected. Integers are
bounded to the database columns they land in (:mod:`anlan.bounds`).
"""

from __future__ import annotations

import base64
import enum
from datetime import datetime, timezone
from typing import Any, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from anlan.bounds import Int32, Seq


class Level(str, enum.Enum):
    """Warning level. IV (blue) is the lowest, I (red) the highest; NONE means no warning."""

    NONE = "none"
    IV = "IV"
    III = "III"
    II = "II"
    I = "I"  # noqa: E741

    @property
    def rank(self) -> int:
        """0 for none, 1 for IV … 4 for I."""
        return _RANK[self]

    @property
    def colour(self) -> str:
        return _COLOUR[self]

    @property
    def colour_zh(self) -> str:
        return _COLOUR_ZH[self]

    @classmethod
    def from_rank(cls, rank: int) -> Level:
        return _BY_RANK[max(0, min(4, rank))]

    def __lt__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank >= other.rank


_RANK = {Level.NONE: 0, Level.IV: 1, Level.III: 2, Level.II: 3, Level.I: 4}
_BY_RANK = {v: k for k, v in _RANK.items()}
_COLOUR = {Level.NONE: "none", Level.IV: "blue", Level.III: "yellow", Level.II: "orange",
           Level.I: "red"}
_COLOUR_ZH = {Level.NONE: "无", Level.IV: "蓝色", Level.III: "黄色", Level.II: "橙色",
              Level.I: "红色"}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Event(BaseModel):
    """Base of all events: JSON bytes on the wire."""

    model_config = ConfigDict(extra="forbid", frozen=False)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, data: bytes | str) -> Self:
        return cls.model_validate_json(data)


# ---------------------------------------------------------------- readings (MQTT contract)

class RawReading(BaseModel):
    """One reading as a gateway sent it (``anlan/v1/gw/{id}/readings``)."""

    model_config = ConfigDict(extra="forbid")

    sensor: str = Field(min_length=1, max_length=64)
    ts: AwareDatetime
    kind: str = Field(min_length=1, max_length=32)
    value: float = Field(allow_inf_nan=False)
    unit: str | None = Field(None, max_length=16)


class GatewayMessage(BaseModel):
    """The JSON body a gateway publishes on its readings topic."""

    model_config = ConfigDict(extra="forbid")

    seq: Seq
    readings: list[RawReading] = Field(min_length=1, max_length=1000)


class RawReadings(Event):
    """``anlan.readings.raw``: one gateway message as the bridge received it."""

    gateway_id: str
    mqtt_topic: str
    received_at: AwareDatetime
    seq: Seq
    readings: list[RawReading]
    exercise: bool = False
    """Published under the MQTT exercise namespace: a drill's readings (see anlan.exercise)."""


class QualityFlag(str, enum.Enum):
    """Quality flags in the manner of Delft-FEWS validation."""

    OK = "ok"
    SOFT_LIMIT = "soft_limit"
    SPIKE = "spike"
    RATE_OF_CHANGE = "rate_of_change"
    FLATLINE = "flatline"
    STALE = "stale"
    DUPLICATE = "duplicate"
    TOO_LATE = "too_late"
    """Older than the assessment's horizon (the plans' longest window): stored, not assessed."""


class Reading(BaseModel):
    """A validated, normalised reading."""

    model_config = ConfigDict(extra="forbid")

    sensor: str
    ts: AwareDatetime
    kind: str
    value: float
    region: str
    flags: list[QualityFlag] = Field(default_factory=list)


class Readings(Event):
    """``anlan.readings``: validated readings of one gateway message."""

    gateway_id: str
    seq: Seq
    received_at: AwareDatetime
    readings: list[Reading]
    exercise: bool = False  # a drill's readings: never stored or assessed as real ones


class GatewayStatus(Event):
    """``anlan.gateways.status``: a gateway went online or offline (its retained status / will)."""

    gateway_id: str
    status: Literal["online", "offline"]
    at: AwareDatetime


class SeqGap(Event):
    """``anlan.gateways.status``: messages of a gateway that the bridge never received.

    The bridge follows each gateway's ``seq``; seqs skipped and not received within a grace
    period (``first_missing`` … ``last_missing``) are reported once, as a gap: most likely an
    MQTT broker that dropped messages it had acknowledged to the gateway (a full queue). Not a
    gap: duplicates, re-sends, a backlog arriving newest first, a restarted counter."""

    gateway_id: str
    first_missing: Seq
    last_missing: Seq
    missing: Seq
    at: AwareDatetime  # when the bridge reported it
    bridge: str = ""  # the reporting bridge's MQTT client id


GatewayEvent = GatewayStatus | SeqGap
_GATEWAY_EVENT: TypeAdapter[GatewayEvent] = TypeAdapter(GatewayEvent)


def gateway_event(data: bytes | str) -> GatewayEvent:
    """An event of ``anlan.gateways.status``: a :class:`GatewayStatus` or a :class:`SeqGap`."""
    return _GATEWAY_EVENT.validate_json(data)


# ---------------------------------------------------------------- reports

class Report(Event):
    """``anlan.reports.raw``: a report from a resident or grid worker."""

    report_id: str
    reporter_id: str
    kind: str = Field(min_length=1, max_length=32)
    region: str | None = None
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    text: str = Field("", max_length=2000)
    ts: AwareDatetime
    source: Literal["mqtt", "http"] = "mqtt"


# ---------------------------------------------------------------- dead letters

class DeadLetter(Event):
    """``anlan.deadletter``: anything rejected, with the reason and the original bytes."""

    stage: str  # bridge, validate, assess, dispatch, sink …
    reason: str
    source_topic: str
    key: str | None = None
    original_b64: str
    at: AwareDatetime = Field(default_factory=utcnow)

    @classmethod
    def of(cls, stage: str, reason: str, source_topic: str, original: bytes,
           key: str | None = None) -> DeadLetter:
        return cls(stage=stage, reason=reason, source_topic=source_topic, key=key,
                   original_b64=base64.b64encode(original).decode())

    @property
    def original(self) -> bytes:
        return base64.b64decode(self.original_b64)


# ---------------------------------------------------------------- assessment

class Signal(Event):
    """``anlan.signals``: a plan's level changed for a region, with its evidence."""

    plan: str
    region: str
    previous: Level
    level: Level
    ts: AwareDatetime  # event time of the change
    evidence: dict[str, Any] = Field(default_factory=dict)
    late: bool = False
    """A higher level reached and already over when found (a backlog): a late notice to the
    duty officers (【补报】), never a public alert."""
    detected: AwareDatetime | None = None
    """When the input that showed the change reached the system."""
    seq: int = 0
    """The region's running number of its signals for this plan (0: unnumbered); the
    incident machine applies each number once."""
    exercise: bool = False  # assessed from a drill's readings: drives the drill's incident

    @property
    def key(self) -> str:
        """The Kafka key (``plan:region``, unscoped: both scopes share the partition)."""
        return f"{self.plan}:{self.region}"


IncidentChange = Literal[
    "opened", "escalated", "de-escalated", "acknowledged", "resolved", "cleared", "updated",
    "late_notice",
]


class IncidentEvent(Event):
    """``anlan.incidents``: an incident changed state."""

    incident_id: str
    plan: str
    hazard: str
    region: str
    change: IncidentChange
    level: Level
    previous: Level = Level.NONE
    status: Literal["open", "acknowledged", "resolved"] = "open"
    ts: AwareDatetime
    actor: str | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)
    exercise: bool = False


class Alert(Event):
    """``anlan.alerts``: a staged alert to deliver, CAP 1.2 compatible (msg_type Alert/Update/Cancel)."""

    alert_id: str  # CAP identifier, unique per message
    incident_id: str
    msg_type: Literal["Alert", "Update", "Cancel"]
    references: list[str] = Field(default_factory=list)  # earlier alert_ids of this incident
    status: Literal["Actual", "Exercise", "System", "Test"] = "Actual"
    plan: str
    hazard: str
    region: str
    level: Level
    previous: Level = Level.NONE
    sent: AwareDatetime
    headline: str
    description: str = ""
    instruction: str = ""
    evidence: dict[str, Any] = Field(default_factory=dict)
    notify: list[dict[str, Any]] = Field(
        default_factory=list, description="who to notify: [{role, tier}] from the plan level"
    )
    ack_timeout_s: float | None = None
    tier: Int32 = 0  # escalation step: 0 = as the plan says, 1+ = escalated to higher tiers
    late: bool = False
    """A late notice (【补报】): a level reached and already over when found, for the duty
    officers only (``notify`` names only them), never to the public or volunteers."""
    onset: AwareDatetime | None = None
    """Event time of the crossing this message is about (``sent`` is when it was decided)."""
    detected: AwareDatetime | None = None
    """When the data that showed the crossing reached the system."""


class Task(Event):
    """``anlan.tasks``: a mobilization / welfare-check / evacuation task or its state change."""

    task_id: str
    incident_id: str | None = None
    kind: Literal["mobilization", "welfare_check", "evacuation", "maintenance"]
    state: Literal["open", "offered", "accepted", "checked_in", "completed", "cancelled", "expired"]
    region: str
    title: str
    quota: Int32 = 1
    skills: list[str] = Field(default_factory=list)
    deadline: AwareDatetime | None = None
    ts: AwareDatetime
    detail: dict[str, Any] = Field(default_factory=dict)
    exercise: bool = False  # a task of a drill (its messages say 【演练】)


class Command(Event):
    """``anlan.commands``: a person's command (ack, resolve, escalate, manual alert, task reply)."""

    command_id: str  # dedup key
    kind: Literal[
        "ack", "resolve", "escalate", "manual_alert", "drill",
        "task_accept", "task_decline", "task_checkin", "task_complete",
    ]
    target: str  # incident id or task id (or plan:region for manual alerts; drills:
    # EXERCISE:plan:region — see anlan.exercise)
    actor: str
    ts: AwareDatetime = Field(default_factory=utcnow)
    detail: dict[str, Any] = Field(default_factory=dict)


class Delivery(Event):
    """``anlan.deliveries``: the outcome of one delivery attempt."""

    delivery_id: str
    alert_id: str
    incident_id: str
    recipient: str  # person id
    channel: str  # Apprise URL scheme (json, mailto, dingtalk…), never the secret URL
    attempt: Int32
    outcome: Literal["sent", "failed", "retrying", "gave_up", "skipped"]
    error: str | None = None
    at: AwareDatetime = Field(default_factory=utcnow)
