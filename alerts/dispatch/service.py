"""The ``anlan dispatch`` process: consume alerts, tasks, commands and incident changes; run
the timers; publish deliveries and task changes. Offsets are committed only up to the events
fully handled, so a crash redelivers and the database claims keep it from messaging twice."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from aiokafka import ConsumerRecord, TopicPartition
from psycopg_pool import AsyncConnectionPool
from pydantic import ValidationError

from alerts.directory import db as dirdb
from alerts.directory.load import read_file
from alerts.directory.model import Directory
from alerts.dispatch.dispatcher import Dispatcher, DispatchOptions
from alerts.dispatch.offsets import OffsetTracker
from alerts.dispatch.publisher import KafkaPublisher, Publisher, SafePublisher
from alerts.mobilization.service import MobilizeOptions, Mobilizer
from alerts.notify.sender import AppriseNotifier, Notifier, register_log_scheme
from anlan import topics
from anlan.errors import PermanentError, StartupError
from anlan.events import Alert, Command, DeadLetter, IncidentEvent, Task
from anlan.kafka import make_consumer, make_producer
from anlan.settings import Settings
from anlan.stack.readiness import mark_ready

log = logging.getLogger("alerts.dispatch")
TASK_REPLIES = ("task_accept", "task_decline", "task_checkin", "task_complete")


@dataclass
class ServiceOptions:
    dispatch: DispatchOptions = field(default_factory=DispatchOptions)
    mobilize: MobilizeOptions = field(default_factory=MobilizeOptions)
    tick_s: float = 1.0
    directory_check_s: float = 5.0
    import_directory: bool = True  # import settings.directory_file when the database has none
    group_id: str = "anlan-dispatch"
    max_in_flight: int = 200


def load_directory(settings: Settings, import_when_empty: bool) -> tuple[Directory, int]:
    """The stored directory (importing ``settings.directory_file`` into an empty database)."""
    try:
        with psycopg.connect(settings.database_url, connect_timeout=5) as conn:
            directory = dirdb.load(conn)
            path = Path(settings.directory_file)
            if not directory.people and import_when_empty and path.exists():
                directory = read_file(path)
                counts = dirdb.save(conn, directory, str(path))
                log.info("imported directory %s: %s", path, counts)
            return directory, dirdb.version(conn)
    except psycopg.OperationalError as exc:
        raise StartupError(f"database: {str(exc).strip().splitlines()[0]} — check "
                           "ANLAN_DATABASE_URL and run `anlan db migrate`") from exc
    except psycopg.errors.UndefinedTable as exc:
        raise StartupError("the directory tables are missing; run `anlan db migrate`") from exc


class DispatchService:
    """Wires the dispatcher and mobilizer to Kafka and PostgreSQL."""

    def __init__(self, settings: Settings, options: ServiceOptions | None = None,
                 notifier: Notifier | None = None) -> None:
        self.settings = settings
        self.options = options or ServiceOptions()
        self.notifier = notifier or AppriseNotifier()
        self.stopping = asyncio.Event()
        self.tracker = OffsetTracker()
        self.tasks: set[asyncio.Task[None]] = set()
        self.by_key: dict[bytes, asyncio.Task[None]] = {}  # the latest event per key
        self.handled = 0

    async def run(self) -> None:
        """Consume until :meth:`stop`."""
        register_log_scheme(logging.getLogger("alerts.demo"))
        directory, self.dir_version = await asyncio.to_thread(
            load_directory, self.settings, self.options.import_directory)
        pool = AsyncConnectionPool(self.settings.database_url, min_size=1, max_size=20,
                                   open=False)
        await pool.open(wait=True, timeout=30)
        producer = make_producer(self.settings)
        consumer = make_consumer(self.settings, topics.ALERTS, topics.TASKS, topics.COMMANDS,
                                 topics.INCIDENTS, group_id=self.settings.topic_prefix
                                 + self.options.group_id,
                                 rebalance_timeout_ms=int(
                                     self.settings.broker_rebalance_timeout * 1000),
                                 # a dead dispatcher's partitions move on within ~6 s
                                 session_timeout_ms=6000, heartbeat_interval_ms=2000)
        await producer.start()
        try:
            await consumer.start()
            try:
                await self._serve(pool, producer, consumer, directory)
            finally:
                await consumer.stop()
        finally:
            await producer.stop()
            await pool.close()

    def stop(self) -> None:
        self.stopping.set()

    async def _serve(self, pool: AsyncConnectionPool, producer: Any, consumer: Any,
                     directory: Directory) -> None:
        self.publisher: Publisher = SafePublisher(KafkaPublisher(self.settings, producer))
        self.dispatcher = Dispatcher(self.settings, pool, self.notifier, self.publisher,
                                     directory, self.options.dispatch)
        self.mobilizer = Mobilizer(self.settings, pool, self.dispatcher.messenger,
                                   self.publisher, lambda: (self.dispatcher.directory,
                                                            self.dispatcher.tree),
                                   self.options.mobilize, owner=self.options.dispatch.owner)
        self.dispatcher.on_closed = self.mobilizer.cancel_incident
        self.dispatcher.on_stale = self.mobilizer.resend
        timers = asyncio.create_task(self._timers())
        ready = False
        try:
            while not self.stopping.is_set():
                batch = await consumer.getmany(timeout_ms=300)
                if not ready:
                    mark_ready("dispatch")
                    ready = True
                for tp, records in batch.items():
                    for record in records:
                        await self._start(tp, record)
                await self._commit(consumer)
            if self.tasks:
                await asyncio.wait(self.tasks, timeout=30)
            await self._commit(consumer)
        finally:
            timers.cancel()
            await asyncio.gather(timers, return_exceptions=True)

    async def _start(self, tp: TopicPartition, record: ConsumerRecord) -> None:
        """Handle ``record`` concurrently with others, but after the events of the same key
        (incident or task id) started before it: an alert's Cancel never overtakes the Alert."""
        while self.tracker.in_flight() >= self.options.max_in_flight:
            await asyncio.sleep(0.05)
        self.tracker.started(tp, record.offset)
        key = record.key or b""
        before = self.by_key.get(key)
        task = asyncio.create_task(self._handle(tp, record, before))
        self.by_key[key] = task
        self.tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self.tasks.discard(t)
            if self.by_key.get(key) is t:
                del self.by_key[key]

        task.add_done_callback(done)

    async def _commit(self, consumer: Any) -> None:
        offsets = self.tracker.committable()
        if offsets:
            await consumer.commit(offsets)

    async def _handle(self, tp: TopicPartition, record: ConsumerRecord,
                      before: asyncio.Task[None] | None) -> None:
        try:
            if before is not None:
                await asyncio.wait([before])
            await self._with_retries(record)
        finally:
            self.tracker.done(tp, record.offset)
            self.handled += 1

    async def _with_retries(self, record: ConsumerRecord) -> None:
        delay = 0.5
        while True:
            try:
                await self._route(record)
                return
            except (ValidationError, PermanentError, ValueError) as exc:
                await self._dead_letter(record, f"{exc.__class__.__name__}: {exc}"[:2000])
                return
            except (psycopg.OperationalError, OSError) as exc:
                if self.stopping.is_set():
                    raise
                log.warning("retrying %s@%d in %.1fs: %s", record.topic, record.offset, delay,
                            exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
            except Exception as exc:
                log.exception("could not handle %s@%d", record.topic, record.offset)
                await self._dead_letter(record, f"dispatch error {exc.__class__.__name__}: "
                                        f"{exc}"[:2000])
                return

    async def _route(self, record: ConsumerRecord) -> None:
        name = record.topic[len(self.settings.topic_prefix):]
        value: bytes = record.value or b""
        if name == topics.ALERTS:
            outcome = await self.dispatcher.handle_alert(Alert.from_bytes(value))
            if outcome.sent or outcome.failed:
                log.info("alert %s: sent to %s, failed %s", outcome.alert_id, outcome.sent,
                         outcome.failed)
        elif name == topics.TASKS:
            await self.mobilizer.handle_task(Task.from_bytes(value))
        elif name == topics.COMMANDS:
            await self._command(Command.from_bytes(value))
        elif name == topics.INCIDENTS:
            event = IncidentEvent.from_bytes(value)
            if event.change in ("acknowledged", "resolved", "cleared"):
                state = "acknowledged" if event.change == "acknowledged" else "resolved"
                await self.dispatcher.close(event.incident_id, state,
                                            f"incident:{event.actor or event.change}")

    async def _command(self, cmd: Command) -> None:
        handlers: dict[str, Callable[[], Awaitable[Any]]] = {
            "ack": lambda: self.dispatcher.close(cmd.target, "acknowledged", cmd.actor),
            "resolve": lambda: self.dispatcher.close(cmd.target, "resolved", cmd.actor),
            "escalate": lambda: self.dispatcher.escalate_now(cmd.target),
        }
        if cmd.kind in handlers:
            await handlers[cmd.kind]()
        elif cmd.kind in TASK_REPLIES:
            await self.mobilizer.handle_command(cmd)

    async def _dead_letter(self, record: ConsumerRecord, reason: str) -> None:
        log.error("dead-lettering %s@%d: %s", record.topic, record.offset, reason)
        key = record.key.decode(errors="replace") if record.key else None
        await self.publisher.publish(topics.DEADLETTER, None, DeadLetter.of(
            "dispatch", reason, record.topic, record.value or b"", key))

    async def _timers(self) -> None:
        since_check = 0.0
        while True:
            await asyncio.sleep(self.options.tick_s)
            try:
                await self.dispatcher.tick()
                await self.mobilizer.tick()
                since_check += self.options.tick_s
                if since_check >= self.options.directory_check_s:
                    since_check = 0.0
                    await self._reload_directory()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("timer tick failed")

    async def _reload_directory(self) -> None:
        version = await asyncio.to_thread(_stored_version, self.settings.database_url)
        if version != self.dir_version:
            directory, self.dir_version = await asyncio.to_thread(
                load_directory, self.settings, False)
            self.dispatcher.set_directory(directory)
            log.info("directory reloaded (import %d)", version)


def _stored_version(url: str) -> int:
    with psycopg.connect(url, connect_timeout=5) as conn:
        return dirdb.version(conn)
