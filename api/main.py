"""The app factory: mounts one router per area and manages the process's connections."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import Depends, FastAPI, Request, Response
from fastapi_offline import FastAPIOffline

from anlan.errors import StartupError
from anlan.kafka import make_producer
from anlan.registry import load_registry
from anlan.settings import Settings
from api import routes
from api.metrics import ApiMetrics
from api.options import ApiOptions
from api.ratelimit import Budget, LoginThrottle, RateLimits
from api.state import AppState
from api.stream import StreamHub, supervise_stream
from api.validation import storable_params
from store.pool import make_pool

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"


async def _open(state: AppState) -> None:
    settings, options = state.settings, state.options
    state.loop = asyncio.get_running_loop()
    pool = make_pool(settings, max_size=options.db_pool_max, name="anlan-api", open=False)
    try:
        await asyncio.to_thread(pool.open, True, 10.0)
    except Exception as exc:
        raise StartupError(f"database {settings.database_url} does not answer: {exc}") from exc
    state.pool = pool
    producer = make_producer(settings)
    try:
        await asyncio.wait_for(producer.start(), options.kafka_timeout_s)
    except Exception as exc:
        await producer.stop()
        raise StartupError(f"Kafka at {settings.kafka_bootstrap!r} does not answer: "
                           f"{type(exc).__name__}") from exc
    state.producer = producer
    state.stream_task = asyncio.create_task(
        supervise_stream(settings, state.hub, state.metrics, state.stream_ready),
        name="api-stream")
    state.stream_task.add_done_callback(_log_stream_end)


def _log_stream_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("live stream consumer stopped: %r", task.exception())


async def _close(state: AppState) -> None:
    if state.stream_task is not None:
        state.stream_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await state.stream_task
    if state.producer is not None:
        await state.producer.stop()
    if state.pool is not None:
        await asyncio.to_thread(state.pool.close)


def create_app(settings: Settings, options: ApiOptions | None = None) -> FastAPI:
    """The API and console app for ``settings`` (connections open in its lifespan)."""
    options = options or ApiOptions()
    registry = load_registry(settings.sensors_file)
    limits = RateLimits(options.ratelimit_storage)
    state = AppState(settings=settings, options=options, metrics=ApiMetrics(), registry=registry,
                     hub=StreamHub(queue_size=options.stream_queue), limits=limits,
                     report_budget=Budget.of("report", options.report_limit),
                     report_address_budget=Budget.of("report-address",
                                                     options.report_address_limit),
                     login_throttle=LoginThrottle(limits, per_name=options.login_limit,
                                                  per_address=options.login_address_limit))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await _open(state)  # `anlan api` marks itself ready once it also listens
        try:
            yield
        finally:
            await _close(state)

    # /docs and /redoc from files in the fastapi-offline wheel, not a CDN: deployments on a
    # government intranet have no internet access.
    app = FastAPIOffline(title="Anlan 安澜 API", version="1", lifespan=lifespan,
                         description="Alerts, incidents, tasks and the duty console of Anlan.",
                         dependencies=[Depends(storable_params)])
    app.state.anlan = state
    for router in routes.API_ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(routes.health.router)
    app.include_router(routes.console.router)
    app.middleware("http")(_metrics_middleware)
    return app


async def _metrics_middleware(request: Request,
                              call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    state: AppState = request.app.state.anlan
    start = time.perf_counter()
    response = await call_next(request)
    route = request.scope.get("route")
    path = getattr(route, "path", "unmatched")
    state.metrics.requests.labels(request.method, path, str(response.status_code)).inc()
    state.metrics.latency.labels(path).observe(time.perf_counter() - start)
    return response
