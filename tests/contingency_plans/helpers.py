"""Small builders shared by the contingency-plan tests."""

from __future__ import annotations

import functools
import textwrap
from datetime import datetime, timedelta, timezone

from anlan.events import Level
from anlan.registry import SensorInfo
from contingency_plans import Plan, SensorState, load_plans, parse_plan, sensor_level
from contingency_plans.evaluate import SensorAssessment

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 7, 20, 0, 0, tzinfo=CST)

SEVERITY = {"IV": "Minor", "III": "Moderate", "II": "Severe", "I": "Extreme"}


def actions(level: str) -> str:
    """A minimal valid ``actions`` block for ``level`` (YAML flow style)."""
    return ("{notify: [{role: duty_officer, tier: county}], ack_timeout: 15m, cap: "
            "{category: [Met], urgency: Expected, severity: " + SEVERITY[level] + ", "
            "certainty: Likely, response_type: [Monitor], headline: {zh-CN: 测试, en: test}, "
            "instruction: {zh-CN: 测试, en: test}}}")


def plan_yaml(levels: dict[str, str], kinds: str = "[rain_mm]", extra: str = "",
              step_down: str = "{hold: 30m, quiet: 1h, missing_data: {after: 30m}}") -> str:
    """A plan document whose level ``L`` has the YAML body ``levels[L]`` (without actions)."""
    lines = ["id: test", "name: {zh-CN: 测试, en: Test}", "hazard: test",
             "standard: {title: T, issuer: I}", f"kinds: {kinds}", "levels:"]
    for key, body in levels.items():
        lines.append(f"  {key}:")
        lines += ["    " + ln for ln in textwrap.dedent(body).strip().splitlines()]
        lines.append(f"    actions: {actions(key)}")
    lines.append(f"step_down: {step_down}")
    if extra:
        lines += textwrap.dedent(extra).strip().splitlines()
    return "\n".join(lines) + "\n"


def make_plan(levels: dict[str, str], **kw: str) -> Plan:
    return parse_plan(plan_yaml(levels, **kw), "test.yaml")


def rain_sensor(sid: str = "rg-1", region: str = "360121100001-G1",
                **attrs: object) -> SensorInfo:
    return SensorInfo(sensor_id=sid, kind="rain_mm", region=region, attrs=dict(attrs))


def feed(plan: Plan, sensor: SensorInfo, amounts: list[float], start: datetime = T0,
         step_min: int = 5, state: SensorState | None = None,
         current: Level = Level.NONE) -> tuple[SensorState, SensorAssessment, datetime]:
    """Feed one reading every ``step_min`` minutes (the first at ``start + step``); return the
    state, the assessment after the last reading (carrying the level along) and its time."""
    state = state or SensorState.for_plans([plan], sensor.kind)
    t = start
    a = SensorAssessment(current)
    for amount in amounts:
        t += timedelta(minutes=step_min)
        state.add(t, amount)
        a = sensor_level(plan, sensor, state, t, current=a.level)
    return state, a, t


@functools.cache
def shipped() -> dict[str, Plan]:
    """The shipped plans, loaded once for the whole test run (plans are immutable)."""
    return load_plans()
