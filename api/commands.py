"""Producing commands and reports to Kafka from (sync) route functions.

Routes run in worker threads; these helpers hop onto the event loop that owns the producer
(``anyio.from_thread``) and wait for the broker's acknowledgement (``acks=all``), so a 202 means
the command is in the log. A broker that does not answer gives 503 — the client retries.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from typing import Any

import anyio.from_thread
from fastapi import HTTPException, status

from anlan import topics
from anlan.events import Command, Event, Report
from api.state import AppState


async def _send(state: AppState, topic: str, key: str | None, event: Event) -> None:
    if state.producer is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "Kafka producer not started")
    try:
        await asyncio.wait_for(
            state.producer.send_and_wait(state.settings.topic(topic), event.to_bytes(),
                                         key=key.encode() if key is not None else None),
            state.options.kafka_timeout_s)
    except (TimeoutError, OSError, Exception) as exc:
        if isinstance(exc, HTTPException):
            raise
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            f"broker did not accept the event ({type(exc).__name__}); "
                            "retry") from exc


def produce(state: AppState, topic: str, key: str | None, event: Event) -> None:
    """Send ``event`` to the contract topic ``topic`` and wait for the broker's ack."""
    anyio.from_thread.run(_send, state, topic, key, event)


def command_id(actor: str, idempotency_key: str | None) -> str:
    """A fresh id, or one derived from the caller's ``Idempotency-Key`` (a retried request is
    the same command, which the worker applies once)."""
    if not idempotency_key:
        return uuid.uuid4().hex
    return "idem:" + hashlib.sha256(f"{actor}\0{idempotency_key}".encode()).hexdigest()[:32]


def send_command(state: AppState, kind: str, target: str, actor: str,
                 detail: dict[str, Any] | None = None, *,
                 idempotency_key: str | None = None) -> Command:
    """Produce a :class:`Command` keyed by ``target`` (incident or task id); return it."""
    command = Command(command_id=command_id(actor, idempotency_key),
                      kind=kind,  # type: ignore[arg-type]
                      target=target, actor=actor, detail=detail or {})
    produce(state, topics.COMMANDS, target, command)
    state.metrics.commands.labels(kind).inc()
    return command


def send_report(state: AppState, report: Report) -> None:
    """Produce a report to ``anlan.reports.raw`` keyed by its region."""
    produce(state, topics.REPORTS_RAW, report.region, report)
