"""Pure decoding of topic records into staging rows (no broker, no database)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from anlan import topics
from anlan.events import (
    DeadLetter,
    GatewayStatus,
    Level,
    QualityFlag,
    Report,
    SeqGap,
    Signal,
)
from store.sink import tables
from store.sink.decode import SINK_TOPICS, build_batch, decode_record, dedup_key
from tests.store.support import (
    T0,
    alert_event,
    command_event,
    delivery_event,
    incident_event,
    readings_event,
    task_event,
)

GOOD = [
    (topics.READINGS, readings_event("gw1", 3, n=5).to_bytes(), tables.READINGS, 5),
    (topics.INCIDENTS, incident_event("i1", "opened", Level.IV, T0).to_bytes(),
     tables.INCIDENTS, 1),
    (topics.ALERTS, alert_event("a1", "i1", Level.IV, T0).to_bytes(), tables.ALERTS, 1),
    (topics.DELIVERIES, delivery_event("d1", "a1", "i1", T0).to_bytes(), tables.DELIVERIES, 1),
    (topics.TASKS, task_event("t1", "i1", "open", T0).to_bytes(), tables.TASKS, 1),
    (topics.COMMANDS, command_event("c1", "i1", T0).to_bytes(), tables.COMMANDS, 1),
    (topics.GATEWAY_STATUS, GatewayStatus(gateway_id="gw1", status="offline", at=T0).to_bytes(),
     tables.GATEWAY_STATUS, 1),
    (topics.GATEWAY_STATUS, SeqGap(gateway_id="gw1", first_missing=4, last_missing=6, missing=3,
                                   at=T0, bridge="b1").to_bytes(), tables.GATEWAY_SEQ_GAPS, 1),
    (topics.SIGNALS, Signal(plan="p", region="r", previous=Level.NONE, level=Level.IV,
                            ts=T0).to_bytes(), tables.SIGNALS, 1),
    (topics.REPORTS_RAW, Report(report_id="r1", reporter_id="u", kind="flood",
                                ts=T0).to_bytes(), tables.REPORTS, 1),
    (topics.DEADLETTER, DeadLetter.of("bridge", "bad json", "x", b"{").to_bytes(),
     tables.DEADLETTERS, 1),
]


@pytest.mark.parametrize(("topic", "value", "stage", "n"), GOOD, ids=[g[2].name for g in GOOD])
def test_every_sink_topic_decodes(topic: str, value: bytes, stage: tables.Stage, n: int) -> None:
    got_stage, rows = decode_record(topic, b"k", value)
    assert got_stage is stage
    assert len(rows) == n
    assert all(len(r) == len(stage.columns) for r in rows)


def test_all_sink_topics_are_covered() -> None:
    assert set(SINK_TOPICS) == {g[0] for g in GOOD}


def test_a_drills_readings_are_not_stored_its_signals_and_tasks_say_exercise() -> None:
    drill = readings_event("gw1", 3, n=5).model_copy(update={"exercise": True})
    assert decode_record(topics.READINGS, b"gw1", drill.to_bytes()) == (tables.READINGS, [])
    signal = Signal(plan="p", region="r", previous=Level.NONE, level=Level.IV, ts=T0,
                    exercise=True)
    [row] = decode_record(topics.SIGNALS, b"p:r", signal.to_bytes())[1]
    assert row[tables.SIGNALS.column_names.index("exercise")] is True
    task = task_event("t1", "EXERCISE:i1", "open", T0).model_copy(update={"exercise": True})
    [row] = decode_record(topics.TASKS, b"t1", task.to_bytes())[1]
    assert row[tables.TASKS.column_names.index("exercise")] is True


BAD = [
    (topics.READINGS, b"not json", "Invalid JSON"),
    (topics.READINGS, b'{"gateway_id": "gw"}', "invalid event"),
    (topics.ALERTS, alert_event("a1", "i1", Level.IV, T0).to_bytes().replace(
        b'"Alert"', b'"Bogus"'), "msg_type"),
    (topics.INCIDENTS, None, "tombstone"),
    (topics.COMMANDS, command_event("c1", "i\x00", T0).to_bytes(), "NUL"),
    ("anlan.unknown", b"{}", "no sink"),
]


@pytest.mark.parametrize(("topic", "value", "reason"), BAD)
def test_malformed_records_become_dead_letters(topic: str, value: bytes | None,
                                                reason: str) -> None:
    stage, rows = decode_record(topic, b"key\x00", value)
    assert stage is tables.DEADLETTERS
    (row,) = rows
    key, stage_name, why, source, rkey, original, _at = row
    assert stage_name == "sink" and source == topic and reason in why
    assert original == (value or b"")
    assert "\x00" not in rkey and len(key) == 64


def test_dead_letter_key_ignores_time_so_replays_collide() -> None:
    a = DeadLetter.of("bridge", "bad", "t", b"x")
    b = DeadLetter.of("bridge", "bad", "t", b"x")
    b.at = a.at + timedelta(seconds=5)
    ka = decode_record(topics.DEADLETTER, None, a.to_bytes())[1][0][0]
    kb = decode_record(topics.DEADLETTER, None, b.to_bytes())[1][0][0]
    assert ka == kb == dedup_key("bridge", "bad", "t", "", b"x")
    assert ka != dedup_key("bridge", "other", "t", "", b"x")


def test_build_batch_groups_rows_and_counts_rejections() -> None:
    batch = build_batch([
        (topics.READINGS, b"gw1", readings_event("gw1", 1, n=3).to_bytes()),
        (topics.READINGS, b"gw1", readings_event("gw1", 2, n=3).to_bytes()),
        (topics.READINGS, b"gw1", b"garbage"),
        (topics.DEADLETTER, None, DeadLetter.of("bridge", "x", "t", b"y").to_bytes()),
    ])
    assert batch.records == 4 and batch.rejected == 1
    assert len(batch.rows["stage_readings"]) == 6
    assert len(batch.rows["stage_deadletters"]) == 2
    assert batch.row_count == 8


def test_reading_row_carries_flags_and_gateway() -> None:
    ev = readings_event("gw9", 7, n=1)
    ev.readings[0].flags = [QualityFlag.SPIKE]
    (row,) = decode_record(topics.READINGS, None, ev.to_bytes())[1]
    assert row[0] == "gw9-s00" and row[5] == "gw9" and row[6] == 7 and row[7] == ["spike"]


def test_published_rejection_reads_back_under_the_same_key() -> None:
    from store.sink.decode import dead_letter_event, reject_row

    row = reject_row(topics.ALERTS, b"inc-1", b"{bad", "invalid event: x")
    event = dead_letter_event(row)
    assert (event.stage, event.source_topic, event.key, event.original) == (
        "sink", topics.ALERTS, "inc-1", b"{bad")
    back = decode_record(topics.DEADLETTER, None, event.to_bytes())[1][0]
    assert back[0] == row[0]
