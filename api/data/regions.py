"""The directory's region ids for the report intake: cached, re-read when the directory changes.

A report must name a region of the directory. Looking it up on every report would make the
public intake depend on the database; instead the ids are re-read when the directory's version
(``store.directory.directory_version``) changed, checked at most every ``refresh_s`` seconds, and
the last set read is kept through a database outage.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from store.directory import directory_version, region_ids

log = logging.getLogger(__name__)


@dataclass
class KnownRegions:
    """The region ids of the stored directory (None until read once)."""

    refresh_s: float = 10.0
    ids: frozenset[str] | None = None
    version: int = -1
    checked: float = float("-inf")

    def current(self, pool: ConnectionPool[Any] | None) -> frozenset[str] | None:
        """The ids, re-read when stale and the directory changed; the last ones on failure."""
        now = time.monotonic()
        if pool is None or (self.ids is not None and now - self.checked < self.refresh_s):
            return self.ids
        try:
            with pool.connection(timeout=2.0) as conn:
                version = directory_version(conn)
                if self.ids is None or version != self.version:
                    self.ids, self.version = region_ids(conn), version
        except psycopg.Error as exc:  # the pool's timeouts and closing too
            log.warning("directory regions not re-read (%s); using the last ones", exc)
        self.checked = now
        return self.ids
