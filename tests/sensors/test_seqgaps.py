"""Gaps in a gateway's seq (pure): what is a gap, what is not."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensors.seqgaps import Gap, SeqTracker

GW = "gw-0001"


def gaps_of(seqs: list[int], **options: int) -> list[tuple[int, int]]:
    """Feed ``seqs`` one second apart; the gaps reported once every grace period has passed."""
    tracker = SeqTracker(grace_s=3600, **options)
    for t, seq in enumerate(seqs):
        tracker.see(GW, seq, float(t))
    assert tracker.due(float(len(seqs))) == []  # nothing before the grace period ends
    return [(g.first, g.last) for g in tracker.due(len(seqs) + 3600.0)]


CASES: list[tuple[str, list[int], list[tuple[int, int]]]] = [
    ("in order", list(range(1, 50)), []),
    ("the issue's example", [1, 2, 3, 7], [(4, 6)]),
    ("two gaps", [1, 2, 5, 6, 9], [(3, 4), (7, 8)]),
    ("duplicates", [1, 2, 2, 3, 3, 3, 4], []),
    ("re-sent in-flight window", [*range(1, 11), *range(5, 11), 11, 12], []),
    ("backlog newest first", [*range(1, 11), 30, *range(29, 10, -1), 31], []),
    ("backlog oldest first after live", [*range(1, 11), 30, 31, *range(11, 30), 32], []),
    ("hole partly filled", [1, 2, 10, 4, 7, 11], [(3, 3), (5, 6), (8, 9)]),
    ("counter restarts at 0", [*range(5000, 5100), 0, 1, 2, 3], []),
    ("a jump to a new counter", [1, 2, 3, 50_000_000, 50_000_001], []),
    ("first message sets the start", [100, 101, 102], []),
]


@pytest.mark.parametrize(("name", "seqs", "expected"), CASES, ids=[c[0] for c in CASES])
def test_cases(name: str, seqs: list[int], expected: list[tuple[int, int]]) -> None:
    assert gaps_of(seqs) == expected


def test_after_a_counter_restart_a_gap_is_found_at_once() -> None:
    seqs = [*range(20_000, 20_050), 0, 1, 2, 6, 7]
    assert gaps_of(seqs, restart_below=1000) == [(3, 5)]


def test_a_gap_is_reported_once_after_its_grace_and_not_if_filled_in_time() -> None:
    tracker = SeqTracker(grace_s=10)
    for seq in (1, 2, 3, 7):
        tracker.see(GW, seq, 0.0)
    tracker.see("gw-other", 1, 0.0)
    tracker.see("gw-other", 5, 0.0)
    tracker.see("gw-other", 2, 5.0)  # late, within the grace period
    tracker.see("gw-other", 3, 5.0)
    tracker.see("gw-other", 4, 5.0)
    assert tracker.open_holes() == 3
    assert tracker.due(9.9) == []
    assert tracker.due(10.0) == [Gap(GW, 4, 6)]
    assert tracker.due(10.0) == [] and tracker.open_holes() == 0
    assert Gap(GW, 4, 6).missing == 3
    tracker.see(GW, 5, 11.0)  # too late to undo the report; opens nothing new
    assert tracker.due(100.0) == []


def test_too_many_holes_report_the_oldest_at_once() -> None:
    tracker = SeqTracker(grace_s=1000, max_holes=3)
    for t, seq in enumerate([1, 3, 5, 7, 9]):
        tracker.see(GW, seq, float(t))
    assert tracker.due(0.0) == [Gap(GW, 2, 2)]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(n=st.integers(min_value=2, max_value=300),
       start=st.integers(min_value=0, max_value=2**63 - 500),
       drop=st.floats(min_value=0, max_value=0.9), window=st.integers(min_value=1, max_value=25),
       rnd=st.randoms(use_true_random=False))
def test_the_dropped_seqs_are_reported_and_nothing_else(n: int, start: int, drop: float, window: int,
                                               rnd: random.Random) -> None:
    """Never a false gap, whatever the duplicates and local reordering (within the grace
    period); every seq dropped between the first received (where counting starts) and the
    highest received is reported, once."""
    seqs = range(start, start + n)
    kept = [s for s in seqs if rnd.random() >= drop] or [start]
    arrived: list[int] = []
    for i in range(0, len(kept), window):  # reorder within windows, duplicate some
        chunk = kept[i:i + window]
        rnd.shuffle(chunk)
        arrived += chunk + rnd.choices(chunk, k=rnd.randrange(3))
    tracker = SeqTracker(grace_s=60)
    for seq in arrived:
        tracker.see(GW, seq, 0.0)
    reported = [s for gap in tracker.due(60.0) for s in range(gap.first, gap.last + 1)]
    dropped = [s for s in seqs if min(kept) < s < max(kept) and s not in kept]
    assert len(reported) == len(set(reported)) and set(reported) <= set(dropped)
    assert set(reported) >= {s for s in dropped if s > arrived[0]}
