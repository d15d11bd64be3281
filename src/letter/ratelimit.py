"""Per-credential fixed-window rate limits (memory by default, Redis at scale)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from letter.errors import RateLimited as _RateLimitedError

__all__ = ["RateLimited", "RateLimiter", "RateStats"]


@dataclass(frozen=True)
class RateStats:
    limit: int
    remaining: int
    reset: int  # Unix seconds when the window resets


class RateLimited(_RateLimitedError):
    """429, carrying the window's stats for the X-RateLimit-* headers."""

    def __init__(self, message: str, stats: RateStats, retry_after: int) -> None:
        super().__init__(message, retryAfter=retry_after)
        self.stats = stats


class RateLimiter:
    """``hit("pat", token_id)`` counts one request, raising RateLimited past the limit.

    >>> limiter = RateLimiter({"pat": "2/minute"})
    >>> limiter.hit("pat", "t1").remaining
    1
    """

    def __init__(self, limits_by_kind: dict[str, str], storage_url: str | None = None) -> None:
        self.items: dict[str, RateLimitItem] = {k: parse(v) for k, v in limits_by_kind.items()}
        self.storage: Storage = MemoryStorage()
        if storage_url:
            remote = storage_from_string(storage_url)
            assert isinstance(remote, Storage)
            self.storage = remote
        self.limiter = FixedWindowRateLimiter(self.storage)

    def hit(self, kind: str, identity: str) -> RateStats:
        item = self.items[kind]
        allowed = self.limiter.hit(item, kind, identity)
        reset_time, remaining = self.limiter.get_window_stats(item, kind, identity)
        stats = RateStats(
            limit=item.amount, remaining=max(0, remaining), reset=math.ceil(reset_time)
        )
        if not allowed:
            retry_after = max(1, math.ceil(reset_time - time.time()))
            raise RateLimited(
                f"Rate limit of {item.amount} requests per {item.GRANULARITY.name} exceeded; "
                f"retry in {retry_after} s.",
                stats,
                retry_after,
            )
        return stats

    def exhausted(self, kind: str, identity: str) -> int:
        """Seconds until ``identity`` may try again, or 0 when it has budget left
        (a check that does not count, for limits that count only failures)."""
        item = self.items[kind]
        if self.limiter.test(item, kind, identity):
            return 0
        reset_time, _ = self.limiter.get_window_stats(item, kind, identity)
        return max(1, math.ceil(reset_time - time.time()))

    def count_failure(self, kind: str, identity: str) -> None:
        self.limiter.hit(self.items[kind], kind, identity)

    def first_within(self, key: str, seconds: int) -> bool:
        """True for the first call with ``key`` in a ``seconds``-long span that
        starts at that call (RFC 8628 polling: one poll per interval)."""
        return self.storage.incr(f"letter/once/{key}", seconds) == 1
