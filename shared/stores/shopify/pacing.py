"""Shopify's cost-based throttle, as the client models it (reference §4).

The platform keeps a leaky bucket per (app, store): a query is charged its *requested* cost up
front and refunded down to the actual cost afterwards. We mirror the bucket from every response's
`extensions.cost.throttleStatus`, wait before a call until the estimated cost has refilled, and size
pages from the requested cost we observed for the same query rather than from any formula.

The state is per shop, not per client: the sync builds a fresh client for every page (one activity
each), and a cold client would re-learn the bucket and shrink to a probe-sized first page every time.
`shared_pacing` hands every client of one shop in this process the same state.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_PAGE_SIZE = 250  # `first` above 250 is rejected
MAX_QUERY_COST = 1000  # single-query limit on every plan (reference §4); lowered if the platform states less
PROBE_PAGE_SIZE = 10  # the first page of a query we have never priced: small, so it cannot overdraw
_EXTRAPOLATION_MARGIN = 1.5  # for page sizes beyond any we have seen priced
HEADROOM_POINTS = 1.0  # the platform reports whole points, and clocks are not exact


@dataclass(slots=True)
class BucketModel:
    """Our copy of the platform's bucket; `maximum` is None until the first response told us."""

    maximum: float | None = None
    available: float = 0.0
    restore_rate: float = 0.0
    observed_at: float = 0.0  # clock reading when `available` was reported

    def observe(self, status: Mapping[str, Any], now: float) -> None:
        try:
            maximum = float(status["maximumAvailable"])
            available = float(status["currentlyAvailable"])
            rate = float(status["restoreRate"])
        except (KeyError, TypeError, ValueError):
            return  # a response without a usable status leaves the model as it was
        self.maximum, self.available, self.restore_rate, self.observed_at = maximum, available, rate, now

    def available_at(self, now: float) -> float | None:
        if self.maximum is None:
            return None
        refilled = self.available + max(0.0, now - self.observed_at) * self.restore_rate
        return min(self.maximum, refilled)

    def seconds_until(self, cost: float, now: float) -> float:
        """How long until `cost` points are there: max(0, cost - available) / restoreRate."""
        available = self.available_at(now)
        if available is None or self.maximum is None or self.restore_rate <= 0:
            return 0.0
        # A query dearer than the whole bucket can only wait for a full one; the server then decides.
        needed = min(cost + HEADROOM_POINTS, self.maximum) - available
        return max(0.0, needed) / self.restore_rate


@dataclass
class PacingState:
    """What we know about one shop's bucket, and the requested cost of each query at each page size seen."""

    bucket: BucketModel = field(default_factory=BucketModel)
    costs: dict[str, dict[int, float]] = field(default_factory=dict)  # query key -> first -> requested cost
    query_limit: float = MAX_QUERY_COST  # lowered if the platform rejects a query for its cost alone
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def lower_query_limit(self, limit: float) -> None:
        with self.lock:
            self.query_limit = max(1.0, min(self.query_limit, limit))

    def record(self, key: str, first: int, cost: float) -> None:
        with self.lock:
            self.costs.setdefault(key, {})[max(1, first)] = cost

    def budget(self, share: float) -> float | None:
        """What one page may cost: `share` of the bucket, and never above the single-query limit."""
        with self.lock:
            maximum, limit = self.bucket.maximum, self.query_limit
        return None if maximum is None else min(share * maximum, limit)

    def estimate(self, key: str, first: int, share: float) -> float:
        """Requested cost of `key` at `first`, erring high.

        Cost never falls as `first` grows, so a size we have seen, or the next larger one, bounds it.
        Beyond every size seen we scale linearly with a margin: cost steps up with ⌊2 ln n⌋, which
        is below linear overall but not between two neighbouring sizes. A query never priced is
        assumed to cost a full page's budget (0 before the bucket is known: we learn by asking).
        """
        with self.lock:
            seen = dict(self.costs.get(key) or {})
        if not seen:
            return self.budget(share) or 0.0
        above = [cost for size, cost in seen.items() if size >= first]
        if above:
            return min(above)
        largest = max(seen)
        return seen[largest] * first / largest * _EXTRAPOLATION_MARGIN

    def page_size(self, key: str, wanted: int, share: float) -> int:
        """`first` for the next page: at most `wanted`, costing at most the page budget when we can tell."""
        wanted = max(1, min(MAX_PAGE_SIZE, wanted))
        budget = self.budget(share) or self.query_limit * share
        with self.lock:
            seen = dict(self.costs.get(key) or {})
        if not seen:
            return min(wanted, PROBE_PAGE_SIZE)
        fits = [size for size, cost in seen.items() if cost <= budget]
        too_big = [size for size, cost in seen.items() if cost > budget]
        ceiling = min(too_big, default=MAX_PAGE_SIZE + 1) - 1  # sizes at or above a too-big one never fit
        base = max(fits) if fits else min(too_big)
        # Proportional from the best size known to fit (or the smallest known not to): growth is capped
        # below any size seen to overshoot, so the choice settles instead of oscillating across a step.
        proposed = math.floor(base * budget / seen[base]) if seen[base] > 0 else wanted
        return max(1, min(wanted, ceiling, max(proposed, max(fits, default=1))))

    def observe(self, status: Mapping[str, Any], now: float) -> None:
        with self.lock:
            self.bucket.observe(status, now)

    def seconds_until(self, cost: float, now: float) -> float:
        with self.lock:
            return self.bucket.seconds_until(cost, now)


_REGISTRY: dict[str, PacingState] = {}
_REGISTRY_LOCK = threading.Lock()


def shared_pacing(endpoint: str, access_token: str) -> PacingState:
    """The process-wide state for one (app, store) bucket, keyed without keeping the token itself."""
    fingerprint = hashlib.sha256(access_token.encode()).hexdigest()[:16]
    key = f"{endpoint}#{fingerprint}"
    with _REGISTRY_LOCK:
        state = _REGISTRY.get(key)
        if state is None:
            state = _REGISTRY[key] = PacingState()
        return state
