"""A fake WooCommerce REST API v3 that follows the real contract (see the reference doc).

    app = create_fake_woocommerce(generate_store(), consumer_key="ck_test", consumer_secret="cs_test")
    uvicorn.run(app, port=8082)  # GET http://127.0.0.1:8082/wp-json/wc/v3/orders (Basic ck:cs)

Serves GETs of `/wp-json/` and `/wp-json/wc/v3/`: system_status, data/currencies/current,
settings/general, products (+ variations), customers, orders (+ refunds), refunds, webhooks. Basic auth
(accepted over plain HTTP too: the fake has no TLS) or the `consumer_key`/`consumer_secret` query
fallback; no OAuth 1.0a. Pagination, filters and errors follow core. Writes: `POST webhooks` and
`DELETE webhooks/{id}?force=true` only (kept in `app.state.webhooks`, never delivered). No other
writes, reports, `tombstones` or `_fields` on nested keys.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from devhost.fakes.faults import ApiStats, FaultConfig, FaultInjector, FaultKind, FaultMiddleware, FaultResponse
from devhost.fakes.model import StoreModel
from devhost.fakes.woocommerce_api import WooApi, adapters, no_route, woo_error
from devhost.fakes.woocommerce_orders import render_order, render_refund
from devhost.fakes.woocommerce_query import CUSTOMERS, ORDERS, PRODUCTS, REFUNDS, VARIATIONS
from devhost.fakes.woocommerce_render import WooRenderer
from devhost.fakes.woocommerce_site import current_currency, general_settings, system_status, wordpress_index
from devhost.fakes.woocommerce_webhooks import add_webhook_routes

API = "/wp-json/wc/v3"


def create_fake_woocommerce(
    store: StoreModel,
    *,
    consumer_key: str,
    consumer_secret: str,
    faults: FaultConfig | None = None,
    multi_currency: bool = False,
    rateless_orders: frozenset[int] = frozenset(),
    site_url: str | None = None,
) -> FastAPI:
    """The fake as an ASGI app; `app.state.stats` is a live `ApiStats`.

    `multi_currency=True` books foreign-currency orders in the buyer's currency, as WooPayments'
    multi-currency does, with its exchange-rate meta, except on the orders in `rateless_orders` (as other
    currency plugins, which keep no rate); by default every order is in the store currency.
    """
    fault_config = faults or FaultConfig()
    stats = ApiStats()
    site = site_url or f"https://{store.shop.domain}.example"
    renderer = WooRenderer(store, site, multi_currency=multi_currency, rateless_orders=rateless_orders)
    woo = WooApi(store, renderer, site, stats, (consumer_key, consumer_secret))
    app = FastAPI(title="Fake WooCommerce REST API", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.stats = stats
    app.state.store = store
    _add_site_routes(app, woo)
    _add_catalog_routes(app, woo)
    _add_customer_routes(app, woo)
    _add_order_routes(app, woo)
    app.state.webhooks = add_webhook_routes(app, woo, API)

    @app.api_route("/wp-json/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def unknown_route(rest: str) -> Response:
        return no_route()

    app.add_middleware(
        FaultMiddleware,
        injector=FaultInjector(fault_config, stats),
        applies_to=lambda path: path.startswith("/wp-json"),
        render=lambda kind: _fault_response(kind, fault_config),
    )
    return app


def _fault_response(kind: FaultKind, config: FaultConfig) -> FaultResponse:
    """What a host or WAF in front of WordPress answers: HTML, not WooCommerce JSON."""
    if kind is FaultKind.TOO_MANY_REQUESTS:
        html = b"<html><head><title>429 Too Many Requests</title></head><body><h1>Too Many Requests</h1></body></html>"
        return FaultResponse(429, html, "text/html", (("Retry-After", str(config.retry_after_seconds)),))
    status = config.server_error_status
    page = f"<html><head><title>{status} Service Unavailable</title></head><body><h1>Error {status}</h1></body></html>"
    return FaultResponse(status, page.encode(), "text/html")


def _one(woo: WooApi, request: Request, raw_id: str, find: Callable[[int], Any], code: str,
         render: Callable[[Any], dict[str, Any]], message: str = "Invalid ID.") -> Response:
    """A single resource: auth, then the id (digits only, or there is no such route), then 404."""
    if not raw_id.isdigit():
        return no_route()
    denied = woo.denied(request, listing=False)
    if denied is not None:
        return denied
    found = find(int(raw_id))
    return woo_error(code, message, 404) if found is None else JSONResponse(render(found))


def _add_site_routes(app: FastAPI, woo: WooApi) -> None:
    @app.get("/wp-json/")
    @app.get("/wp-json")
    async def index() -> Response:
        return JSONResponse(wordpress_index(woo.store, woo.site))

    @app.get(f"{API}/system_status")
    async def status(request: Request) -> Response:
        return woo.denied(request, listing=False) or JSONResponse(system_status(woo.store, woo.site))

    @app.get(f"{API}/data/currencies/current")
    async def currency(request: Request) -> Response:
        return woo.denied(request, listing=False) or JSONResponse(current_currency(woo.store, woo.site))

    @app.get(f"{API}/settings/general")
    async def settings(request: Request) -> Response:
        return woo.denied(request, listing=True) or JSONResponse(general_settings(woo.store))


def _add_catalog_routes(app: FastAPI, woo: WooApi) -> None:
    store, renderer, adapt = woo.store, woo.renderer, adapters(woo)

    @app.get(f"{API}/products")
    async def products(request: Request) -> Response:
        return woo.page(request, ("products",), PRODUCTS, lambda: list(store.products), adapt["products"],
                        renderer.product)

    @app.get(f"{API}/products/{{product_id}}")
    async def product(product_id: str, request: Request) -> Response:
        return _one(woo, request, product_id, store.product, "woocommerce_rest_product_invalid_id", renderer.product)

    @app.get(f"{API}/products/{{product_id}}/variations")
    async def variations(product_id: str, request: Request) -> Response:
        parent = store.product(int(product_id)) if product_id.isdigit() else None
        if parent is None:
            return _one(woo, request, product_id, lambda _: None, "woocommerce_rest_product_invalid_id", dict)
        variants = list(parent.variants) if len(parent.variants) > 1 else []  # simple products have none
        return woo.page(request, ("variations", parent.id), VARIATIONS, lambda: variants, adapt["variations"],
                        lambda v: renderer.variation(parent, v))

    @app.get(f"{API}/products/{{product_id}}/variations/{{variation_id}}")
    async def variation(product_id: str, variation_id: str, request: Request) -> Response:
        def find(vid: int) -> Any:
            variant = renderer.variant_for(vid)
            parent = None if variant is None else store.product(variant.product_id)
            if variant is None or parent is None or str(parent.id) != product_id or len(parent.variants) < 2:
                return None
            return renderer.variation(parent, variant)

        return _one(woo, request, variation_id, find, "woocommerce_rest_product_variation_invalid_id", dict)



def _add_customer_routes(app: FastAPI, woo: WooApi) -> None:
    store, renderer, adapt = woo.store, woo.renderer, adapters(woo)

    @app.get(f"{API}/customers")
    async def customers(request: Request) -> Response:
        return woo.page(request, ("customers",), CUSTOMERS, lambda: list(store.customers), adapt["customers"],
                        renderer.customer)

    @app.get(f"{API}/customers/{{customer_id}}")
    async def customer(customer_id: str, request: Request) -> Response:
        return _one(woo, request, customer_id, store.customer, "woocommerce_rest_invalid_id", renderer.customer,
                    "Invalid resource ID.")


def _add_order_routes(app: FastAPI, woo: WooApi) -> None:
    store, renderer, adapt, site = woo.store, woo.renderer, adapters(woo), woo.site

    def order_json(order: Any) -> dict[str, Any]:
        return render_order(renderer, store, order, site)

    def refund_json(pair: Any) -> dict[str, Any]:
        return render_refund(renderer, pair[0], pair[1], site)

    @app.get(f"{API}/orders")
    async def orders(request: Request) -> Response:
        return woo.page(request, ("orders",), ORDERS, lambda: list(store.orders), adapt["orders"], order_json)

    @app.get(f"{API}/orders/{{order_id}}")
    async def order(order_id: str, request: Request) -> Response:
        return _one(woo, request, order_id, store.order, "woocommerce_rest_shop_order_invalid_id", order_json)

    @app.get(f"{API}/orders/{{order_id}}/refunds")
    async def order_refunds(order_id: str, request: Request) -> Response:
        parent = store.order(int(order_id)) if order_id.isdigit() else None
        if parent is None:
            return _one(woo, request, order_id, lambda _: None, "woocommerce_rest_shop_order_invalid_id", dict)
        pairs = [(parent, refund) for refund in parent.refunds]
        return woo.page(request, ("order_refunds", parent.id), REFUNDS, lambda: pairs, adapt["refunds"], refund_json)

    @app.get(f"{API}/orders/{{order_id}}/refunds/{{refund_id}}")
    async def order_refund(order_id: str, refund_id: str, request: Request) -> Response:
        parent = store.order(int(order_id)) if order_id.isdigit() else None
        by_id = {renderer.refund_id(r): (parent, r) for r in parent.refunds} if parent else {}
        return _one(woo, request, refund_id, by_id.get, "woocommerce_rest_invalid_shop_order_refund_id", refund_json)

    @app.get(f"{API}/refunds")
    async def refunds(request: Request) -> Response:
        def all_refunds() -> list[Any]:
            return [(o, r) for o in store.orders for r in o.refunds]

        return woo.page(request, ("refunds",), REFUNDS, all_refunds, adapt["refunds"], refund_json)
