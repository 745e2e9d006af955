"""Too many requests from one user: 429 problem with Retry-After; other users are unaffected."""

from __future__ import annotations

import httpx

from functions.http_api.app import create_app
from shared.bootstrap import Container
from shared.ratelimit import RateLimiter
from tests.support import Tenant


async def test_429_with_retry_after(container: Container, world: dict[str, Tenant]) -> None:
    app = create_app(container)
    app.state.rate_limiter = RateLimiter(60, burst=2)  # a burst of two, then one a second, in this app only
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        statuses = [(await client.get("/api/v1/me", headers=world["a"].member)).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        refused = await client.get("/api/v1/me", headers=world["a"].member)
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["status"] == 429
        assert (await client.get("/api/v1/me", headers=world["b"].member)).status_code == 200
