"""Table state that changes with nearly every input, written to its changelog once per commit.

A gateway message that only adds readings (no condition change, no outage ended) changes the
gateway's state but sends nothing downstream except the readings themselves; encoding and
sending that state for every such message was the largest cost of the worker. For those,
:class:`PendingChangelog` keeps the key, and :class:`StateWritingProducer` writes each pending
key's latest value whenever the app's producer is flushed, which Faust does before it commits
any input offset and when partitions are revoked. A message that sends a condition change or a
maintenance alert still writes its state at once, before those outputs (``agents.save``), so a
restarted worker never sends them again.

Order at every flush, so that a crash at any point loses nothing (at-least-once):

1. new changes wait (:meth:`PendingChangelog.changing`) and the ones under way finish queuing
   their outputs;
2. those outputs are flushed: every output of a change is delivered before the state that
   records the change (a crash here replays the input: readings forwarded again, which the
   sinks take idempotently);
3. the pending state is encoded (at once, nothing changes meanwhile) and sent, then flushed,
   and, on the tansu broker only (``repeat_tail``), the last record of each changelog partition
   is sent once more, alone in its batch (tansu reports a partition's end as the first offset
   of its last batch + 1: without this, a recovery would stop before the tail of a batch;
   Apache Kafka and Redpanda report the true end and do not need it);
4. only then does Faust commit the input offsets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from faust.transport.drivers import aiokafka as kafka_driver

from streams.codec import dumps


class PendingChangelog:
    """Keys of Faust tables set since the last :meth:`write` (with their partition)."""

    def __init__(self, tables: dict[str, Any], repeat_tail: bool = False) -> None:
        self._tables = tables
        self.repeat_tail = repeat_tail
        self._pending: dict[tuple[str, str], int] = {}
        self._busy: set[asyncio.Task[Any] | None] = set()
        self._idle: asyncio.Event | None = None
        self._open: asyncio.Event | None = None

    def set(self, table: str, key: str, value: Any, partition: int) -> None:
        """``tables[table][key] = value`` now; its changelog record at the next write."""
        self._tables[table].data[key] = value
        self._pending[(table, key)] = partition

    def __len__(self) -> int:
        return len(self._pending)

    def _events(self) -> tuple[asyncio.Event, asyncio.Event]:
        if self._idle is None or self._open is None:
            self._idle, self._open = asyncio.Event(), asyncio.Event()
            self._idle.set()
            self._open.set()
        return self._idle, self._open

    def changing(self) -> _Changing:
        """``async with``: hold while changing table state and queuing its outputs."""
        return _Changing(self)

    async def write(self, producer: Any, flush: Callable[[], Awaitable[None]]) -> int:
        """Flush the outputs of the changes so far, then send one changelog record per
        pending key (its current value) and, with ``repeat_tail``, repeat the last of each
        partition; returns how many keys. See the module docstring."""
        idle, gate = self._events()
        gate.clear()
        try:
            if asyncio.current_task() not in self._busy:  # (never wait for ourselves)
                while self._busy:
                    await idle.wait()
            await flush()
            pending, self._pending = self._pending, {}
            records = []
            for (name, key), partition in pending.items():
                table = self._tables[name]
                records.append((table.changelog_topic.get_topic_name(), dumps(key),
                                table.value_serializer.dumps(table.data[key]), partition))
            for topic, key_bytes, value, partition in records:
                await producer.send(topic, key_bytes, value, partition, None, None)
            if records and self.repeat_tail:
                await flush()
                last = {(r[0], r[3]): r for r in records}
                for topic, key_bytes, value, partition in last.values():
                    await producer.send(topic, key_bytes, value, partition, None, None)
        finally:
            gate.set()
        return len(records)


class _Changing:
    """The context of :meth:`PendingChangelog.changing` (a class: entered per message)."""

    __slots__ = ("_owner", "_task")

    def __init__(self, owner: PendingChangelog) -> None:
        self._owner = owner
        self._task: asyncio.Task[Any] | None = None

    async def __aenter__(self) -> None:
        owner = self._owner
        idle, gate = owner._events()
        while not gate.is_set():
            await gate.wait()
        self._task = asyncio.current_task()
        owner._busy.add(self._task)
        idle.clear()

    async def __aexit__(self, *exc: object) -> None:
        owner = self._owner
        owner._busy.discard(self._task)
        if not owner._busy and owner._idle is not None:
            owner._idle.set()


class StateWritingProducer(kafka_driver.Producer):
    """The Kafka producer; a flush also writes the app's pending table state (see the module
    docstring), so it is in the changelog before Faust commits the offsets. It is idempotent
    when the app says so (``app.idempotent_producer``: a real Kafka; tansu lacks it)."""

    def _settings_extra(self) -> Any:
        extra = dict(super()._settings_extra())
        if getattr(self.app, "idempotent_producer", False):
            extra.update(enable_idempotence=True, acks="all")
        return extra

    async def flush(self) -> None:
        changelog = getattr(self.app, "pending_changelog", None)
        if changelog is not None and len(changelog):
            await changelog.write(self, super().flush)
        await super().flush()


class Transport(kafka_driver.Transport):
    """The aiokafka transport with :class:`StateWritingProducer`."""

    Producer = StateWritingProducer
