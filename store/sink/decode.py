"""Pure decoding of Kafka records into staging rows (no I/O).

:func:`decode_record` turns one record of a contract topic into ``(stage name, rows)``; a record
that does not parse becomes a dead-letter row with the reason instead (never an exception).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from anlan import topics
from anlan.events import (
    Alert,
    Command,
    DeadLetter,
    Delivery,
    GatewayStatus,
    IncidentEvent,
    Readings,
    Report,
    Signal,
    Task,
    gateway_event,
)
from store.sink import tables

Row = tuple[Any, ...]
Decoder = Callable[[bytes], list[Row]]
"""Rows of a record for the topic's stage; a topic carrying several event types returns
``(stage, rows)`` instead."""


def _readings(value: bytes) -> list[Row]:
    ev = Readings.from_bytes(value)
    if ev.exercise:  # a drill's readings are not observations of the real sensors
        return []
    gw, seq, rx = ev.gateway_id, ev.seq, ev.received_at
    return [(r.sensor, r.ts, r.kind, r.value, r.region, gw, seq, [f.value for f in r.flags], rx)
            for r in ev.readings]


def _reports(value: bytes) -> list[Row]:
    r = Report.from_bytes(value)
    return [(r.report_id, r.reporter_id, r.kind, r.region, r.lat, r.lon, r.text, r.ts,
             r.source)]


def _gateway_status(value: bytes) -> tuple[tables.Stage, list[Row]]:
    g = gateway_event(value)
    if isinstance(g, GatewayStatus):
        return tables.GATEWAY_STATUS, [(g.gateway_id, g.at, g.status)]
    return tables.GATEWAY_SEQ_GAPS, [(g.gateway_id, g.first_missing, g.last_missing, g.missing,
                                      g.at, g.bridge)]


def _signals(value: bytes) -> list[Row]:
    s = Signal.from_bytes(value)
    return [(s.plan, s.region, s.ts, s.level.value, s.previous.value, s.evidence, s.exercise)]


def _incidents(value: bytes) -> list[Row]:
    i = IncidentEvent.from_bytes(value)
    return [(i.incident_id, i.ts, i.change, i.level.value, i.previous.value, i.status, i.actor,
             i.plan, i.hazard, i.region, i.exercise, i.evidence)]


def _alerts(value: bytes) -> list[Row]:
    a = Alert.from_bytes(value)
    return [(a.alert_id, a.incident_id, a.msg_type, list(a.references), a.status, a.plan,
             a.hazard, a.region, a.level.value, a.previous.value, a.tier, a.sent, a.headline,
             a.description, a.instruction, a.evidence, a.model_dump(mode="json"))]


def _deliveries(value: bytes) -> list[Row]:
    d = Delivery.from_bytes(value)
    return [(d.delivery_id, d.alert_id, d.incident_id, d.recipient, d.channel, d.attempt,
             d.outcome, d.error, d.at)]


def _tasks(value: bytes) -> list[Row]:
    t = Task.from_bytes(value)
    return [(t.task_id, t.incident_id, t.kind, t.state, t.region, t.title, t.quota,
             list(t.skills), t.deadline, t.ts, t.detail, t.model_dump(mode="json"), t.exercise)]


def _commands(value: bytes) -> list[Row]:
    c = Command.from_bytes(value)
    return [(c.command_id, c.kind, c.target, c.actor, c.ts, c.detail)]


def _deadletter(value: bytes) -> list[Row]:
    d = DeadLetter.from_bytes(value)
    original = d.original
    key = dedup_key(d.stage, d.reason, d.source_topic, d.key or "", original)
    return [(key, d.stage, d.reason, d.source_topic, d.key, original, d.at)]


# contract topic name → (stage, decoder)
DECODERS: dict[str, tuple[tables.Stage, Callable[[bytes], Any]]] = {
    topics.READINGS: (tables.READINGS, _readings),
    topics.REPORTS_RAW: (tables.REPORTS, _reports),
    topics.GATEWAY_STATUS: (tables.GATEWAY_STATUS, _gateway_status),
    topics.SIGNALS: (tables.SIGNALS, _signals),
    topics.INCIDENTS: (tables.INCIDENTS, _incidents),
    topics.ALERTS: (tables.ALERTS, _alerts),
    topics.DELIVERIES: (tables.DELIVERIES, _deliveries),
    topics.TASKS: (tables.TASKS, _tasks),
    topics.COMMANDS: (tables.COMMANDS, _commands),
    topics.DEADLETTER: (tables.DEADLETTERS, _deadletter),
}
SINK_TOPICS: tuple[str, ...] = tuple(DECODERS)


def dedup_key(*parts: str | bytes) -> str:
    """A content hash (SHA-256 hex) of the parts; times are left out so replays collide."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode())
        h.update(b"\x00")
    return h.hexdigest()


