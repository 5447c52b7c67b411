"""API options beyond :class:`anlan.settings.Settings` (defaults suit the local stack)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class ApiOptions:
    """Tunables of one API process."""

    token_ttl_s: float = 12 * 3600.0  # a duty shift plus handover
    # rate limits in the `limits` syntax ("N/minute", "N per 10 minutes"), moving windows
    report_limit: str = "6/minute"  # reports per client (address + reporter id)
    report_address_limit: str = "120/minute"  # reports per address (a village may share one)
    login_limit: str = "10/minute"  # failed logins per address + user name
    login_address_limit: str = "20 per 10 minutes"  # failed logins per address (spraying)
    ratelimit_storage: str = "memory://"  # per process; redis://… to share between processes
    stream_queue: int = 500  # events buffered per SSE client before it is told to resync
    stream_keepalive_s: float = 15.0
    db_pool_max: int = 10
    kafka_timeout_s: float = 10.0
