"""Per-sensor event-time state: fixed-width buckets for sums and maxima, recent samples for
rates, held durations and the latest value, evicted by event time.

A bucket ``k`` holds the readings with ``(k−1)·b < t ≤ k·b`` (epoch seconds), so a window
``(end − s, end]`` whose ends fall on bucket edges is summed exactly; otherwise the window is
widened to whole buckets (at most one bucket more). Readings are amounts per interval for sums
(rain) and instantaneous values for the rest (levels, wind, temperature).

The state is plain data: ``to_dict()`` is JSON-able and ``from_dict()`` restores it, so a Faust
table can keep it. Size it with :meth:`SensorState.for_plans` so that only what the longest
window of the loaded plans needs is kept.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from contingency_plans.conditions import ConsecutiveDays, Held, Rate, WindowMax, WindowSum

if TYPE_CHECKING:
    from contingency_plans.plan import Plan

_BUCKET_CHOICES = (3600, 1800, 900, 600, 300, 120, 60)
MAX_BUCKET_S = 300
"""Widest bucket for sums."""
Time = datetime | float


def _secs(t: Time) -> float:
    return t if isinstance(t, float | int) else t.timestamp()


class SensorState:
    """Event-time state of one sensor (see the module docstring)."""

    __slots__ = (
        "_k0",
        "_last",
        "_maxs",
        "_n",
        "_neg",
        "_sums",
        "_ts",
        "_vs",
        "bucket_s",
        "horizon_s",
        "sample_s",
    )

    def __init__(self, bucket_s: int = 300, horizon_s: float = 86400.0,
                 sample_s: float = 3600.0) -> None:
        self.bucket_s = int(bucket_s)
        self.horizon_s = float(horizon_s)
        self.sample_s = float(sample_s)
        self._n = int(self.horizon_s // self.bucket_s) + 2  # buckets kept: one more each end
        self._k0 = 0  # bucket index of _sums[0]
        self._sums: list[float] = []  # dense, one per bucket from _k0
        self._maxs: list[float | None] = []
        self._ts: list[float] = []  # sample times, ascending
        self._vs: list[float] = []
        self._last: tuple[float, float] | None = None  # newest (t, value)
        self._neg = False  # a negative amount was added (window sums may then fall and rise)

    @classmethod
    def for_plans(cls, plans: Iterable[Plan], kind: str) -> SensorState:
        """A state sized for every condition on ``kind`` in ``plans`` (overrides included)."""
        from contingency_plans.plan import all_leaves
        windows: list[float] = []
        horizon, samples, sums = 0.0, 0.0, False
        for plan in plans:
            for leaf in all_leaves(plan):
                if leaf.kind != kind:
                    continue
                if isinstance(leaf, WindowSum | WindowMax):
                    windows.append(leaf.window)
                    sums = sums or isinstance(leaf, WindowSum)
                    horizon = max(horizon, leaf.window)
                elif isinstance(leaf, ConsecutiveDays):
                    horizon = max(horizon, (leaf.days + 1) * 86400.0)
                elif isinstance(leaf, Rate):
                    samples = max(samples, leaf.window)
                elif isinstance(leaf, Held):
                    samples = max(samples, leaf.duration)
        return cls(_bucket_for(windows, sums), horizon, samples)

    # ------------------------------------------------------------------ updates

    def add(self, ts: Time, value: float) -> None:
        """Add one reading (any order; readings older than the horizon are dropped)."""
        t = ts if type(ts) is float or isinstance(ts, float | int) else ts.timestamp()
        if value < 0:
            self._neg = True
        k = -int(-t // self.bucket_s)
        sums, maxs = self._sums, self._maxs
        i = k - self._k0
        if not (sums and 0 <= i < len(sums)):  # not a bucket already kept
            if sums and i == len(sums):  # the next one: the usual case
                sums.append(0.0)
                maxs.append(None)
                if i >= self._n:  # keep the horizon: drop the oldest
                    del sums[0]
                    del maxs[0]
                    self._k0 += 1
                    i -= 1
            else:
                found = self._room(k)
                if found is None:
                    return  # older than the horizon
                i = found
        sums[i] += value
        m = maxs[i]
        if m is None or value > m:
            maxs[i] = value
        last = self._last
        if last is None or t >= last[0]:
            self._last = (t, value)
        if self.sample_s > 0:
            self._add_sample(t, value)

    def _room(self, k: int) -> int | None:
        """Make bucket ``k`` part of the dense lists; its index (None: older than kept)."""
        sums, maxs = self._sums, self._maxs
        if not sums:
            self._k0 = k
            sums.append(0.0)
            maxs.append(None)
        i = k - self._k0
        if i >= len(sums) + self._n:  # far ahead: nothing kept is in any window
            self._k0, i = k, 0
            sums[:] = [0.0]
            maxs[:] = [None]
        if i >= len(sums):
            grow = i - len(sums) + 1
            sums.extend([0.0] * grow)
            maxs.extend([None] * grow)
            over = len(sums) - self._n
            if over > 0:
                del sums[:over]
                del maxs[:over]
                self._k0 += over
                i -= over
        elif i < 0:
            if len(sums) - i > self._n:
                return None
            sums[:0] = [0.0] * -i
            maxs[:0] = [None] * -i
            self._k0 = k
            i = 0
        return i

    def _add_sample(self, t: float, value: float) -> None:
        ts = self._ts
        if ts and t == ts[-1]:
            self._vs[-1] = value  # the same instant again: the newer value holds
            return
        if not ts or t > ts[-1]:
            ts.append(t)
            self._vs.append(value)
        else:
            i = bisect_right(ts, t)
            ts.insert(i, t)
            self._vs.insert(i, value)
        # keep one sample at or before the oldest time a condition may ask about
        cut = bisect_right(ts, ts[-1] - self.sample_s) - 1
        if cut > 0:
            del ts[:cut]
            del self._vs[:cut]

    # ------------------------------------------------------------------ queries

    def _span(self, end: float, seconds: float) -> tuple[int, int]:
        """Slice of the dense lists for the window ``(end − seconds, end]``."""
        b = self.bucket_s
        lo = math.floor((end - seconds) / b) + 1 - self._k0
        hi = -int(-end // b) - self._k0 + 1
        return max(lo, 0), max(hi, 0)

    def window_sum(self, end: Time, seconds: float) -> float:
        """Sum of the readings in ``(end − seconds, end]`` (whole buckets)."""
        lo, hi = self._span(end if type(end) is float else _secs(end), seconds)
        return sum(self._sums[lo:hi])

    def window_max(self, end: Time, seconds: float) -> float | None:
        """Highest reading in ``(end − seconds, end]`` (whole buckets); None without data."""
        lo, hi = self._span(end if type(end) is float else _secs(end), seconds)
        return max((m for m in self._maxs[lo:hi] if m is not None), default=None)

    @property
    def nonnegative(self) -> bool:
        """No negative amount is kept: a window sum then grows by at most what is added."""
        return not self._neg

    def latest(self) -> tuple[float, float] | None:
        """The newest reading as ``(epoch seconds, value)``, or None."""
        return self._last

    def latest_at(self, t: float) -> tuple[float, float] | None:
        """The newest reading at or before ``t`` as ``(time, value)``: exact for the newest
        reading and with samples kept; otherwise the end of the last bucket with a reading
        (at most ``t``) and its largest value."""
        last = self._last
        if last is None or last[0] <= t:
            return last
        if self._ts and self._ts[0] <= t:
            return self.value_at(t)
        b = self.bucket_s
        i = min(-int(-t // b) - self._k0, len(self._maxs) - 1)
        while i >= 0:
            m = self._maxs[i]
            if m is not None:
                return (min((i + self._k0) * b, t), m)
            i -= 1
        return None

    def value_at(self, t: Time) -> tuple[float, float] | None:
        """The last sample at or before ``t`` as ``(time, value)`` (sample and hold)."""
        i = bisect_right(self._ts, _secs(t)) - 1
        return (self._ts[i], self._vs[i]) if i >= 0 else None

    def rate_per_hour(self, end: Time, seconds: float) -> float | None:
        """Rise per hour between the values held at ``end − seconds`` and at ``end``; None
        when there is no sample that old or the two are the same sample."""
        e = _secs(end)
        a, z = self.value_at(e - seconds), self.value_at(e)
        if a is None or z is None or z[0] <= a[0]:
            return None
        return (z[1] - a[1]) * 3600.0 / (z[0] - a[0])

    def held_at_least(self, threshold: float, end: Time, seconds: float) -> bool:
        """True when every value held during ``[end − seconds, end]`` is ≥ ``threshold``."""
        e = _secs(end)
        ts, vs = self._ts, self._vs
        i = bisect_right(ts, e) - 1
        start = e - seconds
        while i >= 0:
            if vs[i] < threshold:
                return False
            if ts[i] <= start:
                return True
            i -= 1
        return False

    def daily_max(self, end: Time, days: int, utc_offset_s: float) -> list[float | None]:
        """Maximum of each of the last ``days`` local days up to ``end`` (oldest first); a
        bucket counts for the day its start falls in."""
        e = _secs(end)
        b = self.bucket_s
        today = math.floor((e + utc_offset_s) / 86400)
        top = math.ceil(e / b) - self._k0 + 1  # buckets starting before ``end``
        out: list[float | None] = []
        for day in range(today - days + 1, today + 1):
            start = day * 86400 - utc_offset_s  # UTC epoch of local midnight
            lo = max(math.ceil(start / b) + 1 - self._k0, 0)
            hi = min(math.ceil((start + 86400) / b) + 1 - self._k0, top)
            out.append(max((m for m in self._maxs[lo:hi] if m is not None), default=None)
                       if hi > lo else None)
        return out

    # ------------------------------------------------------------------ (de)serialisation

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state (compact: dense bucket lists from bucket index ``k0``)."""
        return {"b": self.bucket_s, "h": self.horizon_s, "sh": self.sample_s, "k0": self._k0,
                "sum": list(self._sums), "max": list(self._maxs),
                "ts": list(self._ts), "vs": list(self._vs),
                "last": list(self._last) if self._last else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SensorState:
        state = cls(int(data["b"]), float(data["h"]), float(data["sh"]))
        state._k0 = int(data["k0"])
        state._sums = [float(x) for x in data["sum"]]
        state._neg = any(x < 0 for x in state._sums)
        state._maxs = [None if x is None else float(x) for x in data["max"]]
        state._ts = [float(t) for t in data["ts"]]
        state._vs = [float(v) for v in data["vs"]]
        last = data.get("last")
        state._last = (float(last[0]), float(last[1])) if last else None
        return state

    def __repr__(self) -> str:
        return (f"SensorState(bucket_s={self.bucket_s}, buckets={len(self._sums)}, "
                f"samples={len(self._ts)}, latest={self._last})")


def _bucket_for(windows: list[float], sums: bool) -> int:
    """The widest bucket that divides every window and is at most 1/12 of the shortest; for
    sums at most 5 minutes (the usual reporting interval, so that windows ending at a reading
    are exact); 1 h when only daily maxima are needed."""
    if not windows:
        return 3600
    shortest = min(windows)
    for b in _BUCKET_CHOICES:
        if (b <= MAX_BUCKET_S or not sums) and b * 12 <= shortest and \
                all(w % b == 0 for w in windows):
            return b
    return 60
