"""Rate limits on the ``limits`` library (the one behind slowapi): moving windows per key.

A :class:`Budget` is a limit (``"10/minute"``, ``"30 per 10 minutes"``: the ``limits`` string
syntax) applied per key (an address, an address and a user name…). Hits are counted in the
storage of :class:`RateLimits` — in memory by default, i.e. per API process; point
``ApiOptions.ratelimit_storage`` at a shared store (``redis://…``, ``memcached://…``, with that
client installed) to count across processes.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter


@dataclass(frozen=True)
class Budget:
    """A named limit: ``name`` keeps budgets with the same rate apart in the storage."""

    name: str
    item: RateLimitItem

    @classmethod
    def of(cls, name: str, rate: str) -> Budget:
        return cls(name, parse(rate))


class RateLimits:
    """Counts hits against budgets, per key."""

    def __init__(self, storage_uri: str = "memory://") -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def hit(self, budget: Budget, key: str) -> bool:
        """Spend one from ``key``'s budget; False when it was already spent."""
        return self._limiter.hit(budget.item, budget.name, key)

    def retry_after(self, budget: Budget, key: str) -> int:
        """Whole seconds until ``key`` may spend again (0 when it may now)."""
        if self._limiter.test(budget.item, budget.name, key):
            return 0
        reset = self._limiter.get_window_stats(budget.item, budget.name, key).reset_time
        return max(1, math.ceil(reset - time.time()))

    def clear(self, budget: Budget, key: str) -> None:
        self._limiter.clear(budget.item, budget.name, key)


class LoginThrottle:
    """Failed logins, counted twice: per address and user name (guessing one password) and per
    address alone (password spraying: one guess for each of many names). Once either budget is
    spent, every login from there is refused — a right password too, or the answer would tell
    a sprayer which guess was right."""

    def __init__(self, limits: RateLimits, *, per_name: str, per_address: str) -> None:
        self._limits = limits
        self._per_name = Budget.of("login-name", per_name)
        self._per_address = Budget.of("login-address", per_address)

    def retry_after(self, address: str, username: str) -> int:
        """Whole seconds until ``address`` may try ``username`` again (0: now)."""
        return max(self._limits.retry_after(self._per_address, address),
                   self._limits.retry_after(self._per_name, f"{address}|{username}"))

    def failed(self, address: str, username: str) -> None:
        self._limits.hit(self._per_address, address)
        self._limits.hit(self._per_name, f"{address}|{username}")

    def succeeded(self, address: str, username: str) -> None:
        """A right password forgets that name's failures (not the address's)."""
        self._limits.clear(self._per_name, f"{address}|{username}")
