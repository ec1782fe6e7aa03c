"""Token buckets per event source (pure: the caller passes the clock).

Every accepted event takes a token; tokens come back at ``events_per_second`` up to
``burst``. A request that finds too few tokens is refused whole and told how long to
wait, so an SDK's retry lands when its events fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from headwater.core.sources import EventSource, RateLimit

__all__ = ["SourceRateLimiter", "TokenBucket"]


@dataclass(slots=True)
class TokenBucket:
    rate: float  # tokens per second
    burst: float
    tokens: float
    updated: float  # seconds, on the caller's monotonic clock

    def take(self, cost: float, now: float) -> float:
        """Take ``cost`` tokens; 0 when granted, else the seconds until they would be."""
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.updated = now
        cost = min(cost, self.burst)  # a request bigger than the burst waits for a full bucket
        if self.tokens >= cost:
            self.tokens -= cost
            return 0.0
        return (cost - self.tokens) / self.rate


class SourceRateLimiter:
    """One bucket per source; a source's own ``rate_limit`` overrides the default."""

    def __init__(self, default: RateLimit) -> None:
        self._default = default
        self._buckets: dict[tuple[str, str, str], TokenBucket] = {}

    def take(self, source: EventSource, events: int, now: float) -> int:
        """0 when ``events`` may go in, else whole seconds to wait (for Retry-After)."""
        limit = source.rate_limit or self._default
        key = (source.tenant, source.env, source.id)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(limit.events_per_second, limit.burst, limit.burst, now)
            self._buckets[key] = bucket
        elif bucket.rate != limit.events_per_second or bucket.burst != limit.burst:
            bucket.rate, bucket.burst = limit.events_per_second, limit.burst  # config changed
        wait = bucket.take(max(events, 1), now)
        return math.ceil(wait) if wait > 0 else 0
