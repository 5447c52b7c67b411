"""Properties of the contract over generated input: whatever arrives, the bridge either forwards
an event every later stage can encode (the worker's orjson codec, a PostgreSQL bigint) or
dead-letters it with a contract reason — never an internal error."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anlan import topics
from anlan.bounds import BIGINT_MAX
from anlan.events import DeadLetter, RawReadings, Report
from anlan.regions import load_region_ids
from anlan.registry import load_registry
from anlan.settings import DEMO_DIR
from sensors.contract import Record, route
from streams.codec import dumps

NOW = datetime(2026, 7, 20, 8, 0, tzinfo=timezone.utc)
REGISTRY = load_registry(Path(DEMO_DIR) / "sensors.yaml")
REGIONS = load_region_ids(Path(DEMO_DIR) / "directory.yaml")
READINGS = "anlan/v1/gw/gw-0002/readings"
REPORTS = "anlan/v1/reports/p-0001"
PROPS = settings(max_examples=300, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow])

# Every code point, lone surrogates (category Cs) included: JSON can carry them as \ud83d.
any_text = st.text(st.characters(codec=None, categories=None), max_size=12)
json_numbers = st.one_of(st.integers(min_value=-2**70, max_value=2**70),
                         st.floats(allow_nan=False, allow_infinity=False))


def _check_records(records: list[Record]) -> list[Record]:
    """Every record is JSON that the worker's codec re-encodes; no internal errors."""
    assert records
    for record in records:
        body = orjson.loads(record.value)  # valid UTF-8 JSON, integers within 64 bits
        dumps(body)
        if record.topic == topics.DEADLETTER:
            reason = DeadLetter.from_bytes(record.value).reason
            assert not reason.startswith("internal error"), reason
        elif record.topic == topics.READINGS_RAW:
            event = RawReadings.from_bytes(record.value)
            assert 0 <= event.seq <= BIGINT_MAX
            dumps({"seq": event.seq, "readings": [r.value for r in event.readings]})
        elif record.topic == topics.REPORTS_RAW:
            Report.from_bytes(record.value)
    return records


def _reading(**over: Any) -> dict[str, Any]:
    base = {"sensor": "rg-0201", "ts": (NOW - timedelta(minutes=5)).isoformat(),
            "kind": "rain_mm", "value": 1.5}
    base.update(over)
    return base


@PROPS
@given(seq=st.integers(min_value=-2**80, max_value=2**80))
def test_any_integer_seq_is_forwarded_within_bigint_or_dead_lettered(seq: int) -> None:
    payload = json.dumps({"seq": seq, "readings": [_reading()]}).encode()
    records = _check_records(route(READINGS, payload, REGISTRY, NOW, regions=REGIONS))
    if 0 <= seq <= BIGINT_MAX:
        assert [r.topic for r in records] == [topics.READINGS_RAW]
        assert RawReadings.from_bytes(records[0].value).seq == seq
    else:
        assert [r.topic for r in records] == [topics.DEADLETTER]
        assert "'seq' must be an integer from 0 to 9223372036854775807" in \
            DeadLetter.from_bytes(records[0].value).reason


@PROPS
@given(sensor=any_text, kind=any_text, unit=st.none() | any_text, ts=any_text,
       value=json_numbers, seq=st.integers(min_value=0, max_value=BIGINT_MAX))
def test_any_strings_and_numbers_in_a_reading(sensor: str, kind: str, unit: str | None, ts: str,
                                              value: float, seq: int) -> None:
    bad = _reading(sensor=sensor, kind=kind, ts=ts, value=value)
    if unit is not None:
        bad["unit"] = unit
    payload = json.dumps({"seq": seq, "readings": [_reading(), bad]}).encode()
    records = _check_records(route(READINGS, payload, REGISTRY, NOW, regions=REGIONS))
    if any(0xD800 <= ord(c) <= 0xDFFF for c in sensor + kind + ts + (unit or "")):
        assert [r.topic for r in records] == [topics.DEADLETTER]
        assert "invalid unicode in field readings[1]." in \
            DeadLetter.from_bytes(records[0].value).reason


@PROPS
@given(body=st.fixed_dictionaries({}, optional={
    "kind": any_text, "region": st.sampled_from(sorted(REGIONS)) | any_text,
    "lat": json_numbers, "lon": json_numbers, "text": any_text,
    "ts": st.datetimes(timezones=st.just(timezone.utc)).map(lambda d: d.isoformat()) | any_text,
}))
def test_any_report_is_forwarded_or_dead_lettered_with_a_reason(body: dict[str, Any]) -> None:
    records = _check_records(route(REPORTS, json.dumps(body).encode(), REGISTRY, NOW,
                                   regions=REGIONS))
    assert len(records) == 1
    if records[0].topic == topics.REPORTS_RAW:
        report = Report.from_bytes(records[0].value)
        assert report.region in REGIONS
        assert NOW - timedelta(days=7) <= report.ts <= NOW + timedelta(minutes=5)
