"""The Faust app: one per worker process, built from the settings (never at import time)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import faust
from faust.serializers.codecs import Codec

from anlan import topics as contract
from anlan.registry import Registry, load_registry
from anlan.settings import Settings
from anlan.stack.readiness import mark_ready
from streams.changelog import PendingChangelog, Transport
from streams.codec import dumps, loads
from streams.plans import PlanBook

log = logging.getLogger(__name__)

INTERNAL = ("conditions", "commands", "ticks")
"""Internal topics of the streams (repartitioned condition changes, re-keyed commands, timer
ticks), named per worker id and topic prefix; created at start-up like the contract topics."""


def internal_topic(settings: Settings, name: str) -> str:
    """The contract-style name of an internal topic (pass it to ``settings.topic``)."""
    return f"anlan.streams.{settings.worker_id}.{name}"


@dataclass
class Context:
    """What the agents share: settings, reference data, topics and tables."""

    settings: Settings
    registry: Registry
    book: PlanBook
    topics: dict[str, Any]
    tables: dict[str, Any]
    app: Any = None
    pending: PendingChangelog | None = None

    @property
    def producer(self) -> Any:
        """The app's (transport) producer; Faust flushes it before committing offsets."""
        return self.app.producer


def load_book(settings: Settings) -> PlanBook:
    """The plans of ``settings.plans_dir`` (empty book when none are shipped yet)."""
    from contingency_plans.loader import load_plans

    plans = load_plans(settings.plans_dir)
    items = plans.values() if isinstance(plans, dict) else plans
    return PlanBook(plans={p.id: p for p in items})


def create_app(settings: Settings, *, registry: Registry | None = None,
               book: PlanBook | None = None, bare: bool = False) -> faust.App:
    """Build the worker's Faust app with every agent, table and timer attached.

    ``bare`` builds only a decode-only agent on the raw readings (the benchmark's floor).
    """
    app = faust.App(
        settings.worker_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        topic_allow_declare=True,
        broker_rebalance_timeout=settings.broker_rebalance_timeout,
        # tansu holds a JoinGroup for about half the session timeout (measured: 60 s → 30 s,
        # 10 s → 5 s), so keep it short when the rebalance timeout is short
        broker_session_timeout=min(60.0, max(10.0, 2 * settings.broker_rebalance_timeout)),
        broker_heartbeat_interval=3.0,
        producer_acks=-1,
        # batch the per-message sends (changelog + readings): without linger every send is
        # its own produce request and the request handling dominates (measured 2-3x slower)
        producer_linger=0.005,
        producer_max_batch_size=1 << 20,
        producer_max_request_size=4 << 20,
        processing_guarantee="at_least_once",
        table_standby_replicas=0,
        web_enabled=bool(settings.worker_web_port),
        web_port=settings.worker_web_port or 6066,
        datadir=str(settings.worker_data_dir),
        autodiscover=False,
        consumer_auto_offset_reset="earliest",
        stream_wait_empty=False,
        logging_config=None,
    )
    # the producer writes deferred table state before Faust commits (streams/changelog.py)
    app.transport = Transport(app.conf.broker_consumer, app)
    app.idempotent_producer = settings.kafka_idempotent_producer  # type: ignore[attr-defined]
    ready = {"done": False}

    @app.on_rebalance_complete.connect
    async def _ready(*args: Any, **kwargs: Any) -> None:
        if not ready["done"]:
            ready["done"] = True
            mark_ready("worker")
            log.info("worker %s: partitions assigned and tables recovered", settings.worker_id)

    if bare:
        from streams.agents import install_bare
        install_bare(app, settings)
        return app
    ctx = Context(settings=settings,
                  registry=registry if registry is not None else load_registry(
                      settings.sensors_file),
                  book=book if book is not None else load_book(settings),
                  topics={}, tables={}, app=app)
    _declare(app, ctx)
    # the tail repeat is tansu's workaround: off only for a broker known to be a real Kafka
    pending = PendingChangelog(ctx.tables, repeat_tail=settings.kafka_broker != "kafka")
    ctx.pending = app.pending_changelog = pending  # type: ignore[attr-defined]
    from streams.agents import install
    install(app, ctx)
    return app


def _declare(app: faust.App, ctx: Context) -> None:
    s = ctx.settings
    def topic(*names: str) -> Any:
        return app.topic(*names, key_serializer="raw", value_serializer="raw")

    def t(name: str) -> str:
        return s.topic(name)

    def i(name: str) -> str:
        return s.topic(internal_topic(s, name))

    ctx.topics.update(
        gateway_in=topic(t(contract.READINGS_RAW), t(contract.GATEWAY_STATUS), i("ticks")),
        reports_in=topic(t(contract.REPORTS_RAW)),
        incident_in=topic(t(contract.SIGNALS), i("commands")),
        commands_in=topic(t(contract.COMMANDS)),
        readings=topic(t(contract.READINGS)), deadletter=topic(t(contract.DEADLETTER)),
        conditions=topic(i("conditions")), ticks=topic(i("ticks")),
        signals=topic(t(contract.SIGNALS)), commands=topic(i("commands")),
        incidents=topic(t(contract.INCIDENTS)), alerts=topic(t(contract.ALERTS)),
        tasks=topic(t(contract.TASKS)),
    )
    prefix = s.topic_prefix
    for name in ("gateways", "regions", "incidents"):
        codec = StateCodec()
        table = app.Table(f"{prefix}{name}", default=None, partitions=s.topic_partitions,
                          schema=faust.Schema(key_serializer="json", value_serializer=codec))
        table.value_serializer = codec  # type: ignore[attr-defined]  # default: "json"
        ctx.tables[name] = table


class StateCodec(Codec):
    """Table values: live state objects in memory, ``to_dict()`` JSON in the changelog (values
    recovered from the changelog come back as dicts; the agents convert them lazily)."""

    def _dumps(self, obj: Any) -> bytes:
        return dumps(obj.to_dict() if hasattr(obj, "to_dict") else obj)

    def _loads(self, s: bytes) -> Any:
        return loads(s)
