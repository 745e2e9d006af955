"""A fake Shopify Admin GraphQL API that follows the real contract (see the reference doc).

    app = create_fake_shopify(generate_store(), access_token="shpat_test")
    uvicorn.run(app, port=8081)  # POST http://127.0.0.1:8081/admin/api/2026-10/graphql.json

Serves: `POST /admin/api/{version}/graphql.json` (X-Shopify-Access-Token auth, cost-based
throttling, bulk operations, webhook subscriptions kept in `app.state.webhooks`) and
`GET /bulk/{n}.jsonl` (bulk results, streamed; no auth, like Shopify's signed storage URLs).
Not served: REST, OAuth/token endpoints, webhook deliveries, bulk mutations, `deletionEvents`, ShopifyQL.
"""

from __future__ import annotations

import hmac
import json
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from devhost.fakes.clock import Clock, monotonic_clock
from devhost.fakes.faults import FaultConfig, FaultInjector, FaultKind, FaultMiddleware, FaultResponse
from devhost.fakes.model import StoreModel
from devhost.fakes.shopify_bulk import BulkConfig, BulkRegistry, bulk_mutation_fields, bulk_query_fields
from devhost.fakes.shopify_cost import ShopifyStats, ThrottleConfig
from devhost.fakes.shopify_paging import ShopifyIndex
from devhost.fakes.shopify_resolvers import resolver_tables
from devhost.fakes.shopify_schema import build_shopify_schema
from devhost.fakes.shopify_service import GraphQLRequest, ShopifyService
from devhost.fakes.shopify_webhooks import WebhookRegistry, webhook_mutation_fields, webhook_query_fields

# Stable versions in late 2026 (reference §2). The fake answers those up to its `api_version`
# as themselves; an older YYYY-MM "falls forward" to the oldest; anything else is 404.
KNOWN_VERSIONS = ("2026-01", "2026-04", "2026-07", "2026-10", "2027-01")
BAD_CREDENTIALS_MESSAGE = "[API] Invalid API key or access token (unrecognized login or wrong password)"
_BULK_FILE = re.compile(r"(?P<number>\d+)(?P<partial>-partial)?\.jsonl")


def create_fake_shopify(
    store: StoreModel,
    *,
    access_token: str,
    throttle: ThrottleConfig | None = None,
    api_version: str = "2026-10",
    faults: FaultConfig | None = None,
    bulk: BulkConfig | None = None,
    clock: Clock = monotonic_clock,
) -> FastAPI:
    """The fake as an ASGI app; `app.state.stats` is a live `ShopifyStats`.

    `api_version` is the newest version served (older supported ones too, see KNOWN_VERSIONS);
    `clock` drives the cost bucket and bulk-operation ages (a ManualClock in unit tests).
    """
    fault_config = faults or FaultConfig()
    stats = ShopifyStats()
    webhooks = WebhookRegistry()
    tables = _all_resolvers(webhooks)
    schema = build_shopify_schema(tables)
    registry = BulkRegistry(
        schema=schema,
        tables=tables,
        config=bulk or BulkConfig(),
        clock=clock,
        failing=fault_config.fail_bulk_operations,
        stats=stats,
    )
    service = ShopifyService(
        store=store,
        schema=schema,
        index=ShopifyIndex(store),
        bulk=registry,
        throttle=throttle or ThrottleConfig(),
        clock=clock,
        stats=stats,
    )
    app = FastAPI(title="Fake Shopify Admin API", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.stats, app.state.store, app.state.service = stats, store, service
    app.state.webhooks = webhooks
    _add_routes(app, service, registry, access_token, api_version)
    app.add_middleware(
        FaultMiddleware,
        injector=FaultInjector(fault_config, stats),
        applies_to=lambda path: path.startswith("/admin/api/"),
        render=lambda kind: _fault_response(kind, fault_config, stats.requests),
        on_drain=service.drain_all,
    )
    return app


def _all_resolvers(webhooks: WebhookRegistry) -> dict[str, dict[str, Any]]:
    tables = resolver_tables()
    tables["QueryRoot"].update(bulk_query_fields())
    tables["QueryRoot"].update(webhook_query_fields(webhooks))
    tables["Mutation"] = bulk_mutation_fields() | webhook_mutation_fields(webhooks)
    return tables


def served_version(requested: str, latest: str) -> str | None:
    supported = [v for v in KNOWN_VERSIONS if v <= latest]
    if requested in supported or requested == "unstable":
        return requested
    if re.fullmatch(r"\d{4}-(01|04|07|10)", requested) and requested < supported[0]:
        return supported[0]
    return None


def _add_routes(
    app: FastAPI, service: ShopifyService, registry: BulkRegistry, access_token: str, latest: str
) -> None:
    stats: ShopifyStats = app.state.stats

    @app.post("/admin/api/{version}/graphql.json")
    async def graphql_endpoint(version: str, request: Request) -> Response:
        served = served_version(version, latest)
        if served is None:
            return JSONResponse({"errors": "Not Found"}, status_code=404)
        token = request.headers.get("X-Shopify-Access-Token", "")
        if not hmac.compare_digest(token.encode(), access_token.encode()):
            stats.auth_failures += 1
            return JSONResponse({"errors": BAD_CREDENTIALS_MESSAGE}, status_code=401)
        graphql_request = await _read_request(request)
        if graphql_request is None:
            return JSONResponse({"errors": {"query": "Required parameter missing or invalid"}}, status_code=400)
        reply = service.execute(token, graphql_request, _base_url(request))
        headers = {"X-Shopify-API-Version": served, **reply.headers}
        return JSONResponse(reply.payload, status_code=reply.status, headers=headers)

    @app.get("/bulk/{file_name}")
    async def bulk_download(file_name: str, request: Request) -> Response:
        match = _BULK_FILE.fullmatch(file_name)
        chunks = None
        if match is not None:
            ctx = service.context("", _base_url(request))
            chunks = registry.download(int(match["number"]), partial=bool(match["partial"]), ctx=ctx)
        if chunks is None:
            return PlainTextResponse("Not Found", status_code=404)
        return StreamingResponse(chunks, media_type="application/jsonl")


async def _read_request(request: Request) -> GraphQLRequest | None:
    """JSON body `{query, variables, operationName}`, or a raw `application/graphql` query."""
    body = await request.body()
    if request.headers.get("content-type", "").startswith("application/graphql"):
        return GraphQLRequest(body.decode())
    try:
        data: Any = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("query"), str):
        return None
    variables = data.get("variables")
    return GraphQLRequest(data["query"], variables if isinstance(variables, dict) else None, data.get("operationName"))


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _fault_response(kind: FaultKind, config: FaultConfig, request_number: int) -> FaultResponse:
    if kind is FaultKind.TOO_MANY_REQUESTS:
        body = {"errors": "Exceeded 2 calls per second for api client. "
                          "Reduce request rates to resume uninterrupted service."}
        retry_after = (("Retry-After", str(config.retry_after_seconds)),)
        return FaultResponse(429, json.dumps(body).encode(), headers=retry_after)
    message = f"Internal error. Looks like something went wrong on our end.\nRequest ID: fake-{request_number}"
    body_5xx = {"errors": [{"message": message, "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}
    return FaultResponse(config.server_error_status, json.dumps(body_5xx).encode())
