"""Per-key request budgets (`BATCH_RATE_LIMIT`): a token bucket per key, in this process.

Hand-written because it is twenty lines with no I/O; a limiter library would add a storage
backend abstraction this service does not need. Replicas each enforce the limit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, per_second: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self.burst = max(1.0, per_second)
        self._clock = clock
        self._buckets: dict[bytes, _Bucket] = {}

    @property
    def enabled(self) -> bool:
        return self.per_second > 0

    def retry_after(self, key: bytes) -> int | None:
        """Take one request from `key`'s budget; None if allowed, else whole seconds to wait."""
        if not self.enabled:
            return None
        now = self._clock()
        bucket = self._buckets.setdefault(key, _Bucket(self.burst, now))
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.per_second)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return max(1, math.ceil((1 - bucket.tokens) / self.per_second))
