"""The MQTT contract checks (pure): what is forwarded, what is dead-lettered and why."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from anlan import topics
from anlan.events import DeadLetter, GatewayStatus, RawReading, RawReadings, Report
from anlan.regions import load_region_ids
from anlan.registry import load_registry
from anlan.settings import DEMO_DIR
from sensors import contract
from sensors.contract import route

NOW = datetime(2026, 7, 20, 8, 0, tzinfo=timezone.utc)
REGISTRY = load_registry(Path(DEMO_DIR) / "sensors.yaml")
REGIONS = load_region_ids(Path(DEMO_DIR) / "directory.yaml")
TOPIC = "anlan/v1/gw/gw-0002/readings"


def reading(**over: object) -> dict[str, object]:
    base: dict[str, object] = {"sensor": "rg-0201", "ts": "2026-07-20T15:55:00+08:00",
                               "kind": "rain_mm", "value": 3.5}
    base.update(over)
    return base


def message(*readings: dict[str, object], seq: int = 1) -> bytes:
    return json.dumps({"seq": seq, "readings": list(readings)}).encode()


def test_valid_message_is_one_raw_readings_event_keyed_by_gateway() -> None:
    records = route(TOPIC, message(reading(), reading(sensor="rg-0202", unit="mm")),
                    REGISTRY, NOW, regions=REGIONS)
    assert len(records) == 1
    rec = records[0]
    assert (rec.topic, rec.key) == (topics.READINGS_RAW, "gw-0002")
    event = RawReadings.from_bytes(rec.value)
    assert event.gateway_id == "gw-0002" and event.seq == 1 and event.mqtt_topic == TOPIC
    assert [r.sensor for r in event.readings] == ["rg-0201", "rg-0202"]


BAD_MESSAGES: list[tuple[str, bytes, str]] = [
    ("bad json", b"{not json", "not valid JSON"),
    ("not an object", b"[1, 2]", "JSON object"),
    ("binary", b"\xff\xfe\x00garbage", "not valid JSON"),
    ("huge", b"{" + b" " * (contract.MAX_PAYLOAD_BYTES + 1) + b"}", "too large"),
    ("no seq", json.dumps({"readings": [reading()]}).encode(), "seq"),
    ("string seq", json.dumps({"seq": "1", "readings": [reading()]}).encode(), "seq"),
    ("bool seq", json.dumps({"seq": True, "readings": [reading()]}).encode(), "seq"),
    ("seq 2^63", message(reading(), seq=2**63), "'seq' must be an integer from 0 to 9223372036854775807"),
    ("seq 2^64", message(reading(), seq=2**64), "(2^63-1)"),
    ("negative seq", message(reading(), seq=-1), "'seq' must be an integer from 0"),
    ("lone surrogate", message(reading(), reading(sensor="rg-\ud83d")),
     "invalid unicode in field readings[1].sensor"),
    ("lone low surrogate in a key", b'{"seq": 1, "readings": [{"\\udc00": 1}]}',
     "invalid unicode in field readings[0]."),
    ("empty readings", message(), "non-empty"),
    ("extra field", json.dumps({"seq": 1, "readings": [reading()], "x": 1}).encode(),
     "unknown fields"),
    ("too many", message(*[reading()] * 1001), "too many"),
    ("NaN", b'{"seq": 1, "readings": [{"sensor": "rg-0201", "ts": "2026-07-20T08:00:00Z",'
            b' "kind": "rain_mm", "value": NaN}]}', "NaN"),
    ("Infinity", b'{"seq": 1, "readings": [{"sensor": "rg-0201", "ts": "2026-07-20T08:00:00Z",'
                 b' "kind": "rain_mm", "value": Infinity}]}', "Infinity"),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000, ""),
    ("string value", message(reading(value="3.5")), "number"),
    ("bool value", message(reading(value=True)), "number"),
    ("null value", message(reading(value=None)), "number"),
    ("huge number", b'{"seq": 1, "readings": [{"sensor": "rg-0201", "ts": "2026-07-20T08:00:00Z",'
     b' "kind": "rain_mm", "value": 1e400}]}', "finite"),
    ("naive ts", message(reading(ts="2026-07-20T08:00:00")), "timezone"),
    ("epoch ts", message(reading(ts=1_700_000_000)), "RFC 3339"),
    ("garbage ts", message(reading(ts="yesterday")), "ts"),
    ("future ts", message(reading(ts="2026-07-20T08:10:00Z")), "future"),
    ("ancient ts", message(reading(ts="1970-01-01T00:00:00Z")), "implausibly old"),
    ("unknown kind", message(reading(kind="radiation_sv")), "unknown kind"),
    ("wrong kind", message(reading(kind="water_level_m")), "measures rain_mm"),
    ("wrong unit", message(reading(unit="in")), "unit"),
    ("foreign sensor", message(reading(sensor="rg-0101")), "not registered to gateway"),
    ("unknown sensor", message(reading(sensor="zz-9999")), "not registered"),
    ("extra reading field", message(reading(colour="red")), "colour"),
    ("reading not object", message(42), "not an object"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("name", "payload", "reason"), BAD_MESSAGES,
                         ids=[b[0] for b in BAD_MESSAGES])
def test_bad_messages_are_dead_lettered_with_reason(name: str, payload: bytes,
                                                    reason: str) -> None:
    records = route(TOPIC, payload, REGISTRY, NOW, regions=REGIONS)
    assert len(records) == 1, name
    rec = records[0]
    assert rec.topic == topics.DEADLETTER and rec.key == "gw-0002"
    letter = DeadLetter.from_bytes(rec.value)
    assert letter.stage == "bridge" and letter.source_topic == TOPIC
    assert reason in letter.reason, letter.reason
    if len(payload) <= contract.DEADLETTER_ORIGINAL_LIMIT:
        assert letter.original == payload
    else:
        assert "truncated" in letter.reason


def test_unregistered_gateway_and_bad_topics() -> None:
    rec = route("anlan/v1/gw/gw-9999/readings", message(reading()), REGISTRY, NOW, regions=REGIONS)[0]
    assert "gateway 'gw-9999' is not registered" in DeadLetter.from_bytes(rec.value).reason
    rec = route("anlan/v1/gw/gw-9999/status", b"online", REGISTRY, NOW, regions=REGIONS)[0]
    assert "gateway 'gw-9999' is not registered" in DeadLetter.from_bytes(rec.value).reason
    for topic in ("anlan/v1/gw/gw-0002/other", "anlan/v1/gw/a b/readings", "x/y",
                  "anlan/v1/gw/" + "g" * 65 + "/readings"):
        rec = route(topic, b"{}", REGISTRY, NOW, regions=REGIONS)[0]
        assert rec.topic == topics.DEADLETTER, topic


def test_partly_bad_message_forwards_good_and_dead_letters_bad() -> None:
    payload = message(reading(), reading(sensor="rg-0101"), reading(sensor="rg-0202"),
                      reading(value="x"), seq=7)
    records = route(TOPIC, payload, REGISTRY, NOW, regions=REGIONS)
    assert [r.topic for r in records] == [topics.READINGS_RAW, topics.DEADLETTER]
    good = RawReadings.from_bytes(records[0].value)
    assert [r.sensor for r in good.readings] == ["rg-0201", "rg-0202"]
    letter = DeadLetter.from_bytes(records[1].value)
    assert letter.reason.startswith("2 of 4 readings rejected (seq 7)")
    assert "readings[1]" in letter.reason and "readings[3]" in letter.reason
    original = json.loads(letter.original)
    assert original["seq"] == 7 and [r["sensor"] for r in original["readings"]] == \
        ["rg-0101", "rg-0201"]


@pytest.mark.parametrize(("payload", "status"), [(b"online", "online"), (b"offline\n", "offline"),
                                                 (b"ONLINE", "online")])
def test_status(payload: bytes, status: str) -> None:
    rec = route("anlan/v1/gw/gw-0001/status", payload, REGISTRY, NOW, regions=REGIONS)[0]
    assert (rec.topic, rec.key) == (topics.GATEWAY_STATUS, "gw-0001")
    event = GatewayStatus.from_bytes(rec.value)
    assert event.status == status and event.at == NOW


@pytest.mark.parametrize("payload", [b"", b"maybe", b"x" * 1000, b'{"status": "online"}'])
def test_bad_status(payload: bytes) -> None:
    rec = route("anlan/v1/gw/gw-0001/status", payload, REGISTRY, NOW, regions=REGIONS)[0]
    assert rec.topic == topics.DEADLETTER
    assert "status payload" in DeadLetter.from_bytes(rec.value).reason


def test_report_gets_deterministic_id_and_region_key() -> None:
    body = {"kind": "flooding", "region": "360121100002-G1", "text": "水漫过路面",
            "ts": "2026-07-20T15:40:00+08:00"}
    first = route("anlan/v1/reports/p-0007", json.dumps(body).encode(), REGISTRY, NOW, regions=REGIONS)[0]
    again = route("anlan/v1/reports/p-0007", json.dumps(body).encode(), REGISTRY, NOW, regions=REGIONS)[0]
    assert (first.topic, first.key) == (topics.REPORTS_RAW, "360121100002-G1")
    report = Report.from_bytes(first.value)
    assert report.report_id == Report.from_bytes(again.value).report_id
    assert report.reporter_id == "p-0007" and report.source == "mqtt"
    other = route("anlan/v1/reports/p-0008", json.dumps(body).encode(), REGISTRY, NOW, regions=REGIONS)[0]
    assert Report.from_bytes(other.value).report_id != report.report_id


GRID = "360121100002-G1"
REPORT_AT = "2026-07-20T07:40:00Z"


@pytest.mark.parametrize(("body", "reason"), [
    ({"kind": "flooding", "ts": REPORT_AT}, "'region' is required"),
    ({"kind": "landslide", "lat": 28.7, "lon": 115.8, "ts": REPORT_AT},
     "lat/lon alone cannot be located"),
    ({"kind": "flooding", "region": GRID, "lat": 1, "ts": REPORT_AT}, "together"),
    ({"kind": "flooding", "region": GRID}, "'ts' is required"),
    ({"kind": "flooding", "region": GRID, "lat": 99, "lon": 0, "ts": REPORT_AT}, "lat"),
    ({"kind": "", "region": GRID, "ts": REPORT_AT}, "kind"),
    ({"kind": "x", "region": GRID, "ts": REPORT_AT, "report_id": "forged"}, "unknown fields"),
    ({"kind": "flooding", "region": "r", "ts": REPORT_AT},
     "region 'r' is not a region of the directory"),
    ({"kind": "flooding", "region": "110101001001", "ts": REPORT_AT},
     "region '110101001001' is not a region of the directory"),
    ({"kind": "flooding", "region": GRID, "ts": "9999-12-31T23:59:59Z"},
     "more than 5 minutes ahead"),
    ({"kind": "flooding", "region": GRID, "ts": "2026-07-20T08:06:00Z"},
     "more than 5 minutes ahead"),
    ({"kind": "flooding", "region": GRID, "ts": "2026-07-12T07:59:00Z"}, "more than 7 days old"),
    ({"kind": "flooding", "region": GRID, "ts": "0001-01-01T00:00:00Z"}, "more than 7 days old"),
    ({"kind": "flooding", "region": GRID, "ts": REPORT_AT, "text": "\ud83d"},
     "invalid unicode in field text"),
])
def test_bad_reports(body: dict[str, object], reason: str) -> None:
    rec = route("anlan/v1/reports/p-1", json.dumps(body).encode(), REGISTRY, NOW,
                regions=REGIONS)[0]
    assert rec.topic == topics.DEADLETTER
    assert reason in DeadLetter.from_bytes(rec.value).reason


@pytest.mark.parametrize("ts", ["2026-07-20T08:05:00Z", "2026-07-13T08:01:00Z",
                                "2026-07-20T16:04:00+08:00"])
def test_report_times_within_the_bounds_pass(ts: str) -> None:
    body = {"kind": "flooding", "region": GRID, "lat": 28.7, "lon": 115.8, "ts": ts,
            "text": "水漫过路面 \U0001f30a"}
    rec = route("anlan/v1/reports/p-1", json.dumps(body).encode(), REGISTRY, NOW,
                regions=REGIONS)[0]
    assert (rec.topic, rec.key) == (topics.REPORTS_RAW, GRID)


def test_future_skew_is_tolerated() -> None:
    ts = (NOW + timedelta(minutes=4)).isoformat()
    assert route(TOPIC, message(reading(ts=ts)), REGISTRY, NOW, regions=REGIONS)[0].topic == topics.READINGS_RAW


def test_subscriptions_are_shared() -> None:
    assert contract.subscriptions("g") == ["$share/g/anlan/v1/gw/+/readings",
                                           "$share/g/anlan/v1/gw/+/status",
                                           "$share/g/anlan/v1/reports/+",
                                           "$share/g/anlan/v1/exercise/gw/+/readings"]
    assert contract.subscriptions("") == ["anlan/v1/gw/+/readings", "anlan/v1/gw/+/status",
                                          "anlan/v1/reports/+", "anlan/v1/exercise/gw/+/readings"]


EXERCISE_TOPIC = "anlan/v1/exercise/gw/gw-0002/readings"


@pytest.mark.parametrize("payload", [
    message(reading(), reading(sensor="rg-0202")),  # the fast path (spliced)
    message(reading(), reading(sensor="rg-0101")),  # checked reading by reading
    b'{"seq": 1, "readings": [' + json.dumps(reading()).encode() + b', 7]}',  # slow path
], ids=["fast", "checked", "slow"])
def test_a_drills_readings_are_marked_exercise(payload: bytes) -> None:
    assert contract.readings_topic("gw-0002", exercise=True) == EXERCISE_TOPIC
    rec = route(EXERCISE_TOPIC, payload, REGISTRY, NOW, regions=REGIONS)[0]
    event = RawReadings.from_bytes(rec.value)
    assert (rec.topic, rec.key) == (topics.READINGS_RAW, "gw-0002")  # the real key: same partition
    assert event.exercise and event.mqtt_topic == EXERCISE_TOPIC
    real = RawReadings.from_bytes(route(TOPIC, payload, REGISTRY, NOW, regions=REGIONS)[0].value)
    assert not real.exercise and real.readings == event.readings


def test_a_drill_is_checked_like_real_readings_and_has_no_status() -> None:
    foreign = route(EXERCISE_TOPIC, message(reading(sensor="rg-0101")), REGISTRY, NOW,
                    regions=REGIONS)
    assert [r.topic for r in foreign] == [topics.DEADLETTER]
    assert "not registered to gateway" in DeadLetter.from_bytes(foreign[0].value).reason
    status = route("anlan/v1/exercise/gw/gw-0002/status", b"online", REGISTRY, NOW,
                   regions=REGIONS)
    assert "not part of the contract" in DeadLetter.from_bytes(status[0].value).reason


def test_partly_foreign_well_formed_message() -> None:
    payload = message(reading(), reading(sensor="rg-0101", unit="mm"), seq=9)
    records = route(TOPIC, payload, REGISTRY, NOW, regions=REGIONS)
    assert [r.topic for r in records] == [topics.READINGS_RAW, topics.DEADLETTER]
    letter = DeadLetter.from_bytes(records[1].value)
    assert letter.reason.startswith("1 of 2 readings rejected (seq 9): readings[1]: sensor")
    original = json.loads(letter.original)
    assert original["readings"][0]["sensor"] == "rg-0101"
    assert original["readings"][0]["unit"] == "mm"


def test_valid_message_event_equals_the_normalised_event() -> None:
    """The fast path splices the gateway's JSON; it must decode to the same event."""
    payload = b'  {"readings": [{"sensor": "rg-0201", "ts": "2026-07-20T07:55:00Z", ' \
              b'"kind": "rain_mm", "value": 3, "unit": "mm"}], "seq": 5}\n'
    event = RawReadings.from_bytes(route(TOPIC, payload, REGISTRY, NOW, regions=REGIONS)[0].value)
    expected = RawReadings(gateway_id="gw-0002", mqtt_topic=TOPIC, received_at=NOW, seq=5,
                           readings=[RawReading(sensor="rg-0201", ts=NOW - timedelta(minutes=5),
                                                kind="rain_mm", value=3.0, unit="mm")])
    assert event == expected


@pytest.mark.parametrize("offsets", [("Z", "+08:00"), ("+08:00", "Z"), ("+08:00", "+08:00")])
def test_time_bounds_hold_with_mixed_offsets(offsets: tuple[str, str]) -> None:
    def at(minutes: int, offset: str) -> str:
        local = NOW + timedelta(minutes=minutes) + (timedelta(hours=8) if offset != "Z" else
                                                    timedelta(0))
        return local.replace(tzinfo=None).isoformat() + offset

    ok = message(reading(ts=at(-5, offsets[0])), reading(sensor="rg-0202", ts=at(4, offsets[1])))
    assert [r.topic for r in route(TOPIC, ok, REGISTRY, NOW, regions=REGIONS)] == [topics.READINGS_RAW]
    late = message(reading(ts=at(-5, offsets[0])), reading(sensor="rg-0202", ts=at(6, offsets[1])))
    records = route(TOPIC, late, REGISTRY, NOW, regions=REGIONS)
    assert [r.topic for r in records] == [topics.READINGS_RAW, topics.DEADLETTER]
    assert "in the future" in DeadLetter.from_bytes(records[1].value).reason
