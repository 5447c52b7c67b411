"""Pure parts of the API: password hashing, tokens, scoping, rate limiting, request validation,
evidence, timeline, the SSE hub."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from anlan.events import Alert, IncidentEvent, Level
from api.evidence import evidence_sensors
from api.ratelimit import Budget, LoginThrottle, RateLimits
from api.scope import in_scope, narrow
from api.security import (
    InvalidToken,
    _b64,
    _sign,
    hash_password,
    new_api_token,
    read_token,
    sign_token,
    token_hash,
    verify_password,
)
from api.stream import StreamHub, decode, sse_events
from api.timeline import build_timeline
from api.validation import RequestBody, find_text_problem, text_problem

T0 = datetime(2026, 7, 20, 8, 0, tzinfo=UTC)


def test_password_hash_roundtrip() -> None:
    stored = hash_password("s3cret-pass")
    assert stored.startswith("scrypt$") and "s3cret" not in stored
    assert verify_password("s3cret-pass", stored)
    assert not verify_password("s3cret-pasS", stored)
    assert hash_password("same") != hash_password("same")  # salted
    assert not verify_password("x", "garbage") and not verify_password("x", "md5$1$2$3$aa$bb")


def test_login_token_sign_and_read() -> None:
    token = sign_token("cg_officer", "k", now=1000.0, ttl_s=60, version=3)
    claims = read_token(token, "k", now=1059.0)
    assert (claims["sub"], claims["ver"]) == ("cg_officer", 3) and len(claims["jti"]) >= 16
    assert read_token(sign_token("x", "k", now=1000.0, ttl_s=60), "k", now=1000.0)["jti"] \
        != claims["jti"]
    with pytest.raises(InvalidToken, match="expired"):
        read_token(token, "k", now=1060.0)
    with pytest.raises(InvalidToken, match="signature"):
        read_token(token, "other-key", now=1000.0)
    old_style = _b64(b'{"sub":"cg_officer","exp":2000}')  # from before jti and ver
    for bad in ("", "abc", "a.b", token.split(".")[0] + ".", "." + token.split(".")[1],
                token.split(".")[0] + ".sig\u00e9", f"{old_style}.{_sign(old_style, 'k')}"):
        with pytest.raises(InvalidToken):
            read_token(bad, "k", now=1000.0)


@pytest.mark.parametrize("text,problem", [
    ("河口村 ok", None), ("a\x00b", "NUL"), ("\ud83d", "surrogate"), ("\ud83d\ude00", "surrogate"),
    ("\U0001f600", None)])
def test_text_problem(text: str, problem: str | None) -> None:
    found = text_problem(text)
    assert (found is None) if problem is None else (problem in (found or ""))


def test_request_bodies_refuse_unknown_fields_and_unstorable_text() -> None:
    class Body(RequestBody):
        name: str
        tags: tuple[str, ...] = ()

    assert Body(name="x", tags=["y"]).name == "x"
    for bad in ({"name": "x", "nmae": "y"}, {"name": "a\x00"}, {"name": "x", "tags": ["\udc00"]}):
        with pytest.raises(ValidationError):
            Body.model_validate(bad)
    assert find_text_problem({"k\x00": 1}) and not find_text_problem({"k": [1, "ok"]})


def test_api_tokens_are_random_and_hashed() -> None:
    a, b = new_api_token(), new_api_token()
    assert a != b and a.startswith("anl_") and len(a) > 40
    assert token_hash(a) == token_hash(a) != token_hash(b) and a not in token_hash(a)


@pytest.mark.parametrize("scope,region,inside", [
    ("360121", "360121", True),
    ("360121", "360121100001-G1", True),
    ("360121100", "360121100001", True),
    ("360121100", "360121101001", False),
    ("360121100", "360121", False),  # the parent is outside
    ("360121100001", "360121100001-G2", True),
    ("360121100001-G1", "360121100001-G1", True),
    ("360121100001-G1", "360121100001-G10", False),  # a grid is a leaf
    ("360121100001-G1", "360121100001", False),
    ("360121", "", False),
    ("360121", None, False),
])
def test_in_scope(scope: str, region: str | None, inside: bool) -> None:
    assert in_scope(scope, region) is inside


def test_narrow() -> None:
    assert narrow("360121100", None) == "360121100"
    assert narrow("360121100", "360121100002") == "360121100002"
    assert narrow("360121100", "360121101") is None


def test_rate_limits_count_per_budget_and_key() -> None:
    limits = RateLimits()
    budget = Budget.of("x", "2 per 10 minutes")
    assert [limits.hit(budget, "a") for _ in range(3)] == [True, True, False]
    assert 590 <= limits.retry_after(budget, "a") <= 600
    assert limits.retry_after(budget, "b") == 0 and limits.hit(budget, "b")  # per key
    assert limits.hit(Budget.of("y", "2 per 10 minutes"), "a")  # per budget name
    limits.clear(budget, "a")
    assert limits.retry_after(budget, "a") == 0


def test_login_throttle_counts_per_name_and_per_address() -> None:
    throttle = LoginThrottle(RateLimits(), per_name="2/minute", per_address="3/minute")
    throttle.failed("10.0.0.1", "alice")
    throttle.failed("10.0.0.1", "alice")
    assert throttle.retry_after("10.0.0.1", "alice") > 0  # that name from there
    assert throttle.retry_after("10.0.0.1", "bob") == 0
    assert throttle.retry_after("10.0.0.2", "alice") == 0
    throttle.failed("10.0.0.1", "bob")  # spraying: the address's budget is spent
    assert throttle.retry_after("10.0.0.1", "carol") > 0
    assert throttle.retry_after("10.0.0.2", "carol") == 0
    other = LoginThrottle(RateLimits(), per_name="2/minute", per_address="10/minute")
    other.failed("10.0.0.1", "alice")
    other.failed("10.0.0.1", "alice")
    other.succeeded("10.0.0.1", "alice")  # a right password forgets that name's failures
    assert other.retry_after("10.0.0.1", "alice") == 0


def test_evidence_sensors_of_a_sensor_assessment() -> None:
    ev = {"sensor": "rg-0101", "kind": "rain_mm", "level": "I",
          "matched": [{"type": "window_sum", "value": 104.5, "threshold": 100.0,
                       "window": "3h"}]}
    assert evidence_sensors(ev) == [{"sensor": "rg-0101", "kind": "rain_mm",
                                     "threshold": 100.0, "value": 104.5}]


def test_evidence_sensors_of_a_region_assessment() -> None:
    top = {"sensor": "rg-0102", "kind": "rain_mm", "level": "II",
           "matched": [{"type": "window_sum", "value": 55.0, "threshold": 50.0}]}
    ev = {"region": "360121100001", "level": "II",
          "matched": [{"type": "sensors", "count": 2, "of": 3,
                       "sensors": ["rg-0102", "rg-0101"], "top": top},
                      {"type": "reports", "kind": "waterlogging", "count": 3}]}
    found = evidence_sensors(ev)
    assert [f["sensor"] for f in found] == ["rg-0102", "rg-0101"]
    assert found[0] == {"sensor": "rg-0102", "kind": "rain_mm", "threshold": 50.0,
                        "value": 55.0}


def test_evidence_sensors_from_other_shapes() -> None:
    ev = {"trigger": {"type": "window_sum", "kind": "rain_mm", "gte": 50, "threshold": 50},
          "hits": [{"sensor": "rg-0101", "value": 62.5}, {"sensor_id": "rg-0102"}],
          "note": "x"}
    found = evidence_sensors(ev)
    assert [f["sensor"] for f in found] == ["rg-0101", "rg-0102"]
    assert found[0]["value"] == 62.5 and found[0]["threshold"] is None
    assert evidence_sensors({}) == [] and evidence_sensors(None) == []
    assert evidence_sensors({"sensor": True}) == []


def test_timeline_merges_in_time_order() -> None:
    rows = {
        "events": [{"ts": T0, "change": "opened", "level": "I", "previous": "none",
                    "status": "open", "actor": None},
                   {"ts": T0 + timedelta(minutes=5), "change": "acknowledged", "level": "I",
                    "previous": "I", "status": "acknowledged", "actor": "cg"}],
        "signals": [{"ts": T0, "level": "I", "previous": "II", "evidence": {}}],
        "alerts": [{"ts": T0 + timedelta(seconds=1), "alert_id": "a1", "msg_type": "Alert",
                    "level": "I", "tier": 0, "headline": "暴雨红色预警"}],
        "deliveries": [{"ts": T0 + timedelta(seconds=2), "recipient": "p1", "channel": "json",
                        "attempt": 1, "outcome": "failed", "error": "timeout"}],
        "commands": [{"ts": T0 + timedelta(minutes=4), "kind": "ack", "actor": "cg",
                      "detail": {}}],
        "tasks": [],
    }
    tl = build_timeline(rows)
    assert [e.kind for e in tl] == ["signal", "incident", "alert", "delivery", "command",
                                    "incident"]
    assert tl[1].label == "事件开始" and tl[-1].label == "已确认"
    assert "失败：timeout" in tl[3].summary and tl[2].summary == "红色 暴雨红色预警"


def _alert(region: str) -> Alert:
    return Alert(alert_id="a", incident_id="i", msg_type="Alert", plan="p", hazard="rainstorm",
                 region=region, level=Level.I, sent=T0, headline="h")


async def test_hub_fans_out_within_scope_and_flags_laggards() -> None:
    hub = StreamHub(queue_size=1)
    county, cg, hk = hub.subscribe("360121"), hub.subscribe("360121100"), hub.subscribe(
        "360121101")
    assert hub.publish({"type": "alert", "data": {}}, "360121100001-G1") == 2
    assert county.queue.qsize() == cg.queue.qsize() == 1 and hk.queue.empty()
    hub.publish({"type": "alert", "data": {}}, "360121100001")
    assert county.lagged and cg.lagged and not hk.lagged
    events = sse_events(cg, keepalive_s=0.01)
    assert await anext(events) == "retry: 3000\n\n"
    assert await anext(events) == "event: resync\ndata: {}\n\n"
    assert await anext(events) == ": keep-alive\n\n"
    hub.unsubscribe(cg)
    assert cg not in hub.clients
    hub.resync_all()
    assert hk.queue.get_nowait() == {"type": "resync", "data": {}}
    await asyncio.sleep(0)


def test_decode_records() -> None:
    alert = _alert("360121100001")
    event, region = decode("t1.anlan.alerts", alert.to_bytes())  # type: ignore[misc]
    assert event["type"] == "alert" and region == "360121100001"
    inc = IncidentEvent(incident_id="i", plan="p", hazard="h", region="360121", change="opened",
                        level=Level.II, ts=T0)
    event, region = decode("anlan.incidents", inc.to_bytes())  # type: ignore[misc]
    assert event["data"]["change"] == "opened"
    assert decode("anlan.alerts", b"{not json") is None


async def test_stream_supervisor_restarts_and_resyncs(monkeypatch: pytest.MonkeyPatch) -> None:
    import api.stream as stream_mod

    calls: list[int] = []

    async def flaky(settings: object, hub: StreamHub, metrics: object,
                    ready: asyncio.Event) -> None:
        calls.append(1)
        ready.set()
        if len(calls) == 1:
            raise ConnectionError("broker went away")

    monkeypatch.setattr(stream_mod, "run_stream", flaky)
    monkeypatch.setattr(stream_mod.asyncio, "sleep", lambda _s: _done())  # no real backoff
    hub = StreamHub()
    client = hub.subscribe("360121")
    ready = asyncio.Event()
    await stream_mod.supervise_stream(object(), hub, object(), ready)  # type: ignore[arg-type]
    assert len(calls) == 2 and ready.is_set()
    assert client.queue.get_nowait()["type"] == "resync"


async def _done() -> None:
    return None
