"""The report intake's view of the directory's regions, on a real database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from alerts.directory import db as directory_db
from alerts.directory import read_file
from anlan.settings import Settings
from anlan.stack.database import drop_database, ensure_database
from api.data.regions import KnownRegions
from store.migrate import migrate
from store.pool import make_pool

pytestmark = pytest.mark.integration


@pytest.fixture()
def fresh_db(database_server: str) -> Iterator[str]:
    url = ensure_database(f"{database_server}anlan_regions_{uuid.uuid4().hex[:8]}")
    migrate(url)
    yield url
    drop_database(url)


def test_regions_follow_the_directory_and_survive_an_outage(fresh_db: str,
                                                            api_settings: Settings) -> None:
    settings = api_settings.model_copy(update={"database_url": fresh_db})
    pool = make_pool(settings, max_size=2, name="regions-test")
    known = KnownRegions(refresh_s=0)
    try:
        assert known.current(pool) == frozenset()  # nothing imported yet
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            directory_db.save(conn, read_file(settings.directory_file), "test")
        ids = known.current(pool)
        assert ids is not None and "360121100002-G1" in ids and "360121" in ids
    finally:
        pool.close()
    assert known.current(pool) == ids  # the database is gone: the last ids stay
    assert KnownRegions().current(pool) is None  # never read: the caller answers 503
