"""The dispatcher: alerts → recipients → messages → Apprise, with dedup, escalation and
re-notification. Adapter code around the pure core (recipients, templates, CAP, escalation)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool

from alerts import escalation
from alerts.cap import build_cap, identifier_for, validate_cap
from alerts.directory.model import Directory
from alerts.directory.tree import RegionTree
from alerts.dispatch import repository as repo
from alerts.dispatch.messenger import Messenger
from alerts.dispatch.publisher import Publisher
from alerts.dispatch.repository import OPS, Claim
from alerts.notify.sender import Notifier
from alerts.recipients import resolve
from alerts.templates import Renderer, alert_context, is_short
from anlan.events import Alert, Level, utcnow
from anlan.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class DispatchOptions:
    renotify_s: float | None = None  # default re-notification interval (None: ack timeout)
    lease_s: float = 90.0  # a claim left 'sending' this long belonged to a dead dispatcher
    cap_sender: str = "anlan@yjgl.gov.cn"
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:"
                       f"{uuid.uuid4().hex[:6]}")


@dataclass
class AlertOutcome:
    """What handling one alert did (for logs and tests)."""

    alert_id: str
    new: bool
    recipients: list[str]
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)


class Dispatcher:
    """Handles alerts and acknowledgements; ``tick()`` runs escalation, re-notification and
    the takeover of claims a dead dispatcher left behind."""

    def __init__(self, settings: Settings, pool: AsyncConnectionPool, notifier: Notifier,
                 publisher: Publisher, directory: Directory,
                 options: DispatchOptions | None = None,
                 on_closed: Callable[[str, str], Any] | None = None) -> None:
        self.settings = settings
        self.pool = pool
        self.notifier = notifier
        self.publisher = publisher
        self.options = options or DispatchOptions()
        self.renderer = Renderer()
        self.messenger = Messenger(settings, pool, notifier, publisher)
        self.on_closed = on_closed  # (incident_id, reason) → awaitable: mobilization cancels
        # abandoned claims of task messages (offers, welfare, cancel, filled) → awaitable
        self.on_stale: Callable[[list[Claim]], Any] | None = None
        self.set_directory(directory)

    def set_directory(self, directory: Directory) -> None:
        self.directory = directory
        self.tree = RegionTree(directory)
        self.people = {p.id: p for p in directory.people}

    # ------------------------------------------------------------------ alerts
    async def handle_alert(self, alert: Alert, now: datetime | None = None) -> AlertOutcome:
        """Deliver ``alert`` to its recipients (once per person, however often it arrives)."""
        now = now or utcnow()
        res = resolve(self.directory, alert.region, alert.notify, now, self.tree)
        for gap in res.gaps:
            log.warning("alert %s: %s", alert.alert_id, gap)
        people = res.person_ids + ([OPS] if self.settings.default_notify_urls else [])
        async with self.pool.connection() as conn:
            known = await repo.get_alerts(conn, alert.references)
            cap = build_cap(alert, self.tree, self.options.cap_sender, known=known)
            new = await repo.record_alert(conn, alert, identifier_for(alert), cap)
            won = await repo.claim(conn, alert.incident_id,
                                   [Claim(alert.alert_id, p, 0) for p in people],
                                   self.options.owner)
            await self._update_watch(conn, alert, now)
        errors = validate_cap(cap)
        if errors:
            log.error("alert %s: CAP invalid: %s", alert.alert_id, errors[:3])
        outcome = AlertOutcome(alert.alert_id, new, res.person_ids, gaps=res.gaps)
        await self._send_all(alert, won, outcome)
        if alert.msg_type == "Cancel" and self.on_closed is not None:
            await self.on_closed(alert.incident_id, "cancelled")
        return outcome

    async def _update_watch(self, conn: repo.Conn, alert: Alert, now: datetime) -> None:
        if alert.tier > 0:  # an escalation someone else raised: keep our schedule
            return
        current = await repo.get_watch(conn, alert.incident_id, lock=True)
        if alert.msg_type == "Cancel" or alert.level == Level.NONE:
            if current is None:  # remember it, so that a late Alert cannot reopen it
                await repo.put_watch(conn, repo.Watch(alert.incident_id, alert.alert_id,
                                                      "resolved", 0, 0, None, None, None, None))
            await repo.close_watch(conn, alert.incident_id, "resolved", f"alert:{alert.alert_id}")
            return
        if current is not None and current.state == "resolved":
            return
        if current is not None and current.alert_id == alert.alert_id:
            return  # redelivered: the schedule stands
        renotify_s = _renotify_interval(alert, self.options.renotify_s)
        state = "open"
        if current is not None and current.state == "acknowledged":
            earlier = (await repo.get_alerts(conn, [current.alert_id])).get(current.alert_id)
            if earlier is not None and alert.level <= earlier.level:
                state = "acknowledged"  # same or lower level: the acknowledgement stands
        timers = escalation.initial_timers(now, alert.ack_timeout_s, renotify_s)
        open_ = state == "open"
        await repo.put_watch(conn, repo.Watch(
            alert.incident_id, alert.alert_id, state, 0, 0, alert.ack_timeout_s, renotify_s,
            timers.next_escalate_at if open_ else None,
            timers.next_renotify_at if open_ else None))

    async def _send_all(self, alert: Alert, claims: list[Claim], outcome: AlertOutcome,
                        renotify: int = 0) -> None:
        results = await asyncio.gather(*(self._send_one(alert, c, renotify) for c in claims))
        for c, ok in zip(claims, results, strict=True):
            (outcome.sent if ok else outcome.failed).append(c.person_id)

    async def _send_one(self, alert: Alert, c: Claim, renotify: int) -> bool:
        person = self.people.get(c.person_id)
        urls = list(self.settings.default_notify_urls) if c.person_id == OPS else (
            list(person.urls) if person else [])
        ctx = alert_context(alert, self.tree, identifier_for(alert),
                            self.settings.public_base_url, renotify=renotify,
                            escalation=alert.tier)
        lang = person.lang if person else "zh-CN"

        def render(url: str) -> tuple[str, str]:
            msg = self.renderer.render("alert", ctx, lang, short=is_short(url))
            return msg.title, msg.body

        missing = "no Apprise URL for this person" if person or c.person_id == OPS \
            else "person not in directory"
        return await self.messenger.send(c, alert.incident_id, urls, render, missing)

    # ------------------------------------------------------------------ acks
    async def close(self, incident_id: str, state: str, by: str) -> bool:
        """Acknowledge or resolve an incident: stops escalation and re-notification."""
        async with self.pool.connection() as conn:
            changed = await repo.close_watch(conn, incident_id, state, by)
        if state == "resolved" and self.on_closed is not None:
            await self.on_closed(incident_id, "resolved")
        return changed

    async def escalate_now(self, incident_id: str, now: datetime | None = None) -> None:
        """A person asked to escalate: make the escalation timer due now."""
        async with self.pool.connection() as conn:
            await conn.execute("UPDATE dispatch_watch SET next_escalate_at = %s "
                               "WHERE incident_id = %s AND state = 'open'",
                               (now or utcnow(), incident_id))

    # ------------------------------------------------------------------ timers
    async def tick(self, now: datetime | None = None) -> int:
        """Run due escalations and re-notifications, and resend abandoned claims; returns the
        number of messages attempted."""
        now = now or utcnow()
        work: list[tuple[Alert, list[Claim], int]] = []
        async with self.pool.connection() as conn:
            for watch in await repo.due_watches(conn, now):
                work.extend(await self._advance(conn, watch, now))
            stale = await repo.stale_claims(conn, self.options.lease_s, self.options.owner)
            alerts = await repo.get_alerts(conn, {c.alert_id for c in stale})
        others = []
        for c in stale:
            log.warning("resending %s to %s (claim abandoned)", c.alert_id, c.person_id)
            if c.alert_id in alerts:
                work.append((alerts[c.alert_id], [c], c.round))
            else:
                others.append(c)
        if others and self.on_stale is not None:
            await self.on_stale(others)
        for alert, claims, renotify in work:
            await self._send_all(alert, claims, AlertOutcome(alert.alert_id, False, []),
                                 renotify)
        return sum(len(c) for _, c, _ in work)

    async def _advance(self, conn: repo.Conn, w: repo.Watch, now: datetime
                       ) -> list[tuple[Alert, list[Claim], int]]:
        base = (await repo.get_alerts(conn, [w.alert_id])).get(w.alert_id)
        if base is None:
            await repo.close_watch(conn, w.incident_id, "resolved", "missing-alert")
            return []
        work: list[tuple[Alert, list[Claim], int]] = []
        step, rnd = w.step, w.renotify_round
        next_esc, next_ren = w.next_escalate_at, w.next_renotify_at
        if next_ren is not None and next_ren <= now:
            rnd += 1
            people = await repo.notified_people(conn, w.incident_id)
            claims = await repo.claim(conn, w.incident_id,
                                      [Claim(base.alert_id, p, rnd) for p in people],
                                      self.options.owner)
            work.append((base, claims, rnd))
            next_ren = escalation.after_renotify(now, w.renotify_s)
        if next_esc is not None and next_esc <= now:
            step += 1
            esc = _escalated(base, step, now)
            res = resolve(self.directory, esc.region, esc.notify, now, self.tree)
            cap = build_cap(esc, self.tree, self.options.cap_sender)
            await repo.record_alert(conn, esc, identifier_for(esc), cap)
            people = res.person_ids + ([OPS] if self.settings.default_notify_urls else [])
            claims = await repo.claim(conn, w.incident_id,
                                      [Claim(esc.alert_id, p, 0) for p in people],
                                      self.options.owner)
            log.warning("incident %s not acknowledged: escalation step %d to %s",
                        w.incident_id, step, res.person_ids)
            work.append((esc, claims, 0))
            next_esc = escalation.after_escalation(now, step, base.notify, w.ack_timeout_s)
        await repo.put_watch(conn, repo.Watch(w.incident_id, w.alert_id, w.state, step, rnd,
                                              w.ack_timeout_s, w.renotify_s, next_esc, next_ren))
        return work


def _escalated(base: Alert, step: int, now: datetime) -> Alert:
    """The escalation ``step`` copy of ``base``: higher tier, its own id, sent now."""
    return base.model_copy(update={
        "alert_id": f"{base.alert_id}~E{step}", "tier": step, "sent": now,
        "notify": escalation.escalated_notify(base.notify, step)})


def _renotify_interval(alert: Alert, default: float | None) -> float | None:
    """The alert's own interval (a ``renotify_s`` field when the schema grows one, else
    ``evidence.renotify_interval_s``), the dispatcher's default, else the ack timeout."""
    own = getattr(alert, "renotify_s", None)
    if isinstance(own, int | float) and own > 0:
        return float(own)
    for key in ("renotify_interval_s", "renotify_s"):
        value = alert.evidence.get(key)
        if isinstance(value, int | float) and value > 0:
            return float(value)
    return default if default is not None else alert.ack_timeout_s
