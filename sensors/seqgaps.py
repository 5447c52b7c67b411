"""Gaps in the gateways' ``seq``: messages the bridge never received (pure, no I/O).

A gateway numbers its messages (``seq``). When a message arrives whose seq jumps ahead of the
previous one, the seqs skipped are a *hole*; a hole that a later message fills is no loss (a
backlog sent newest first, a re-send, two bridges' interleaving). A hole still open ``grace_s``
after it appeared is a *gap*: messages the broker acknowledged to the gateway but never handed
to the bridge — most often a queue limit (``max_queued_messages``) — or that the gateway
skipped. Each gap is reported once.

What is not a gap: a duplicate or a replay (a seq already seen or below the previous one), a
gateway whose counter restarted (a step back by more than ``restart_below``: the seqs seen
before are forgotten, so the new count is checked from its start), and a jump ahead by more than
``max_jump`` (a new counter rather than millions of lost messages). The first message of a
gateway after the bridge starts sets where it counts from.

Memory per gateway is bounded: at most ``max_intervals`` runs of seen seqs (the lowest are
forgotten) and ``max_holes`` open holes (beyond that the oldest is reported at once).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Gap:
    """Seqs ``first`` … ``last`` of a gateway were never received."""

    gateway_id: str
    first: int
    last: int

    @property
    def missing(self) -> int:
        return self.last - self.first + 1


@dataclass(slots=True)
class _Hole:
    first: int
    last: int
    since: float  # when it was opened (seconds, the caller's clock)


@dataclass(slots=True)
class _Gateway:
    last: int  # seq of the previous message
    seen: list[list[int]] = field(default_factory=list)  # sorted disjoint [lo, hi] runs
    holes: list[_Hole] = field(default_factory=list)  # sorted by first


class SeqTracker:
    """Follow each gateway's seq; :meth:`due` returns the gaps to report. See the module doc."""

    def __init__(self, *, grace_s: float = 30.0, restart_below: int = 10_000,
                 max_jump: int = 1_000_000, max_intervals: int = 64,
                 max_holes: int = 1000) -> None:
        self.grace_s = grace_s
        self.restart_below = restart_below
        self.max_jump = max_jump
        self.max_intervals = max_intervals
        self.max_holes = max_holes
        self._gateways: dict[str, _Gateway] = {}
        self._overflow: list[Gap] = []

    def see(self, gateway_id: str, seq: int, now: float) -> None:
        """A message of ``gateway_id`` with ``seq`` arrived at ``now``."""
        gw = self._gateways.get(gateway_id)
        if gw is None:
            self._gateways[gateway_id] = _Gateway(last=seq, seen=[[seq, seq]])
            return
        _fill(gw.holes, seq)
        if seq < gw.last - self.restart_below:  # the gateway's counter started again
            gw.seen.clear()
        elif gw.last + 1 < seq <= gw.last + self.max_jump:
            known = sorted([*gw.seen, *([h.first, h.last] for h in gw.holes)])
            for lo, hi in _minus(gw.last + 1, seq - 1, known):
                self._open(gateway_id, gw, lo, hi, now)
        _add(gw.seen, seq, self.max_intervals)
        gw.last = seq

    def _open(self, gateway_id: str, gw: _Gateway, lo: int, hi: int, now: float) -> None:
        bisect.insort(gw.holes, _Hole(lo, hi, now), key=lambda h: h.first)
        if len(gw.holes) > self.max_holes:
            oldest = min(gw.holes, key=lambda h: h.since)
            gw.holes.remove(oldest)
            self._overflow.append(Gap(gateway_id, oldest.first, oldest.last))

    def due(self, now: float) -> list[Gap]:
        """The holes open for ``grace_s`` or longer, as gaps (each returned once)."""
        gaps, self._overflow = self._overflow, []
        limit = now - self.grace_s
        for gateway_id, gw in self._gateways.items():
            if not any(h.since <= limit for h in gw.holes):
                continue
            keep = []
            for hole in gw.holes:
                if hole.since <= limit:
                    gaps.append(Gap(gateway_id, hole.first, hole.last))
                else:
                    keep.append(hole)
            gw.holes = keep
        return gaps

    def open_holes(self) -> int:
        """Seqs currently missing but still within their grace period."""
        return sum(h.last - h.first + 1 for gw in self._gateways.values() for h in gw.holes)


def _fill(holes: list[_Hole], seq: int) -> None:
    """Remove ``seq`` from the hole containing it (splitting the hole when inside)."""
    i = bisect.bisect_right(holes, seq, key=lambda h: h.first) - 1
    if i < 0 or holes[i].last < seq:
        return
    hole = holes[i]
    if hole.first == hole.last:
        del holes[i]
    elif seq == hole.first:
        hole.first += 1
    elif seq == hole.last:
        hole.last -= 1
    else:
        holes.insert(i + 1, _Hole(seq + 1, hole.last, hole.since))
        hole.last = seq - 1


def _minus(lo: int, hi: int, runs: list[list[int]]) -> list[tuple[int, int]]:
    """The parts of ``lo`` … ``hi`` not covered by ``runs`` (sorted by their start)."""
    out = []
    for run_lo, run_hi in runs:
        if run_hi < lo:
            continue
        if run_lo > hi:
            break
        if run_lo > lo:
            out.append((lo, run_lo - 1))
        lo = max(lo, run_hi + 1)
        if lo > hi:
            return out
    out.append((lo, hi))
    return out


def _add(runs: list[list[int]], seq: int, limit: int) -> None:
    """Add ``seq`` to the sorted disjoint ``runs``, merging neighbours; keep at most ``limit``
    runs (the lowest are dropped)."""
    i = bisect.bisect_right(runs, seq, key=lambda r: r[0]) - 1
    if i >= 0 and runs[i][0] <= seq <= runs[i][1]:
        return
    if i >= 0 and runs[i][1] == seq - 1:
        runs[i][1] = seq
        if i + 1 < len(runs) and runs[i + 1][0] == seq + 1:
            runs[i][1] = runs[i + 1][1]
            del runs[i + 1]
    elif i + 1 < len(runs) and runs[i + 1][0] == seq + 1:
        runs[i + 1][0] = seq
    else:
        runs.insert(i + 1, [seq, seq])
        if len(runs) > limit:
            del runs[0]
