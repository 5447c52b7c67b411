"""Pure parts of the shared contract: levels, events on the wire, settings, topic names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from anlan import topics
from anlan.errors import StartupError
from anlan.events import DeadLetter, GatewayMessage, Level, RawReadings, Signal
from anlan.settings import load_settings


def test_levels_order_by_severity_not_by_name() -> None:
    assert Level.NONE < Level.IV < Level.III < Level.II < Level.I
    assert max([Level.III, Level.I, Level.IV]) is Level.I
    assert [lv.colour for lv in (Level.IV, Level.I)] == ["blue", "red"]
    assert Level.II.colour_zh == "橙色" and Level.from_rank(9) is Level.I
    assert Level.from_rank(-1) is Level.NONE


@pytest.mark.parametrize("body, field", [
    ({"seq": -1, "readings": [{"sensor": "s", "ts": "2026-07-20T08:00:00+08:00",
                               "kind": "rain_mm", "value": 1}]}, "seq"),
    ({"seq": 1, "readings": [{"sensor": "s", "ts": "2026-07-20T08:00:00",
                              "kind": "rain_mm", "value": 1}]}, "ts"),
    ({"seq": 1, "readings": []}, "readings"),
    ({"seq": 1, "readings": [{"sensor": "s", "ts": "2026-07-20T08:00:00Z",
                              "kind": "rain_mm", "value": "NaN"}]}, "value"),
    ({"seq": 1, "extra": 1, "readings": [{"sensor": "s", "ts": "2026-07-20T08:00:00Z",
                                          "kind": "rain_mm", "value": 1}]}, "extra"),
])
def test_gateway_message_rejects_what_breaks_the_contract(body: dict, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        GatewayMessage.model_validate(body)
    assert field in str(err.value)


def test_events_round_trip_as_json_bytes() -> None:
    raw = RawReadings(gateway_id="gw-1", mqtt_topic="anlan/v1/gw/gw-1/readings",
                      received_at=datetime(2026, 7, 20, tzinfo=UTC), seq=3,
                      readings=GatewayMessage.model_validate(
                          {"seq": 3, "readings": [{"sensor": "rg-1", "kind": "rain_mm",
                                                   "ts": "2026-07-20T08:00:00+08:00",
                                                   "value": 2.5}]}).readings)
    assert RawReadings.from_bytes(raw.to_bytes()) == raw
    letter = DeadLetter.of("bridge", "not valid JSON", "anlan/v1/gw/x/readings", b"\xff{")
    assert DeadLetter.from_bytes(letter.to_bytes()).original == b"\xff{"
    signal = Signal(plan="rainstorm", region="360121100001-G1", previous=Level.NONE,
                    level=Level.IV, ts=datetime(2026, 7, 20, tzinfo=UTC))
    assert signal.key == "rainstorm:360121100001-G1"


def test_settings_prefix_topics_and_require_kafka() -> None:
    settings = load_settings(topic_prefix="t1.", kafka_bootstrap="")
    assert settings.topic(topics.ALERTS) == "t1.anlan.alerts"
    assert len(set(topics.ALL_TOPICS)) == len(topics.ALL_TOPICS)
    with pytest.raises(StartupError, match="ANLAN_KAFKA_BOOTSTRAP is not set"):
        settings.require_kafka()
    assert load_settings(kafka_bootstrap="k:9092").require_kafka() == "k:9092"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANLAN_TOPIC_PARTITIONS", "8")
    monkeypatch.setenv("ANLAN_DEFAULT_NOTIFY_URLS", '["json://127.0.0.1:9/x"]')
    settings = load_settings()
    assert settings.topic_partitions == 8
    assert settings.default_notify_urls == ["json://127.0.0.1:9/x"]
