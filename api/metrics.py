"""Prometheus metrics of one API process (a registry per app, no global state)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class ApiMetrics:
    """The API's counters, on their own registry (served at ``/metrics``)."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter("anlan_api_requests", "HTTP requests",
                                ["method", "route", "status"], registry=r)
        self.latency = Histogram("anlan_api_request_seconds", "HTTP request latency",
                                 ["route"], registry=r)
        self.commands = Counter("anlan_api_commands", "commands produced", ["kind"], registry=r)
        self.reports = Counter("anlan_api_reports", "reports received", ["outcome"], registry=r)
        self.stream_clients = Gauge("anlan_api_stream_clients", "connected SSE clients",
                                    registry=r)
        self.stream_events = Counter("anlan_api_stream_events", "events fanned out",
                                     ["topic"], registry=r)
