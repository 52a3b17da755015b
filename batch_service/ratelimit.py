"""Per-caller request budgets (`BATCH_RATE_LIMIT`): a token bucket per caller, in this process.

Hand-written because it is thirty lines with no I/O; a limiter library would add a storage
backend abstraction this service does not need. Replicas each enforce the limit.

Buckets are keyed by authenticated identity only (an owner, or a job whose logs token was
valid), so forged credentials never create one. A bucket that has refilled is the same as no
bucket, so a sweep at most once per refill period drops those: memory follows the callers
active in the last few seconds, not every caller ever seen.
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
        self._buckets: dict[str, _Bucket] = {}
        self._refill_seconds = self.burst / per_second if per_second > 0 else 0.0
        self._next_sweep = clock() + self._refill_seconds

    @property
    def enabled(self) -> bool:
        return self.per_second > 0

    @property
    def bucket_count(self) -> int:
        return len(self._buckets)

    def retry_after(self, caller: str) -> int | None:
        """Take one request from `caller`'s budget; None if allowed, else whole seconds to wait."""
        if not self.enabled:
            return None
        now = self._clock()
        if now >= self._next_sweep:
            self._drop_refilled(now)
        bucket = self._buckets.setdefault(caller, _Bucket(self.burst, now))
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.per_second)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return max(1, math.ceil((1 - bucket.tokens) / self.per_second))

    def charge(self, caller: str, requests: int) -> None:
        """Take `requests` more from an admitted caller's budget, into debt if need be: a batch
        of N jobs costs N requests, is admitted like one, and its caller's next requests wait
        until the budget has refilled past zero."""
        if not self.enabled or requests <= 0:
            return
        now = self._clock()
        bucket = self._buckets.setdefault(caller, _Bucket(self.burst, now))
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.per_second) - requests
        bucket.updated = now

    def _drop_refilled(self, now: float) -> None:
        self._buckets = {
            caller: bucket
            for caller, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.updated) * self.per_second < self.burst
        }
        self._next_sweep = now + self._refill_seconds
