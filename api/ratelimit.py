"""Per-client token-bucket rate limiting (pure; the clock is passed in)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RateLimiter:
    """``burst`` requests at once, refilled at ``per_minute`` per minute, per client key."""

    per_minute: float
    burst: int
    max_clients: int = 10_000
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def tokens(self, key: str, now: float) -> float:
        """Tokens ``key`` has at ``now`` (refilled since its last request)."""
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + max(0.0, now - last) * self.per_minute / 60.0)

    def allow(self, key: str, now: float) -> bool:
        """Take one token for ``key``; False when its bucket is empty."""
        tokens = self.tokens(key, now)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        if len(self._buckets) > self.max_clients:
            self._evict(now)
        return allowed

    def retry_after(self, key: str, now: float) -> float:
        """Seconds from ``now`` until ``key`` has a token again (0 when it has one)."""
        return max(0.0, (1.0 - self.tokens(key, now)) * 60.0 / self.per_minute)

    def _evict(self, now: float) -> None:
        full_after = self.burst * 60.0 / self.per_minute
        for key, (_, last) in list(self._buckets.items()):
            if now - last >= full_after:
                del self._buckets[key]
