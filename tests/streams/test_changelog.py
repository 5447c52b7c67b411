"""PendingChangelog: deferred table state, written after the outputs of its changes."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from streams.changelog import PendingChangelog


def _table(name: str) -> Any:
    return SimpleNamespace(data={}, changelog_topic=SimpleNamespace(get_topic_name=lambda: name),
                           value_serializer=SimpleNamespace(dumps=lambda v: repr(v).encode()))


class Producer:
    def __init__(self) -> None:
        self.log: list[tuple[Any, ...]] = []

    async def send(self, topic: str, key: bytes, value: bytes, partition: int, *_: Any) -> None:
        await asyncio.sleep(0)
        self.log.append(("send", topic, key, value, partition))

    async def flush(self) -> None:
        await asyncio.sleep(0)
        self.log.append(("flush",))


def _write_three_changes(repeat_tail: bool) -> list[tuple[Any, ...]]:
    async def main() -> list[tuple[Any, ...]]:
        tables = {"gateways": _table("gw-changelog")}
        pending, producer = PendingChangelog(tables, repeat_tail=repeat_tail), Producer()
        for n in range(3):
            pending.set("gateways", "gw-1", {"n": n}, 2)
        pending.set("gateways", "gw-2", {"n": 9}, 0)
        assert tables["gateways"].data["gw-1"] == {"n": 2} and len(pending) == 2
        assert await pending.write(producer, producer.flush) == 2
        assert len(pending) == 0
        return producer.log
    return asyncio.run(main())


GW1 = ("send", "gw-changelog", b'"gw-1"', b"{'n': 2}", 2)
GW2 = ("send", "gw-changelog", b'"gw-2"', b"{'n': 9}", 0)


def test_each_key_is_written_with_its_latest_value_after_the_outputs() -> None:
    # outputs first; then the state (a real Kafka reports the true end of a partition)
    assert _write_three_changes(repeat_tail=False) == [("flush",), GW1, GW2]


def test_on_tansu_each_partitions_last_record_is_repeated_alone_in_its_batch() -> None:
    # tansu's end offset is the first offset of the last batch + 1: the tail is sent again
    assert _write_three_changes(repeat_tail=True) == [("flush",), GW1, GW2, ("flush",), GW1, GW2]


def test_a_write_waits_for_the_change_under_way_and_holds_new_ones() -> None:
    async def main() -> list[str]:
        pending, producer = PendingChangelog({"t": _table("c")}), Producer()
        order: list[str] = []

        async def change(name: str, delay: int) -> None:
            async with pending.changing():
                order.append(f"{name} start")
                pending.set("t", name, name, 0)
                for _ in range(delay):
                    await asyncio.sleep(0)  # e.g. sending its outputs
                order.append(f"{name} end")

        async def write() -> None:
            await pending.write(producer, producer.flush)
            order.append("written")

        first = asyncio.create_task(change("a", 5))
        await asyncio.sleep(0)
        writing = asyncio.create_task(write())
        await asyncio.sleep(0)
        second = asyncio.create_task(change("b", 1))
        await asyncio.gather(first, writing, second)
        return order
    assert asyncio.run(main()) == ["a start", "a end", "written", "b start", "b end"]
