"""The fake WooCommerce REST v3 API: auth, paging headers, filters and shapes (reference §2 to §6)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from devhost.fakes import StoreModel, create_fake_woocommerce
from devhost.fakes.woocommerce_render import customer_role, woo_order_status
from tests.unit.fakes.fake_support import WOO_KEY, WOO_SECRET, client_for

API = "/wp-json/wc/v3"
NAIVE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")


@pytest.fixture
async def client(store: StoreModel) -> AsyncIterator[httpx.AsyncClient]:
    app = create_fake_woocommerce(store, consumer_key=WOO_KEY, consumer_secret=WOO_SECRET)
    async with client_for(app, auth=(WOO_KEY, WOO_SECRET)) as c:
        yield c


async def walk(client: httpx.AsyncClient, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Follow `Link: rel="next"` from page 1, as a client should."""
    rows: list[dict[str, Any]] = []
    reply = await client.get(f"{API}/{path}", params=params)
    while True:
        assert reply.status_code == 200, reply.text
        rows += reply.json()
        if 'rel="next"' not in reply.headers.get("Link", ""):
            return rows
        reply = await client.get(re.findall(r'<([^>]+)>; rel="next"', reply.headers["Link"])[0])


async def test_wordpress_index_gives_name_and_time_zone(client: httpx.AsyncClient, store: StoreModel) -> None:
    index = (await client.get("/wp-json/", auth=None)).json()
    assert index["name"] == store.shop.name
    assert index["timezone_string"] == "America/New_York" and index["gmt_offset"] in (-5, -4)
    currency = (await client.get(f"{API}/data/currencies/current")).json()
    assert currency["code"] == "USD" and currency["symbol"] == "$"
    status = (await client.get(f"{API}/system_status")).json()
    assert status["environment"]["default_timezone"] == "UTC"  # PHP's zone, not the store's
    settings = {s["id"]: s["value"] for s in (await client.get(f"{API}/settings/general")).json()}
    assert settings["woocommerce_currency"] == "USD"


async def test_missing_or_unknown_keys_cannot_view(client: httpx.AsyncClient) -> None:
    for auth in (None, ("ck_unknown", WOO_SECRET)):
        reply = await client.get(f"{API}/orders", auth=auth)
        assert reply.status_code == 401
        assert reply.json() == {"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources.",
                                "data": {"status": 401}}


async def test_a_wrong_secret_is_an_authentication_error(client: httpx.AsyncClient) -> None:
    reply = await client.get(f"{API}/orders/1", auth=(WOO_KEY, "cs_wrong"))
    assert reply.status_code == 401
    assert reply.json()["code"] == "woocommerce_rest_authentication_error"
    assert reply.json()["message"] == "Consumer secret is invalid."


async def test_query_string_keys_are_accepted(client: httpx.AsyncClient) -> None:
    reply = await client.get(f"{API}/orders", params={"consumer_key": WOO_KEY, "consumer_secret": WOO_SECRET,
                                                      "per_page": 1}, auth=None)
    assert reply.status_code == 200
    assert "consumer_secret" not in reply.headers["Link"]  # never echo secrets into links


async def test_walking_orders_returns_each_non_trash_order_once(client: httpx.AsyncClient, store: StoreModel) -> None:
    rows = await walk(client, "orders", {"per_page": 100, "orderby": "id", "order": "asc"})
    ids = [row["id"] for row in rows]
    assert ids == sorted(set(ids))
    assert set(ids) == {o.id for o in store.orders if not o.deleted}


