"""Prometheus metrics of one bridge process (a registry per bridge, no global state).

Served at ``http://ANLAN_BRIDGE_METRICS_HOST:ANLAN_BRIDGE_METRICS_PORT/metrics`` when the port
is set (0, the default, serves nothing; several bridges on one host need a port each).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

log = logging.getLogger(__name__)


@dataclass
class BridgeMetrics:
    """The bridge's counters, on their own registry."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.messages = Counter("anlan_bridge_messages", "MQTT messages received",
                                registry=r)
        self.records = Counter("anlan_bridge_records", "Kafka records acknowledged",
                               ["topic"], registry=r)
        self.seq_gaps = Counter(
            "anlan_bridge_seq_gaps", "gaps in a gateway's seq: messages never received (a "
            "broker that dropped them)", ["gateway"], registry=r)
        self.missing = Counter("anlan_bridge_seq_missing_messages",
                               "messages missing in the seq gaps", ["gateway"], registry=r)
        self.open_holes = Gauge("anlan_bridge_seq_open_holes",
                                "seqs skipped and still within the grace period", registry=r)
        self._by_topic: dict[str, Any] = {}

    def record(self, topic: str) -> None:
        """Count a Kafka record acknowledged on ``topic`` (the labelled child is kept)."""
        child = self._by_topic.get(topic)
        if child is None:
            child = self._by_topic[topic] = self.records.labels(topic)
        child.inc()

    def serve(self, host: str, port: int) -> Any:
        """Serve ``/metrics`` on a daemon thread; None (logged) when the port is taken."""
        try:
            server, _thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            log.error("bridge metrics not served on %s:%s: %s", host, port, exc)
            return None
        log.info("bridge metrics on http://%s:%s/metrics", host, port)
        return server
