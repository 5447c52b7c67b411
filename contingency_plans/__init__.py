"""Contingency plans (应急预案) as code: the plan model, loader and validator, the pure
evaluation used by the live streams, the backtest and drills, and the shipped plans.

Public surface::

    load_plans(dir) / load_plan(path) / parse_plan(text)   -> Plan   (PlanError on problems)
    SensorState.for_plans(plans, kind)                    per-sensor event-time state
    sensor_level(plan, sensor, state, now, current=...)   -> SensorAssessment
    sensor_bound(plan, sensor, state, now)                -> how far a quiet sensor is from
                                                             every trigger (skip until exceeded)
    region_level(plan, region, sensor_levels, report_times, now) -> RegionAssessment
    region_of(plan, sensor)                               the region a sensor counts for
    LevelTracker.for_plan(plan, region).step(level, now, evidence) -> LevelChange | None
"""

from contingency_plans.evaluate import (
    RegionAssessment,
    SensorAssessment,
    region_level,
    region_of,
    sensor_bound,
    sensor_level,
)
from contingency_plans.loader import (
    PLANS_DIR,
    PlanError,
    PlanIssue,
    load_plan,
    load_plans,
    parse_plan,
)
from contingency_plans.plan import Plan
from contingency_plans.state import SensorState
from contingency_plans.tracker import LevelChange, LevelTracker

__all__ = [
    "PLANS_DIR", "LevelChange", "LevelTracker", "Plan", "PlanError", "PlanIssue",
    "RegionAssessment", "SensorAssessment", "SensorState", "load_plan", "load_plans",
    "parse_plan", "region_level", "region_of", "sensor_bound", "sensor_level",
]
