"""Send one claimed message to one person and record every attempt (database + Kafka)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from psycopg_pool import AsyncConnectionPool

from alerts.dispatch import repository as repo
from alerts.dispatch.publisher import Publisher
from alerts.dispatch.repository import Claim
from alerts.notify.sender import Attempt, Notifier, deliver
from anlan import topics
from anlan.events import Delivery
from anlan.settings import Settings

log = logging.getLogger(__name__)

Render = Callable[[str], tuple[str, str]]  # url → (title, body)


class Messenger:
    """Delivers claimed messages: retries, fallback URLs, attempts recorded, claim finished."""

    def __init__(self, settings: Settings, pool: AsyncConnectionPool, notifier: Notifier,
                 publisher: Publisher) -> None:
        self.settings = settings
        self.pool = pool
        self.notifier = notifier
        self.publisher = publisher

    async def send(self, c: Claim, incident_id: str, urls: list[str], render: Render,
                   missing_reason: str = "no Apprise URL for this person") -> bool:
        """Send the claimed message ``c``; True when a URL accepted it."""
        if not urls:
            async with self.pool.connection() as conn:
                await repo.finish(conn, c, "skipped", None)
            log.warning("%s: %s skipped: %s", c.alert_id, c.person_id, missing_reason)
            await self.publisher.publish(topics.DELIVERIES, c.person_id, Delivery(
                delivery_id=uuid.uuid4().hex, alert_id=c.alert_id, incident_id=incident_id,
                recipient=c.person_id, channel="none", attempt=0, outcome="skipped",
                error=missing_reason))
            return False

        async def on_attempt(attempt: Attempt) -> None:
            async with self.pool.connection() as conn:
                delivery_id = await repo.record_attempt(conn, incident_id, c, attempt)
            await self.publisher.publish(topics.DELIVERIES, c.person_id, Delivery(
                delivery_id=delivery_id, alert_id=c.alert_id, incident_id=incident_id,
                recipient=c.person_id, channel=attempt.channel, attempt=attempt.attempt,
                outcome=attempt.outcome, error=attempt.error, at=attempt.at))

        result = await deliver(self.notifier, urls, render, self.settings.notify_retries,
                               self.settings.notify_backoff_s, on_attempt)
        async with self.pool.connection() as conn:
            await repo.finish(conn, c, "sent" if result.ok else "failed", result.channel)
        if not result.ok:
            log.error("%s: could not reach %s on any of %d URL(s)", c.alert_id, c.person_id,
                      len(urls))
        return result.ok