def reject_row(topic: str, key: bytes | None, value: bytes | None, reason: str,
               at: datetime | None = None) -> Row:
    """A dead-letter staging row for a record the sink cannot store."""
    original = value or b""
    key_s = key.decode("utf-8", "replace").replace("\x00", "\ufffd") if key else None
    reason = reason[:2000].replace("\x00", "\ufffd")
    # the same key as the DeadLetter event published for it will get (see _deadletter)
    return (dedup_key("sink", reason, topic, key_s or "", original), "sink", reason, topic, key_s,
            original, at or datetime.now(UTC))


def dead_letter_event(row: Row) -> DeadLetter:
    """The ``anlan.deadletter`` event of a :func:`reject_row` row."""
    _key, stage, reason, topic, key, original, at = row
    event = DeadLetter.of(stage, reason, topic, original, key=key)
    event.at = at
    return event


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        errs = exc.errors(include_url=False)[:3]
        return "invalid event: " + "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in errs)
    return f"{exc.__class__.__name__}: {exc}"


def _has_nul(obj: Any) -> bool:
    if isinstance(obj, str):
        return "\x00" in obj
    if isinstance(obj, (list, tuple)):
        return any(_has_nul(x) for x in obj)
    if isinstance(obj, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in obj.items())
    return False


def decode_record(topic: str, key: bytes | None, value: bytes | None
                  ) -> tuple[tables.Stage, list[Row]]:
    """Rows for one record of contract ``topic``; a dead-letter row when it is malformed."""
    entry = DECODERS.get(topic)
    if entry is None:
        return tables.DEADLETTERS, [reject_row(topic, key, value, f"no sink for topic {topic}")]
    stage, decoder = entry
    if value is None:
        return tables.DEADLETTERS, [reject_row(topic, key, value, "empty record (tombstone)")]
    try:
        rows = decoder(value)
        if isinstance(rows, tuple):
            stage, rows = rows
    except (ValidationError, ValueError, TypeError, UnicodeDecodeError) as exc:
        return tables.DEADLETTERS, [reject_row(topic, key, value, _reason(exc))]
    if b"\\u0000" in value and _has_nul(rows):
        return tables.DEADLETTERS, [reject_row(topic, key, value,
                                               "NUL character in text (PostgreSQL rejects it)")]
    return stage, rows


@dataclass
class Batch:
    """Rows of a poll grouped by staging table, plus how many records were rejected."""

    rows: dict[str, list[Row]] = field(default_factory=dict)
    records: int = 0
    rejects: list[Row] = field(default_factory=list)  # records that did not decode
    refused: list[Row] = field(default_factory=list)  # records the database refused

    @property
    def rejected(self) -> int:
        """Records this sink dead-lettered (not counting the dead-letter topic's own)."""
        return len(self.rejects) + len(self.refused)

    def add(self, stage: tables.Stage, rows: Iterable[Row]) -> None:
        self.rows.setdefault(stage.name, []).extend(rows)

    @property
    def row_count(self) -> int:
        return sum(len(r) for r in self.rows.values())


def build_batch(records: Iterable[tuple[str, bytes | None, bytes | None]]) -> Batch:
    """Decode ``(contract topic, key, value)`` records into one :class:`Batch`."""
    batch = Batch()
    for topic, key, value in records:
        stage, rows = decode_record(topic, key, value)
        batch.records += 1
        if stage is tables.DEADLETTERS and topic != topics.DEADLETTER:
            batch.rejects.extend(rows)
        batch.add(stage, rows)
    return batch
