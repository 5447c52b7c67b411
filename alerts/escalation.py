"""Escalation schedule (pure): when to escalate, whom, and when to re-notify.

An open incident that nobody acknowledged within ``ack_timeout_s`` escalates one tier up:
step *k* notifies the duty officer and the leader *k* tiers above the highest tier the plan
level named (capped at the county). Unacknowledged recipients are re-notified every
``renotify_s`` until the incident is acknowledged or resolved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from alerts.directory.model import TIERS

ESCALATION_ROLES = ("duty_officer", "leader")


def top_tier(notify: Iterable[Mapping[str, Any]]) -> str:
    """The highest tier named in ``notify`` (grid when none is valid)."""
    tiers = [TIERS.index(str(n.get("tier"))) for n in notify if n.get("tier") in TIERS]
    return TIERS[min(tiers)] if tiers else "grid"


def escalated_notify(notify: Iterable[Mapping[str, Any]], step: int) -> list[dict[str, str]]:
    """The ``notify`` list of escalation ``step`` (1, 2, …)."""
    if step <= 0:
        return [dict(n) for n in notify]
    tier = TIERS[max(0, TIERS.index(top_tier(notify)) - step)]
    return [{"role": role, "tier": tier} for role in ESCALATION_ROLES]


def max_step(notify: Iterable[Mapping[str, Any]]) -> int:
    """How many escalation steps exist above the plan's tiers (at least one: the county's
    leader is added even when the plan already notifies the county's duty officer)."""
    return max(1, TIERS.index(top_tier(notify)))


@dataclass(frozen=True)
class Timers:
    next_escalate_at: datetime | None
    next_renotify_at: datetime | None


def initial_timers(now: datetime, ack_timeout_s: float | None, renotify_s: float | None
                   ) -> Timers:
    """Timers of a freshly delivered alert."""
    esc = now + timedelta(seconds=ack_timeout_s) if ack_timeout_s else None
    ren = now + timedelta(seconds=renotify_s) if renotify_s else None
    return Timers(esc, ren)


def after_escalation(now: datetime, step: int, notify: Iterable[Mapping[str, Any]],
                     ack_timeout_s: float | None) -> datetime | None:
    """When the next escalation is due after ``step`` happened (None: no higher tier)."""
    if not ack_timeout_s or step >= max_step(list(notify)):
        return None
    return now + timedelta(seconds=ack_timeout_s)


def after_renotify(now: datetime, renotify_s: float | None) -> datetime | None:
    return now + timedelta(seconds=renotify_s) if renotify_s else None
