"""API options beyond :class:`anlan.settings.Settings` (defaults suit the local stack)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class ApiOptions:
    """Tunables of one API process."""

    token_ttl_s: float = 12 * 3600.0  # a duty shift plus handover
    report_per_minute: float = 6.0  # per client (IP or reporter id)
    report_burst: int = 5
    login_per_minute: float = 6.0  # failed logins per address + username
    login_burst: int = 10
    stream_queue: int = 500  # events buffered per SSE client before it is told to resync
    stream_keepalive_s: float = 15.0
    db_pool_max: int = 10
    kafka_timeout_s: float = 10.0
