"""Liveness, readiness (database and brokers reachable) and Prometheus metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import State
from api.state import AppState

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


def _db_ok(state: AppState) -> bool:
    if state.pool is None:
        return False
    try:
        with state.pool.connection(timeout=3.0) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - any failure means not ready
        return False


async def _kafka_ok(state: AppState) -> bool:
    if state.producer is None or getattr(state.producer, "_closed", False):
        return False  # never started, or stopped: it cannot send
    try:
        client: Any = state.producer.client
        await asyncio.wait_for(client.fetch_all_metadata(), 3.0)
        return True
    except Exception:  # noqa: BLE001
        return False


@router.get("/readyz")
async def readyz(state: State) -> JSONResponse:
    """200 when the database and Kafka answer and the live stream is consuming; else 503."""
    checks = {"database": await asyncio.to_thread(_db_ok, state),
              "kafka": await _kafka_ok(state),
              "stream": state.stream_ready.is_set() and state.stream_task is not None
              and not state.stream_task.done()}
    ok = all(checks.values())
    return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks},
                        status_code=200 if ok else 503)


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}}})
async def metrics(state: State) -> Response:
    """Prometheus text exposition of this process's metrics."""
    state.metrics.stream_clients.set(len(state.hub.clients))
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
