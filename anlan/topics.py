"""Kafka topic names — the contract between the parts (see DESIGN.md). Keep them here only."""

from __future__ import annotations

READINGS_RAW = "anlan.readings.raw"  # key: gateway id
REPORTS_RAW = "anlan.reports.raw"  # key: region id
READINGS = "anlan.readings"  # key: gateway id
DEADLETTER = "anlan.deadletter"  # key: none
SIGNALS = "anlan.signals"  # key: plan:region
INCIDENTS = "anlan.incidents"  # key: incident id
ALERTS = "anlan.alerts"  # key: incident id
TASKS = "anlan.tasks"  # key: task id
COMMANDS = "anlan.commands"  # key: incident or task id
DELIVERIES = "anlan.deliveries"  # key: recipient
GATEWAY_STATUS = "anlan.gateways.status"  # key: gateway id (bridge → streams, "gateway offline";
# also the bridge's SeqGap reports → sink → console: messages a broker dropped)

ALL_TOPICS: tuple[str, ...] = (
    READINGS_RAW,
    REPORTS_RAW,
    READINGS,
    DEADLETTER,
    SIGNALS,
    INCIDENTS,
    ALERTS,
    TASKS,
    COMMANDS,
    DELIVERIES,
    GATEWAY_STATUS,
)
