"""Commit only what is done: per partition, the offset after the longest finished prefix."""

from __future__ import annotations

from collections.abc import Hashable


class OffsetTracker:
    """Records started / finished offsets per partition; :meth:`committable` gives, for each
    partition that advanced, the next offset to commit (everything before it is finished)."""

    def __init__(self) -> None:
        self._pending: dict[Hashable, set[int]] = {}
        self._highest: dict[Hashable, int] = {}
        self._committed: dict[Hashable, int] = {}

    def started(self, tp: Hashable, offset: int) -> None:
        self._pending.setdefault(tp, set()).add(offset)
        self._highest[tp] = max(offset, self._highest.get(tp, -1))

    def done(self, tp: Hashable, offset: int) -> None:
        self._pending.get(tp, set()).discard(offset)

    def in_flight(self) -> int:
        return sum(len(p) for p in self._pending.values())

    def committable(self) -> dict[Hashable, int]:
        """Partitions whose commit point moved since the last call → offset to commit."""
        out = {}
        for tp, highest in self._highest.items():
            pending = self._pending.get(tp)
            point = min(pending) if pending else highest + 1
            if point > self._committed.get(tp, -1):
                out[tp] = point
                self._committed[tp] = point
        return out
