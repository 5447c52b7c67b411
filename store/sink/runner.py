"""The sink process: consume the topics, write batches, commit offsets after the rows commit.

Loop: poll up to ``max_records`` → decode (bad records become dead-letter rows) → write the
batch in one transaction (in a worker thread, so the consumer's heartbeats go on) → commit the
Kafka offsets of exactly that batch. While the database is unavailable the partitions are
paused and the same batch is retried with exponential backoff; nothing is committed, so a crash
at any point replays records that the tables' dedup keys absorb. When the database refuses the
data of a batch, the records are written one by one and the refused ones are dead-lettered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import OffsetAndMetadata

from anlan.errors import PermanentError, RetryableError
from anlan.kafka import make_consumer, make_producer
from anlan.settings import Settings
from anlan.stack.readiness import mark_ready
from anlan.topics import DEADLETTER as DEADLETTER_TOPIC
from store.sink.decode import SINK_TOPICS, Batch, build_batch, dead_letter_event, reject_row
from store.sink.tables import DEADLETTERS
from store.sink.writer import Writer

log = logging.getLogger(__name__)
Record = tuple[str, bytes | None, bytes | None]


@dataclass
class SinkOptions:
    """Tuning of the sink (defaults suit production; tests shorten the backoff)."""

    group_id: str = "anlan-sink"
    max_records: int = 5000
    poll_timeout_ms: int = 200
    backoff_initial_s: float = 0.2
    backoff_max_s: float = 10.0
    retention_days: float = 365.0
    retention_interval_s: float = 3600.0
    stats_interval_s: float = 60.0  # how often to log the counters
    topics: tuple[str, ...] = SINK_TOPICS
    rebalance_timeout_s: float | None = None  # None: settings.broker_rebalance_timeout
    consumer_overrides: dict[str, Any] = field(default_factory=dict)  # aiokafka options


@dataclass
class SinkStats:
    """Counters, for logs, tests and the benchmark."""

    batches: int = 0
    records: int = 0
    rows: int = 0
    rejected: int = 0
    db_retries: int = 0
    commit_failures: int = 0
    started: float = field(default_factory=time.monotonic)


class Sink:
    """Consumes ``options.topics`` and writes them to the database at ``url``."""

    def __init__(self, settings: Settings, options: SinkOptions | None = None,
                 url: str | None = None) -> None:
        self.settings = settings
        self.options = options or SinkOptions()
        self.writer = Writer(url or settings.database_url)
        self.stats = SinkStats()
        self._prefix = settings.topic_prefix
        self._producer: Any = None
        self._last_retention = float("-inf")  # first retention pass right after start
        self._last_stats = time.monotonic()

    def contract_topic(self, full: str) -> str:
        return full[len(self._prefix):] if self._prefix and full.startswith(self._prefix) else full

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; marks the part ready once consuming."""
        rebalance = self.options.rebalance_timeout_s or self.settings.broker_rebalance_timeout
        consumer = make_consumer(self.settings, *self.options.topics,
                                 group_id=self.options.group_id,
                                 max_poll_records=self.options.max_records,
                                 rebalance_timeout_ms=int(rebalance * 1000),
                                 **self.options.consumer_overrides)
        self._producer = make_producer(self.settings)
        await consumer.start()
        try:
            await self._producer.start()
            await self._retry(stop, consumer, self.writer.connect)
            mark_ready("sink")
            log.info("sink consuming %d topics", len(self.options.topics))
            while not stop.is_set():
                polled = await consumer.getmany(timeout_ms=self.options.poll_timeout_ms,
                                                max_records=self.options.max_records)
                if polled:
                    await self._handle(stop, consumer, polled)
                await self._maybe_retention(stop, consumer)
                self._maybe_log_stats()
        finally:
            await consumer.stop()
            await self._producer.stop()
            self.writer.close()

    def _maybe_log_stats(self) -> None:
        now = time.monotonic()
        if now - self._last_stats >= self.options.stats_interval_s:
            self._last_stats = now
            st = self.stats
            log.info("sink: %d records, %d rows, %d rejected, %d database retries, "
                     "%d commit failures", st.records, st.rows, st.rejected, st.db_retries,
                     st.commit_failures)

    async def _handle(self, stop: asyncio.Event, consumer: Any,
                      polled: dict[TopicPartition, list[Any]]) -> None:
        records: list[Record] = [(self.contract_topic(tp.topic), m.key, m.value)
                                 for tp, msgs in polled.items() for m in msgs]
        batch = build_batch(records)
        written = await self._retry(stop, consumer, lambda: self._write(batch, records))
        if written is None:  # stopped while the database was away: nothing committed
            return
        await self._publish_rejects(batch)
        offsets = {tp: OffsetAndMetadata(msgs[-1].offset + 1, "") for tp, msgs in polled.items()}
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            # A rebalance took the partitions: the rows are stored, the next owner replays
            # them and the dedup keys absorb the replay.
            self.stats.commit_failures += 1
            log.warning("offset commit failed (%s); records will be replayed", exc)
        self.stats.batches += 1
        self.stats.records += batch.records
        self.stats.rows += batch.row_count
        self.stats.rejected += batch.rejected

    async def _publish_rejects(self, batch: Batch) -> None:
        """Publish this sink's rejections to ``anlan.deadletter`` too (their rows are stored
        already, under the key the sink will compute when it reads them back: no duplicate)."""
        rows = batch.rejects + batch.refused
        if not rows or self._producer is None:
            return
        topic = self.settings.topic(DEADLETTER_TOPIC)
        try:
            for row in rows:
                await self._producer.send_and_wait(topic, dead_letter_event(row).to_bytes())
        except KafkaError as exc:  # the rows are in the table; the topic copy is best effort
            log.warning("could not publish %d dead letters: %s", len(rows), exc)

    def _write(self, batch: Batch, records: list[Record]) -> int:
        """Write the batch; when the data is refused, find and dead-letter the bad records."""
        try:
            return self.writer.write(batch)
        except PermanentError as exc:
            log.warning("batch refused (%s); isolating the bad records", exc)
        refused: list[tuple[Any, ...]] = []
        total = self._write_bisecting(records, refused)
        batch.refused = refused  # assigned, not appended: this may run again after a retry
        return total

    def _write_bisecting(self, records: list[Record], refused: list[tuple[Any, ...]]) -> int:
        """Write halves recursively (log n transactions per bad record); dead-letter a single
        record the database refuses, with the database's reason."""
        try:
            return self.writer.write(build_batch(records))
        except PermanentError as exc:
            if len(records) > 1:
                mid = len(records) // 2
                return (self._write_bisecting(records[:mid], refused)
                        + self._write_bisecting(records[mid:], refused))
            topic, key, value = records[0]
            row = reject_row(topic, key, value, str(exc))
            bad = Batch()
            bad.add(DEADLETTERS, [row])
            refused.append(row)
            return self.writer.write(bad)

    async def _retry(self, stop: asyncio.Event, consumer: Any, fn: Any) -> Any:
        """Run blocking ``fn`` in a thread until it succeeds; pause consumption meanwhile."""
        delay = self.options.backoff_initial_s
        paused = False
        try:
            while True:
                try:
                    return await asyncio.to_thread(fn)
                except RetryableError as exc:
                    self.stats.db_retries += 1
                    if not paused:
                        consumer.pause(*consumer.assignment())
                        paused = True
                        log.warning("%s; pausing consumption, retrying", exc)
                    try:
                        await asyncio.wait_for(stop.wait(), timeout=delay)
                        return None
                    except TimeoutError:
                        pass
                    delay = min(delay * 2, self.options.backoff_max_s)
        finally:
            if paused:
                consumer.resume(*consumer.assignment())
                log.info("database back; consumption resumed")

    async def _maybe_retention(self, stop: asyncio.Event, consumer: Any) -> None:
        days = self.options.retention_days
        now = time.monotonic()
        if days <= 0 or now - self._last_retention < self.options.retention_interval_s:
            return
        self._last_retention = now
        from store.retention import apply_with

        try:
            deleted = await asyncio.to_thread(apply_with, self.writer, days)
        except RetryableError as exc:
            log.warning("retention skipped: %s", exc)
            return
        if deleted:
            log.info("retention: deleted %d readings older than %s days", deleted, days)


async def run_sink(settings: Settings, options: SinkOptions | None = None,
                   stop: asyncio.Event | None = None) -> SinkStats:
    """Run a :class:`Sink` until ``stop`` is set (or forever); return its counters."""
    sink = Sink(settings, options)
    await sink.run(stop or asyncio.Event())
    return sink.stats


def topics_of(settings: Settings, names: Iterable[str] = SINK_TOPICS) -> list[str]:
    """Full topic names the sink subscribes to."""
    return [settings.topic(n) for n in names]
