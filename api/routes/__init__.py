"""One router per area; :data:`API_ROUTERS` are mounted under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import auth, console, health, reports, stream

API_ROUTERS: tuple[APIRouter, ...] = (
    auth.router, auth.users_router, reports.router, stream.router,
)

__all__ = ["API_ROUTERS", "console", "health"]
