"""Per-user, per-class token buckets: a burst, then a steady rate, and the wait when empty."""

from __future__ import annotations

import pytest

from shared.errors import RateLimited
from shared.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refuse_with_retry_after_then_refill() -> None:
    clock = Clock()
    limiter = RateLimiter(60, burst=3, clock=clock)  # one token a second
    for _ in range(3):
        limiter.hit("u1", "read")
    with pytest.raises(RateLimited) as refused:
        limiter.hit("u1", "read")
    assert refused.value.retry_after_seconds == 1
    clock.now += 1.0
    limiter.hit("u1", "read")


def test_users_and_endpoint_classes_have_their_own_buckets() -> None:
    limiter = RateLimiter(60, burst=1, clock=Clock())
    limiter.hit("u1", "read")
    limiter.hit("u1", "write")
    limiter.hit("u2", "read")
    with pytest.raises(RateLimited):
        limiter.hit("u1", "read")
