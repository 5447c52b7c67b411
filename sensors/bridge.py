"""The MQTT → Kafka bridge: a thin adapter around :func:`sensors.contract.route`.

Delivery guarantee (at least once, nothing lost between the broker and Kafka):

- MQTT 5 persistent session (``clean_start=False`` + session expiry), QoS 1 shared subscriptions,
  paho-mqtt ``manual_ack=True``: a message is acknowledged to the broker only after Kafka
  acknowledged (``acks=all``) every record made from it, and acks leave in receive order.
- The broker never has more than ``bridge_max_inflight`` unacknowledged messages out to us
  (MQTT 5 Receive Maximum), and the bridge stops reading its socket beyond twice that bound
  (QoS 0 floods), so memory stays flat when Kafka is slow. A killed bridge's unacknowledged
  messages are redelivered on reconnect; the copies it already produced are duplicates
  downstream removes (gateway + seq + sensor + ts).
- paho is driven by the asyncio loop itself (socket callbacks, no network thread): one thread,
  no GIL hand-offs, ``client.ack`` called where the Kafka ack arrives. ``on_message`` only
  appends to an inbox. Acks of a previous connection are never sent on a new one (the broker
  redelivers those messages instead).

A broker that drops messages it acknowledged to a gateway (a full queue) shows as a gap in the
gateway's ``seq`` (:mod:`sensors.seqgaps`): each gap is a warning in the log, a count on
``/metrics`` and a :class:`~anlan.events.SeqGap` event on ``anlan.gateways.status`` (stored by
the sink, shown by ``GET /api/v1/gateways``).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from aiokafka.errors import KafkaError, ProducerClosed
from aiokafka.partitioner import DefaultPartitioner
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from anlan import topics
from anlan.events import SeqGap
from anlan.kafka import make_producer
from anlan.registry import Registry
from anlan.settings import Settings
from sensors.contract import Record, dead_letter, route, subscriptions
from sensors.metrics import BridgeMetrics
from sensors.seqgaps import Gap, SeqTracker

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 24 * 3600
"""How long the broker keeps the bridge's session (and queues for it) while it is away."""


@dataclass(slots=True)
class _Entry:
    """One MQTT message between receipt and its ack."""

    generation: int
    mid: int
    qos: int
    remaining: int = 0
    done: bool = False


@dataclass
class BridgeStats:
    """Counters (read them from the bridge's loop thread)."""

    received: int = 0
    forwarded: int = 0
    dead_lettered: int = 0
    acked: int = 0
    kafka_retries: int = 0
    connects: int = 0
    seq_gaps: int = 0
    by_topic: dict[str, int] = field(default_factory=dict)


