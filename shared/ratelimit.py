"""Token buckets per (user, endpoint class): a steady rate with a burst, and the wait when empty."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from shared.errors import RateLimited

_MAX_KEYS = 50_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """In-process limits. Each Functions instance counts on its own; a gateway can add a global cap."""

    def __init__(self, per_minute: int, *, burst: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(burst or max(1, per_minute // 6))
        self._clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()

    def hit(self, user: str, endpoint_class: str, cost: float = 1.0) -> None:
        """Take `cost` tokens or raise RateLimited with the seconds until they are there."""
        now = self._clock()
        key = (user, endpoint_class)
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= _MAX_KEYS:
                    self._buckets.clear()
                bucket = self._buckets[key] = _Bucket(self.capacity, now)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens < cost:
                wait = math.ceil((cost - bucket.tokens) / self.rate)
                raise RateLimited(f"too many {endpoint_class} requests; retry in {wait} s", max(1, wait))
            bucket.tokens -= cost