async def test_paging_headers_and_links_follow_core(client: httpx.AsyncClient, store: StoreModel) -> None:
    visible = sum(1 for o in store.orders if not o.deleted)
    reply = await client.get(f"{API}/orders", params={"per_page": 50, "page": 2})
    assert reply.headers["X-WP-Total"] == str(visible)
    assert reply.headers["X-WP-TotalPages"] == str(-(-visible // 50))
    rels = re.findall(r'rel="(\w+)"', reply.headers["Link"])
    assert rels == ["prev", "next"]
    beyond = await client.get(f"{API}/orders", params={"per_page": 50, "page": 99})
    assert beyond.status_code == 200 and beyond.json() == []
    assert re.findall(r'rel="(\w+)"', beyond.headers["Link"]) == ["prev"]
    assert f"page={-(-visible // 50)}" in beyond.headers["Link"]  # prev clamps to the last page


@pytest.mark.parametrize(("params", "name"), [
    ({"per_page": 101}, "per_page"), ({"orderby": "total"}, "orderby"), ({"page": 0}, "page"),
    ({"modified_after": "yesterday"}, "modified_after"), ({"status": "shipped"}, "status"),
])
async def test_invalid_parameters_are_rest_invalid_param(client: httpx.AsyncClient, params: dict[str, Any],
                                                         name: str) -> None:
    reply = await client.get(f"{API}/orders", params=params)
    body = reply.json()
    assert reply.status_code == 400
    assert body["code"] == "rest_invalid_param" and body["message"] == f"Invalid parameter(s): {name}"
    assert body["data"]["status"] == 400 and name in body["data"]["params"] and name in body["data"]["details"]


async def test_modified_after_in_gmt_is_strict_and_sorted(client: httpx.AsyncClient, store: StoreModel) -> None:
    mark = store.orders[len(store.orders) // 2].updated_at
    params = {"modified_after": mark.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "dates_are_gmt": "true",
              "orderby": "modified", "order": "asc", "per_page": 100}
    rows = await walk(client, "orders", params)
    assert {row["id"] for row in rows} == {o.id for o in store.orders if not o.deleted and o.updated_at > mark}
    stamps = [row["date_modified_gmt"] for row in rows]
    assert stamps == sorted(stamps)


async def test_dates_without_gmt_flag_are_site_time(client: httpx.AsyncClient, store: StoreModel) -> None:
    mark = store.orders[len(store.orders) // 2].updated_at
    local = mark.astimezone(store.shop.zone).strftime("%Y-%m-%dT%H:%M:%S")
    gmt = mark.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    as_local = await client.get(f"{API}/orders", params={"modified_after": local})
    as_gmt = await client.get(f"{API}/orders", params={"modified_after": gmt, "dates_are_gmt": "true"})
    assert as_local.headers["X-WP-Total"] == as_gmt.headers["X-WP-Total"]


async def test_status_filter_any_hides_trash_only(client: httpx.AsyncClient, store: StoreModel) -> None:
    statuses = {woo_order_status(o) for o in store.orders}
    assert statuses == {"pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed",
                        "checkout-draft", "trash"}
    trash = (await client.get(f"{API}/orders", params={"status": "trash"})).json()
    assert trash and all(row["status"] == "trash" for row in trash)
    two = await walk(client, "orders", {"status[]": ["failed", "cancelled"], "per_page": 100})
    assert {row["status"] for row in two} == {"failed", "cancelled"}


async def test_order_shape_follows_woo_conventions(client: httpx.AsyncClient, store: StoreModel) -> None:
    order = next(o for o in store.orders if o.refunds and not o.deleted)
    row = (await client.get(f"{API}/orders/{order.id}")).json()
    assert row["total"] == f"{Decimal(order.total_cents) / 100:.2f}" and isinstance(row["discount_total"], str)
    assert NAIVE.match(row["date_created"]) and NAIVE.match(row["date_created_gmt"])
    created_gmt = datetime.fromisoformat(row["date_created_gmt"]).replace(tzinfo=UTC)
    created_local = datetime.fromisoformat(row["date_created"])
    assert created_gmt.astimezone(store.shop.zone).replace(tzinfo=None) == created_local
    assert row["customer_id"] == (order.customer_id or 0)
    line = row["line_items"][0]
    assert isinstance(line["price"], float) and isinstance(line["total"], str)
    assert line["price"] == pytest.approx(float(line["total"]) / line["quantity"])
    assert [r["total"].startswith("-") for r in row["refunds"]] == [True] * len(order.refunds)


async def test_refunds_have_positive_amounts_and_negative_lines(client: httpx.AsyncClient, store: StoreModel) -> None:
    order = next(o for o in store.orders if o.refunds and not o.deleted)
    rows = (await client.get(f"{API}/orders/{order.id}/refunds")).json()
    assert sorted(Decimal(r["amount"]) * 100 for r in rows) == sorted(r.total_cents for r in order.refunds)
    line_ids = {li.id for li in order.line_items}
    for row in rows:
        assert Decimal(row["amount"]) > 0 and NAIVE.match(row["date_created_gmt"])
        for item in row["line_items"]:
            assert item["quantity"] < 0 and item["total"].startswith("-")
            assert int(item["meta_data"][0]["value"]) in line_ids
    everything = await walk(client, "refunds", {"per_page": 100})
    assert len(everything) == sum(len(o.refunds) for o in store.orders)
    assert sum(Decimal(r["amount"]) for r in everything) * 100 == sum(r.total_cents for r in store.refunds())


async def test_products_and_variations(client: httpx.AsyncClient, store: StoreModel) -> None:
    products = await walk(client, "products", {"per_page": 100})
    assert len(products) == len(store.products)
    assert {p["status"] for p in products} == {"publish", "draft", "private"}
    variable = next(p for p in products if p["type"] == "variable")
    variations = await walk(client, f"products/{variable['id']}/variations", {"per_page": 1})
    assert sorted(v["id"] for v in variations) == sorted(variable["variations"])
    one = (await client.get(f"{API}/products/{variable['id']}/variations/{variations[0]['id']}")).json()
    assert one["id"] == variations[0]["id"]
    simple = next(p for p in products if p["type"] == "simple")
    assert simple["variations"] == [] and isinstance(simple["price"], str)
    costs = [m for p in products for m in p["meta_data"] if m["key"] == "_wc_cog_cost"]
    assert costs and all(isinstance(m["value"], str) for m in costs)


async def test_customers_need_role_all_to_include_other_roles(client: httpx.AsyncClient, store: StoreModel) -> None:
    default = await walk(client, "customers", {"per_page": 100})
    everyone = await walk(client, "customers", {"per_page": 100, "role": "all", "orderby": "id", "order": "asc"})
    assert len(everyone) == len(store.customers)
    assert len(default) == sum(1 for c in store.customers if customer_role(c) == "customer") < len(everyone)
    # Customers have no modified_after: the parameter is ignored, as in core.
    ignored = await client.get(f"{API}/customers", params={"role": "all", "modified_after": "2099-01-01T00:00:00"})
    assert ignored.headers["X-WP-Total"] == str(len(store.customers))


async def test_multi_currency_books_orders_in_the_buyers_currency(store: StoreModel) -> None:
    app = create_fake_woocommerce(store, consumer_key=WOO_KEY, consumer_secret=WOO_SECRET, multi_currency=True)
    foreign = next(o for o in store.orders if o.presentment_currency != "USD" and not o.deleted)
    async with client_for(app, auth=(WOO_KEY, WOO_SECRET)) as client:
        row = (await client.get(f"{API}/orders/{foreign.id}")).json()
    assert row["currency"] == foreign.presentment_currency
    assert Decimal(row["total"]) * 100 == foreign.to_presentment(foreign.total_cents)


async def test_unknown_routes_and_ids(client: httpx.AsyncClient) -> None:
    route = await client.get(f"{API}/coupons")
    assert route.status_code == 404 and route.json()["code"] == "rest_no_route"
    order = await client.get(f"{API}/orders/999999")
    assert order.status_code == 404 and order.json()["code"] == "woocommerce_rest_shop_order_invalid_id"
    customer = await client.get(f"{API}/customers/999999")
    assert customer.json()["code"] == "woocommerce_rest_invalid_id"
    writes = await client.post(f"{API}/orders", json={})
    assert writes.status_code == 404 and writes.json()["code"] == "rest_no_route"


async def test_fields_parameter_trims_rows(client: httpx.AsyncClient) -> None:
    rows = (await client.get(f"{API}/orders", params={"_fields": "id,date_modified_gmt", "per_page": 3})).json()
    assert all(set(row) == {"id", "date_modified_gmt"} for row in rows)


async def test_after_and_before_filter_creation_dates(client: httpx.AsyncClient, store: StoreModel) -> None:
    start = store.as_of - timedelta(days=30)
    params = {"after": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "dates_are_gmt": "1", "per_page": 100}
    rows = await walk(client, "orders", params)
    assert {r["id"] for r in rows} == {o.id for o in store.orders if not o.deleted and o.created_at > start}


async def test_guest_orders_have_customer_zero(client: httpx.AsyncClient, store: StoreModel) -> None:
    guest = next(o for o in store.orders if o.customer_id is None and not o.deleted)
    row = (await client.get(f"{API}/orders/{guest.id}")).json()
    assert row["customer_id"] == 0 and row["billing"]["email"] == guest.email
