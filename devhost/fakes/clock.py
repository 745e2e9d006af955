"""Clocks for the fakes: real monotonic time by default, a hand-driven one for unit tests."""

from __future__ import annotations

import time
from collections.abc import Callable

# Seconds on a monotonic scale; only differences matter (bucket refills, bulk-op ages).
Clock = Callable[[], float]


def monotonic_clock() -> float:
    """The default clock: real time, so a benchmark sees real throttling waits."""
    return time.monotonic()


class ManualClock:
    """A clock that moves only when told to, so throttle and bulk tests are deterministic."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward (never backward: a leaky bucket assumes monotonic time)."""
        if seconds < 0:
            raise ValueError("a clock cannot go backward")
        self.now += seconds
