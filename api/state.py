"""The per-process state of the API app (built in the lifespan, kept on ``app.state.anlan``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer
from psycopg_pool import ConnectionPool

from anlan.registry import Registry
from anlan.settings import Settings
from api.data.regions import KnownRegions
from api.metrics import ApiMetrics
from api.options import ApiOptions
from api.ratelimit import Budget, LoginThrottle, RateLimits
from api.stream import StreamHub


@dataclass
class AppState:
    """Everything a request may need: settings, the DB pool, the producer, the stream hub."""

    settings: Settings
    options: ApiOptions
    metrics: ApiMetrics
    hub: StreamHub
    registry: Registry  # gateways and sensors (settings.sensors_file)
    limits: RateLimits  # the counts of every rate limit below
    report_budget: Budget  # reports per client (address + reporter id)
    report_address_budget: Budget  # reports per address (a whole village may share one)
    login_throttle: LoginThrottle  # failed logins per address + user name, and per address
    pool: ConnectionPool[Any] | None = None
    producer: AIOKafkaProducer | None = None
    stream_ready: asyncio.Event = field(default_factory=asyncio.Event)
    stream_task: asyncio.Task[None] | None = None
    loop: asyncio.AbstractEventLoop | None = None
    regions: KnownRegions = field(default_factory=KnownRegions)  # reports must name one
