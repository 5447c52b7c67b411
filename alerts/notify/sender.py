"""Deliver one message to one person: each URL in order, retried with exponential backoff,
then the next URL (fallback). Every attempt is reported through ``on_attempt``.

The Apprise adapter builds one Apprise instance per send, so a throttled plugin (DingTalk,
WeCom, Feishu sleep between sends on one instance) never makes another target or alert wait;
sends run in a thread pool, so targets proceed concurrently.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import apprise

log = logging.getLogger(__name__)

AttemptOutcome = Literal["sent", "failed", "retrying", "gave_up"]


@dataclass(frozen=True)
class Outcome:
    """What one send returned: ok, or an error and whether retrying may help."""

    ok: bool
    error: str | None = None
    retryable: bool = True


@dataclass(frozen=True)
class Attempt:
    url_index: int
    channel: str
    attempt: int  # 1-based over all URLs of the person
    outcome: AttemptOutcome
    error: str | None
    at: datetime


@dataclass
class SendResult:
    ok: bool
    channel: str | None
    attempts: list[Attempt]


class Notifier(Protocol):
    async def send(self, url: str, title: str, body: str) -> Outcome: ...


def channel_of(url: str) -> str:
    """The URL's scheme only (never the secret parts)."""
    return url.split("://", 1)[0].lower() if "://" in url else "invalid"


def backoff_delays(retries: int, base_s: float, cap_s: float = 60.0) -> list[float]:
    """Delays before retry 1..retries: base, 2·base, 4·base … capped."""
    return [min(cap_s, base_s * (2 ** n)) for n in range(retries)]


async def deliver(notifier: Notifier, urls: list[str],
                  render: Callable[[str], tuple[str, str]], retries: int, backoff_s: float,
                  on_attempt: Callable[[Attempt], Awaitable[None]],
                  sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> SendResult:
    """Send to ``urls`` in order until one succeeds; ``render(url) → (title, body)``."""
    attempts: list[Attempt] = []
    delays = backoff_delays(retries, backoff_s)
    number = 0
    for index, url in enumerate(urls):
        title, body = render(url)
        for n in range(retries + 1):
            number += 1
            outcome = await notifier.send(url, title, body)
            last_try = n == retries or not outcome.retryable
            if outcome.ok:
                kind: AttemptOutcome = "sent"
            elif last_try:
                kind = "gave_up" if index == len(urls) - 1 else "failed"
            else:
                kind = "retrying"
            attempt = Attempt(index, channel_of(url), number, kind, outcome.error,
                              datetime.now(UTC))
            attempts.append(attempt)
            await on_attempt(attempt)
            if outcome.ok:
                return SendResult(True, attempt.channel, attempts)
            if last_try:
                break
            await sleep(delays[n])
    return SendResult(False, None, attempts)


class AppriseNotifier:
    """Sends with a fresh Apprise instance per call, in a bounded thread pool."""

    def __init__(self, executor: ThreadPoolExecutor | None = None, max_workers: int = 64) -> None:
        preload_apprise()
        self._own = executor is None
        self.executor = executor or ThreadPoolExecutor(max_workers, "apprise")

    def close(self) -> None:
        if self._own:
            self.executor.shutdown(wait=False, cancel_futures=True)

    async def send(self, url: str, title: str, body: str) -> Outcome:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, _send_sync, url, title, body)


def preload_apprise() -> None:
    """Load Apprise's plugin modules once, hiding the deprecation warning its e-mail plugin
    triggers on Python 3.11 (``imghdr``); later imports are cached. Call from the main thread."""
    from apprise.manager_plugins import NotificationManager

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        NotificationManager().load_modules()


def _send_sync(url: str, title: str, body: str) -> Outcome:
    instance = apprise.Apprise()
    try:
        if not instance.add(url):
            return Outcome(False, f"invalid or unsupported Apprise URL ({channel_of(url)}://)",
                           retryable=False)
        with instance.notify(title=title, body=body) as result:
            if result:
                return Outcome(True)
            messages = [e.message for e in result.logs() if e.level in ("WARNING", "ERROR")]
            return Outcome(False, (messages[-1] if messages else "notification failed")[:500])
    except Exception as exc:
        log.exception("apprise %s:// raised", channel_of(url))
        return Outcome(False, f"{exc.__class__.__name__}: {exc}"[:500])


def register_log_scheme(logger: logging.Logger) -> None:
    """Register the demo's ``log://NAME`` Apprise scheme: the message goes to ``logger``.
    Idempotent (Apprise keeps custom schemes in its process-wide plugin table)."""
    from apprise.decorators import notify
    from apprise.manager_plugins import NotificationManager

    preload_apprise()
    if "log" in NotificationManager().schemas():
        return

    @notify(on="log", name="Anlan log channel")
    def _log_channel(body: str, title: str, notify_type: str, meta: dict[str, Any],
                     *args: Any, **kwargs: Any) -> bool:
        logger.info("[log://%s] %s — %s", meta.get("host", ""), title,
                    body.replace("\n", " / "))
        return True
