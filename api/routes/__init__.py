"""One router per area; :data:`API_ROUTERS` are mounted under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import (
    alerts,
    auth,
    backtest,
    cap,
    console,
    deadletters,
    directory,
    health,
    incidents,
    plans,
    regions,
    reports,
    sensors,
    stream,
    tasks,
)

API_ROUTERS: tuple[APIRouter, ...] = (
    auth.router, auth.users_router, alerts.router, incidents.router, sensors.router,
    sensors.gateways_router, reports.router, tasks.router, tasks.links_router, regions.router,
    directory.router, cap.router, stream.router, backtest.router,
    plans.router, deadletters.router,
)

__all__ = ["API_ROUTERS", "console", "health"]
