"""Pools from settings on the real PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from anlan.settings import load_settings
from store.pool import connect, make_async_pool, make_pool

pytestmark = pytest.mark.integration


def test_sync_pool_gives_autocommit_connections(database_url: str) -> None:
    settings = load_settings(database_url=database_url)
    with make_pool(settings, max_size=2, name="anlan-test") as pool, pool.connection() as conn:
        assert conn.autocommit
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] > 0  # type: ignore[index]
    with connect(settings) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_async_pool_opens_in_the_loop(database_url: str) -> None:
    settings = load_settings(database_url=database_url)

    async def main() -> tuple[int, ...] | None:
        async with make_async_pool(settings, max_size=2) as pool, pool.connection() as conn:
            cur = await conn.execute("SELECT 1")
            return await cur.fetchone()

    assert asyncio.run(main()) == (1,)
