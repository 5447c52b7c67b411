"""Risk assessment (pure): per-sensor event-time state and levels on the gateway's partition,
per-region aggregation of sparse sensor condition changes. Evaluation is
:mod:`contingency_plans.evaluate`; this package only keeps the state and decides what to send."""

from streams.assess.gateway import GatewayOutput, GatewayState, process_message
from streams.assess.region import ConditionChange, RegionState

__all__ = ["ConditionChange", "GatewayOutput", "GatewayState", "RegionState", "process_message"]