class Bridge:
    """Consume the gateways' MQTT topics and produce them to Kafka; see the module docstring."""

    def __init__(self, settings: Settings, registry: Registry, *, regions: Collection[str],
                 client_id: str | None = None, session_expiry_s: int = SESSION_EXPIRY_S,
                 keepalive: int = 30) -> None:
        self.settings = settings
        self.registry = registry
        self.regions = regions  # the directory's region ids (reports must name one)
        self.client_id = client_id or settings.mqtt_client_id
        self.session_expiry_s = session_expiry_s
        self.keepalive = keepalive
        self.max_inflight = min(settings.bridge_max_inflight, 65535)
        self.stats = BridgeStats()
        self.metrics = BridgeMetrics()
        self.gaps = SeqTracker(grace_s=settings.bridge_seq_gap_grace_s) \
            if settings.bridge_seq_gaps else None
        self.subscribed = asyncio.Event()
        self._producer: Any = None
        self._client: mqtt.Client | None = None
        self._generation = 0  # bumped per MQTT connection; acks of older ones are dropped
        self._inbox: collections.deque[tuple[int, int, int, str, bytes]] = collections.deque()
        self._wake = asyncio.Event()
        self._down = asyncio.Event()
        self._pending: collections.deque[_Entry] = collections.deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self._sock: Any = None
        self._paused = False
        self._stopping = False
        self._partition: dict[tuple[str, bytes], int] = {}
        self._partitioner = DefaultPartitioner()

    # ------------------------------------------------------------------ lifecycle
    async def run(self, stop: asyncio.Event, drain_timeout: float = 10.0) -> None:
        """Run until ``stop`` is set: Kafka first, then MQTT. On stop, read no more, let Kafka
        acknowledge what is in flight and ack it to the broker, then disconnect. A failure of
        the bridge itself (never of input) is raised, so the process exits and is restarted."""
        if not await self._start_producer(stop):
            return
        server = self.metrics.serve(self.settings.bridge_metrics_host,
                                    self.settings.bridge_metrics_port) \
            if self.settings.bridge_metrics_port else None
        self._client = self._make_client()
        pump = asyncio.create_task(self._pump(), name="bridge-pump")
        session = asyncio.create_task(self._mqtt_session(stop), name="bridge-mqtt")
        gaps = asyncio.create_task(self._watch_gaps(), name="bridge-seq-gaps")
        stopped: asyncio.Task[Any] = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({pump, session, gaps, stopped},
                               return_when=asyncio.FIRST_COMPLETED)
            for task in (pump, session, gaps):
                failure = task.exception() if task.done() else None
                if failure is not None:
                    raise failure
            session.cancel()
            self._stopping = True
            self._pause()
            await self._drain(drain_timeout)
        finally:
            for other in (pump, session, gaps, stopped, *self._tasks):
                other.cancel()
            self._client.disconnect()
            await self._producer.stop()
            if server is not None:
                server.shutdown()
            log.info("bridge stopped: %s", self.stats)

    async def _drain(self, timeout: float) -> None:
        """Wait (bounded) until every received message has been produced and acked."""
        deadline = asyncio.get_running_loop().time() + timeout
        while (self._pending or self._inbox) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # let the last PUBACKs reach the socket

    async def _start_producer(self, stop: asyncio.Event) -> bool:
        delay = 0.5
        while not stop.is_set():
            self._producer = make_producer(self.settings)
            try:
                await self._producer.start()
                log.info("kafka producer connected to %s", self.settings.kafka_bootstrap)
                return True
            except (KafkaError, OSError) as exc:
                log.warning("kafka at %s not reachable (%s); retrying in %.1fs",
                            self.settings.kafka_bootstrap, exc, delay)
                await self._producer.stop()
                await _wait(stop, delay)
                delay = min(delay * 2, 10.0)
        return False

    def _make_client(self) -> mqtt.Client:
        """A paho client driven by this asyncio loop (no network thread)."""
        s = self.settings
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                             protocol=mqtt.MQTTv5, manual_ack=True)
        if s.mqtt_username:
            client.username_pw_set(s.mqtt_username, s.mqtt_password or None)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write
        return client

    async def _mqtt_session(self, stop: asyncio.Event) -> None:
        """Connect, and reconnect with backoff whenever the connection drops."""
        assert self._client is not None
        s, delay, first = self.settings, 1.0, True
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.session_expiry_s
        props.ReceiveMaximum = self.max_inflight
        while not stop.is_set():
            self._down.clear()
            try:
                if first:
                    self._client.connect(s.mqtt_host, s.mqtt_port, keepalive=self.keepalive,
                                         clean_start=False, properties=props)
                else:
                    self._client.reconnect()
                first = False
            except (OSError, mqtt.WebsocketConnectionError) as exc:
                log.warning("mqtt broker %s:%s unreachable (%s); retrying in %.0fs",
                            s.mqtt_host, s.mqtt_port, exc, delay)
                await _wait(stop, delay)
                delay = min(delay * 2, 10.0)
                continue
            await self._down.wait()
            await _wait(stop, delay)
            delay = min(delay * 2, 10.0) if not self.subscribed.is_set() else 1.0

    # ------------------------------------------------------------------ paho callbacks
    def _on_socket_open(self, client: mqtt.Client, _u: Any, sock: Any) -> None:
        self._sock = sock
        self._paused = self._stopping
        if not self._stopping:
            asyncio.get_running_loop().add_reader(sock, self._read)
        task = asyncio.ensure_future(self._misc(client, sock))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_socket_close(self, _c: mqtt.Client, _u: Any, sock: Any) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(sock)
        loop.remove_writer(sock)
        self._sock = None

    def _on_register_write(self, client: mqtt.Client, _u: Any, sock: Any) -> None:
        asyncio.get_running_loop().add_writer(sock, client.loop_write)

    def _on_unregister_write(self, _c: mqtt.Client, _u: Any, sock: Any) -> None:
        asyncio.get_running_loop().remove_writer(sock)

    def _read(self) -> None:
        """Read the packets waiting on the socket (paho's loop_read reads one at a time)."""
        client = self._client
        assert client is not None
        for _ in range(256):
            before = self.stats.received + len(self._inbox)
            if client.loop_read() != mqtt.MQTT_ERR_SUCCESS or self._paused or \
                    self.stats.received + len(self._inbox) == before:
                break

    async def _misc(self, client: mqtt.Client, sock: Any) -> None:
        """Keepalive pings and timeout detection while this socket lives."""
        while self._sock is sock and client.loop_misc() == mqtt.MQTT_ERR_SUCCESS:
            await asyncio.sleep(1)

    def _on_connect(self, client: mqtt.Client, _userdata: Any, flags: Any,
                    reason_code: Any, _props: Any) -> None:
        if reason_code.is_failure:
            log.error("mqtt connect to %s:%s refused: %s", self.settings.mqtt_host,
                      self.settings.mqtt_port, reason_code)
            return
        self._generation += 1
        self.stats.connects += 1
        log.info("mqtt connected as %s (session present: %s)", self.client_id,
                 flags.session_present)
        opts = SubscribeOptions(qos=1)
        client.subscribe([(t, opts) for t in subscriptions(self.settings.mqtt_share_group)])

    def _on_disconnect(self, _c: Any, _u: Any, _flags: Any, reason_code: Any, _p: Any) -> None:
        log.warning("mqtt disconnected (%s)", reason_code)
        self._down.set()

    def _on_subscribe(self, _c: Any, _u: Any, _mid: int, codes: list[Any], _p: Any) -> None:
        failed = [str(c) for c in codes if c.is_failure]
        if failed:
            log.error("mqtt subscription refused: %s (check the broker ACL)", failed)
        elif not self.subscribed.is_set():
            self.subscribed.set()
            log.info("subscribed: %s", subscriptions(self.settings.mqtt_share_group))

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            topic = msg.topic
        except UnicodeDecodeError:  # brokers refuse such topics; dead-letter it if one slips by
            topic = msg._topic.decode("utf-8", errors="replace")  # noqa: SLF001
        self._inbox.append((self._generation, msg.mid, msg.qos, topic, bytes(msg.payload)))
        self._wake.set()
        if len(self._inbox) + len(self._pending) >= 2 * self.max_inflight:
            self._pause()  # only QoS 0 floods get here: Receive Maximum bounds QoS 1

    def _pause(self) -> None:
        if not self._paused and self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock)
            self._paused = True

    def _resume(self) -> None:
        if self._stopping:
            return
        if self._paused and self._sock is not None:
            asyncio.get_running_loop().add_reader(self._sock, self._read)
        self._paused = False

    # ------------------------------------------------------------------ routing and acks
    async def _pump(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._inbox:
                generation, mid, qos, topic, payload = self._inbox.popleft()
                await self._handle(generation, mid, qos, topic, payload)

    async def _handle(self, generation: int, mid: int, qos: int, topic: str,
                      payload: bytes) -> None:
        self.stats.received += 1
        self.metrics.messages.inc()
        records = route(topic, payload, self.registry, datetime.now(UTC), regions=self.regions)
        if self.gaps is not None:
            self._follow_seq(records)
        entry = _Entry(generation, mid, qos, remaining=len(records))
        self._pending.append(entry)
        for record in records:
            await self._send(entry, record, topic, attempt=0)

    def _follow_seq(self, records: list[Record]) -> None:
        """Note the seq of a registered gateway's readings message (valid or not)."""
        assert self.gaps is not None
        for record in records:
            if record.seq is not None and record.key in self.registry.gateways:
                self.gaps.see(record.key, record.seq, time.monotonic())
                return

    async def _watch_gaps(self) -> None:
        """Report the seq gaps whose grace period ran out (checked a few times per grace)."""
        if self.gaps is None:
            await asyncio.Event().wait()  # nothing to watch: wait to be cancelled
        assert self.gaps is not None
        every = min(5.0, self.gaps.grace_s / 3)
        while True:
            await asyncio.sleep(every)
            for gap in self.gaps.due(time.monotonic()):
                await self._report_gap(gap)
            self.metrics.open_holes.set(self.gaps.open_holes())

    async def _report_gap(self, gap: Gap) -> None:
        """A gap: warning, metrics and a ``SeqGap`` event for the console (best effort)."""
        self.stats.seq_gaps += 1
        self.metrics.seq_gaps.labels(gap.gateway_id).inc()
        self.metrics.missing.labels(gap.gateway_id).inc(gap.missing)
        log.warning("gateway %s: %d message(s) never received (seq %d … %d); the MQTT broker "
                    "may have dropped them: check its queue limits (sensors/README.md)",
                    gap.gateway_id, gap.missing, gap.first, gap.last)
        event = SeqGap(gateway_id=gap.gateway_id, first_missing=gap.first,
                       last_missing=gap.last, missing=gap.missing, at=datetime.now(UTC),
                       bridge=self.client_id)
        topic, key = self.settings.topic(topics.GATEWAY_STATUS), gap.gateway_id.encode()
        for attempt in range(5):
            try:
                partition = await self._partition_of(topic, key)
                await self._producer.send_and_wait(topic, event.to_bytes(), key=key,
                                                   partition=partition)
                return
            except KafkaError as exc:
                log.warning("seq gap event not sent (%r); retry %d", exc, attempt + 1)
                await asyncio.sleep(min(0.5 * 2 ** attempt, 5.0))
        log.error("seq gap event of %s dropped after 5 attempts (it is in the log and metrics)",
                  gap.gateway_id)

    async def _send(self, entry: _Entry, record: Record, source: str, attempt: int) -> None:
        topic = self.settings.topic(record.topic)
        key = record.key.encode() if record.key is not None else None
        try:
            partition = None if key is None else await self._partition_of(topic, key)
            fut = await self._producer.send(topic, record.value, key=key, partition=partition)
        except KafkaError as exc:
            self._failed(entry, record, source, attempt, exc)
            return
        fut.add_done_callback(lambda f: self._sent(entry, record, source, attempt, f))

    async def _partition_of(self, topic: str, key: bytes) -> int:
        """The default partitioner's choice (as every Kafka client makes it), cached per key."""
        found = self._partition.get((topic, key))
        if found is None:
            parts = sorted(await self._producer.partitions_for(topic))
            found = self._partitioner(key, parts, parts)
            self._partition[(topic, key)] = found
        return found

    def _sent(self, entry: _Entry, record: Record, source: str, attempt: int,
              fut: asyncio.Future[Any]) -> None:
        exc = fut.exception() if not fut.cancelled() else asyncio.CancelledError()
        if exc is not None:
            self._failed(entry, record, source, attempt, exc)
            return
        if record.topic == topics.DEADLETTER:
            self.stats.dead_lettered += 1
        else:
            self.stats.forwarded += 1
        self.metrics.record(record.topic)
        self.stats.by_topic[record.topic] = self.stats.by_topic.get(record.topic, 0) + 1
        entry.remaining -= 1
        if entry.remaining <= 0:
            entry.done = True
            self._ack_ready()

    def _failed(self, entry: _Entry, record: Record, source: str, attempt: int,
                exc: BaseException) -> None:
        """Retry a retriable failure forever (with backoff); dead-letter a permanent one."""
        if isinstance(exc, (asyncio.CancelledError, ProducerClosed)) or self._stopping:
            return  # shutting down: left unacked, the broker redelivers it to the next bridge
        retriable = isinstance(exc, KafkaError) and exc.retriable or \
            exc.__class__.__name__ in {"KafkaTimeoutError", "KafkaConnectionError"}
        if not retriable and record.topic != topics.DEADLETTER:
            log.error("kafka rejected a record for %s permanently: %r", record.topic, exc)
            record = dead_letter(f"kafka rejected it: {exc!r}", source, record.value, record.key)
        elif not retriable:
            log.error("kafka rejected a dead letter permanently, dropping it: %r", exc)
            entry.remaining -= 1
            entry.done = entry.remaining <= 0
            self._ack_ready()
            return
        self.stats.kafka_retries += 1
        self._partition.clear()  # the topic may have been re-created: ask the metadata again
        delay = min(0.2 * 2 ** attempt, 5.0)
        log.warning("kafka send failed (%r); retry %d in %.1fs", exc, attempt + 1, delay)
        task = asyncio.ensure_future(self._resend(entry, record, source, attempt + 1, delay))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resend(self, entry: _Entry, record: Record, source: str, attempt: int,
                      delay: float) -> None:
        await asyncio.sleep(delay)
        await self._send(entry, record, source, attempt)

    def _ack_ready(self) -> None:
        """Ack, in receive order, every message at the head whose records Kafka acknowledged."""
        pending, client = self._pending, self._client
        while pending and pending[0].done:
            entry = pending.popleft()
            self.stats.acked += 1
            if entry.qos and entry.generation == self._generation and client is not None \
                    and client.is_connected():
                client.ack(entry.mid, entry.qos)
        if self._paused and len(self._inbox) + len(pending) < self.max_inflight:
            self._resume()


async def _wait(event: asyncio.Event, timeout: float) -> None:
    """Wait for ``event`` at most ``timeout`` seconds."""
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        pass
