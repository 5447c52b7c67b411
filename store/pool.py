"""Connection pools from settings (psycopg_pool), autocommit connections checked on borrow."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from anlan.settings import Settings


def make_pool(settings: Settings, *, min_size: int = 1, max_size: int = 10,
              name: str = "anlan", open: bool = True, **kwargs: Any) -> ConnectionPool:
    """A synchronous pool on ``settings.database_url`` (opened unless ``open=False``)."""
    return ConnectionPool(
        settings.database_url, min_size=min_size, max_size=max_size, name=name, open=open,
        kwargs={"autocommit": True, "connect_timeout": 5, "application_name": name, **kwargs},
        check=ConnectionPool.check_connection)


def make_async_pool(settings: Settings, *, min_size: int = 1, max_size: int = 10,
                    name: str = "anlan", **kwargs: Any) -> AsyncConnectionPool:
    """An asyncio pool on ``settings.database_url``; open it with ``await pool.open()`` (or
    ``async with pool``) inside the running loop."""
    return AsyncConnectionPool(
        settings.database_url, min_size=min_size, max_size=max_size, name=name, open=False,
        kwargs={"autocommit": True, "connect_timeout": 5, "application_name": name, **kwargs},
        check=AsyncConnectionPool.check_connection)


def connect(settings: Settings, **kwargs: Any) -> psycopg.Connection[Any]:
    """One autocommit connection (CLI commands, scripts)."""
    return psycopg.connect(settings.database_url, autocommit=True, connect_timeout=5, **kwargs)
