"""Plumbing shared by the WooCommerce fake's routes: auth, paging, listing cache, adapters."""

from __future__ import annotations

import base64
import binascii
import hmac
import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from devhost.fakes.faults import ApiStats
from devhost.fakes.model import StoreModel
from devhost.fakes.woocommerce_query import CUSTOMERS, Adapter, CollectionSpec, WooParamError, parse_list_params, select
from devhost.fakes.woocommerce_render import WooRenderer, customer_role, woo_order_status, woo_product_status

_ROLES = ("all", "administrator", "editor", "author", "contributor", "subscriber", "customer", "shop_manager")


def woo_error(code: str, message: str, status: int) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "data": {"status": status}}, status_code=status)


def no_route() -> JSONResponse:
    return woo_error("rest_no_route", "No route was found matching the URL and request method.", 404)


class WooApi:
    def __init__(self, store: StoreModel, renderer: WooRenderer, site: str, stats: ApiStats,
                 credentials: tuple[str, str]) -> None:
        self.store, self.renderer, self.site, self.stats = store, renderer, site, stats
        self._key, self._secret = credentials
        self._cache: OrderedDict[tuple[Any, ...], list[Any]] = OrderedDict()

    def denied(self, request: Request, *, listing: bool) -> JSONResponse | None:
        """None when the request carries our key; otherwise Woo's 401 (reference §2, core auth)."""
        key, secret = request.query_params.get("consumer_key"), request.query_params.get("consumer_secret")
        if not (key and secret):
            key, secret = _basic_credentials(request.headers.get("authorization", ""))
        if key and secret and hmac.compare_digest(key.encode(), self._key.encode()):
            if hmac.compare_digest(secret.encode(), self._secret.encode()):
                return None
            self.stats.auth_failures += 1
            return woo_error("woocommerce_rest_authentication_error", "Consumer secret is invalid.", 401)
        # Unknown or missing key: core authenticates nobody, then the permission check refuses.
        self.stats.auth_failures += 1
        message = "Sorry, you cannot list resources." if listing else "Sorry, you cannot view this resource."
        return woo_error("woocommerce_rest_cannot_view", message, 401)

    def page(self, request: Request, name: tuple[Any, ...], spec: CollectionSpec, items: Callable[[], list[Any]],
             adapter: Adapter, render: Callable[[Any], dict[str, Any]]) -> Response:
        denied = self.denied(request, listing=True)
        if denied is not None:
            return denied
        try:
            params = parse_list_params(_flatten(request), spec, self.store.shop.zone)
        except WooParamError as exc:
            return JSONResponse(exc.body(), status_code=400)
        if spec is CUSTOMERS:
            role = request.query_params.get("role", "customer")
            if role not in _ROLES:
                problem = ("rest_not_in_enum", f"role is not one of {', '.join(_ROLES)}.")
                return JSONResponse(WooParamError({"role": problem}).body(), status_code=400)
            params = replace(params, status=() if role == "all" else (role,))
        chosen = self._selected((*name, params.filter_key()), lambda: select(items(), params, adapter))
        pages = math.ceil(len(chosen) / params.per_page)
        start = params.offset if params.offset is not None else (params.page - 1) * params.per_page
        body = [_trim(render(item), params.fields) for item in chosen[start : start + params.per_page]]
        headers = {"X-WP-Total": str(len(chosen)), "X-WP-TotalPages": str(pages)}
        link = _link_header(request, params.page, pages)
        if link:
            headers["Link"] = link
        return JSONResponse(body, headers=headers)

    def _selected(self, key: tuple[Any, ...], compute: Callable[[], list[Any]]) -> list[Any]:
        """Filtered listings cached by their filters, so walking 2,000 pages filters once."""
        if key not in self._cache:
            self._cache[key] = compute()
            if len(self._cache) > 16:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        return self._cache[key]


def _flatten(request: Request) -> dict[str, str]:
    """Query parameters as PHP reads them: a repeated plain key keeps its last value; `key[]`
    repeats form a list (joined with commas, which core also accepts)."""
    query = request.query_params
    flat = dict(query)
    for key in {k for k in query if k.endswith("[]")}:
        flat[key[:-2]] = ",".join(query.getlist(key))
    return flat


def _basic_credentials(header: str) -> tuple[str | None, str | None]:
    if not header.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    key, _, secret = decoded.partition(":")
    return key, secret


def _link_header(request: Request, page: int, pages: int) -> str | None:
    """Only `prev`/`next`, like the current core controller (no `first`/`last`)."""
    base = request.url.remove_query_params(["consumer_key", "consumer_secret"])
    links = []
    if page > 1 and pages > 0:
        links.append(f'<{base.include_query_params(page=min(page - 1, pages))}>; rel="prev"')
    if pages > page:
        links.append(f'<{base.include_query_params(page=page + 1)}>; rel="next"')
    return ", ".join(links) or None


def _trim(item: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k in fields} if fields else item


def adapters(woo: WooApi) -> dict[str, Adapter]:
    r = woo.renderer
    return {
        "orders": Adapter(
            woo_id=lambda o: o.id, created=lambda o: o.created_at, modified=lambda o: o.updated_at,
            status=woo_order_status, sort_values={"date": lambda o: o.created_at, "modified": lambda o: o.updated_at},
            customer=lambda o: o.customer_id or 0, text=lambda o: f"{o.number} {o.email}"),
        "products": Adapter(
            woo_id=lambda p: p.id, created=lambda p: p.created_at, modified=lambda p: p.updated_at,
            status=woo_product_status,
            sort_values={"date": lambda p: p.created_at, "modified": lambda p: p.updated_at,
                         "title": lambda p: p.title, "slug": lambda p: p.handle,
                         "price": lambda p: min(v.price_cents for v in p.variants), "popularity": r.units_sold},
            text=lambda p: " ".join([p.title, *(v.sku or "" for v in p.variants)])),
        "variations": Adapter(
            woo_id=lambda v: r.variation_id(v), created=lambda v: v.created_at, modified=lambda v: v.updated_at,
            sort_values={"date": lambda v: v.created_at, "modified": lambda v: v.updated_at}),
        "customers": Adapter(
            woo_id=lambda c: c.id, created=lambda c: c.created_at, modified=lambda c: c.updated_at,
            status=customer_role,
            sort_values={"name": lambda c: f"{c.first_name} {c.last_name}", "registered_date": lambda c: c.created_at},
            text=lambda c: f"{c.first_name} {c.last_name} {c.email}"),
        "refunds": Adapter(
            woo_id=lambda pair: r.refund_id(pair[1]), created=lambda pair: pair[1].created_at,
            modified=lambda pair: pair[1].created_at, sort_values={"date": lambda pair: pair[1].created_at}),
    }
