"""The FastAPI application: routers, problem handlers and middleware around one container."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from functions.http_api.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from functions.http_api.problems import install_problem_handlers
from functions.http_api.routers import (
    admin,
    advisor,
    analytics,
    analytics_customers,
    analytics_forecast,
    analytics_products,
    catalog,
    events,
    health,
    jobs,
    me,
    recommendations,
    stores,
    videos,
    webhooks,
)
from shared.bootstrap import Container
from shared.ratelimit import RateLimiter

DESCRIPTION = """The Retail AI Advisor API. Every `/api/v1` route takes `Authorization: Bearer <Supabase
access token>`. Errors are RFC 9457 problem details; lists are `{"items", "next_cursor"}` with
`?limit=` (1..200) and an opaque `?cursor=`; money is `{"amount": "12.50", "currency": "EUR"}`."""


def create_app(container: Container) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await container.start()
        yield
        await container.stop()

    # No OpenTelemetry here (logs are structlog, correlation ids our middleware's): with telemetry on, FastAPI
    # asks the OTel API on every request whether a provider is configured (os.environ reads, ~2% of a webhook).
    app = FastAPI(title="Retail AI Advisor API", version="1.0.0", description=DESCRIPTION, lifespan=lifespan,
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    app.state.container = container
    app.state.rate_limiter = RateLimiter(container.settings.rate_limit_per_minute)
    install_problem_handlers(app)
    # FastAPI tries the routers in this order, each at a cost per request (~12% of a webhook's CPU when
    # webhooks came 10th): the high-volume webhooks right after the health probes. No paths overlap.
    for router in (health.router, webhooks.router, me.router, stores.router, catalog.router, jobs.router,
                   analytics.router, analytics_products.router, analytics_customers.router, analytics_forecast.router,
                   events.router, admin.router, videos.router, advisor.router, recommendations.router):
        app.include_router(router)
    # Added last = outermost: request ids and security headers wrap even CORS and size refusals.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=container.settings.max_body_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=container.settings.cors_origins,
        allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        expose_headers=["X-Request-ID", "Retry-After"],
        max_age=600,
    )
    app.add_middleware(RequestContextMiddleware)
    return app
