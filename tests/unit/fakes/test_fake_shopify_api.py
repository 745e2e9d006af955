"""The fake Shopify Admin GraphQL API: auth, shapes (reference §7), pagination and search (§5)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from devhost.fakes import StoreModel, create_fake_shopify
from devhost.fakes.shopify_paging import shopify_visible
from tests.unit.fakes.fake_support import GRAPHQL, SHOPIFY_TOKEN, client_for, gql

ORDER_NODE = """
  id legacyResourceId name createdAt processedAt updatedAt cancelledAt cancelReason test
  displayFinancialStatus currencyCode presentmentCurrencyCode
  totalPriceSet { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }
  totalRefundedSet { shopMoney { amount } }
  customer { id }
  lineItems(first: 10) { nodes { id sku quantity currentQuantity
    originalUnitPriceSet { shopMoney { amount } } discountedTotalSet { shopMoney { amount } }
    discountAllocations { allocatedAmountSet { shopMoney { amount } } }
    variant { id inventoryItem { unitCost { amount currencyCode } } } } }
  refunds { id createdAt totalRefundedSet { shopMoney { amount } }
    refundLineItems(first: 10) { nodes { quantity restockType lineItem { id } subtotalSet { shopMoney { amount } } } }
    refundShippingLines(first: 3) { nodes { subtotalAmountSet { shopMoney { amount } } } }
    transactions(first: 2) { nodes { kind status amountSet { shopMoney { amount } } } } }
"""
PAGE = """query Page($first: Int!, $after: String, $query: String, $sort: OrderSortKeys) {
  orders(first: $first, after: $after, query: $query, sortKey: $sort) {
    edges { cursor node { id updatedAt test } } nodes { id } pageInfo { hasNextPage endCursor } } }"""


@pytest.fixture
async def client(store: StoreModel) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(create_fake_shopify(store, access_token=SHOPIFY_TOKEN)) as c:
        yield c


async def walk(client: httpx.AsyncClient, query: str | None, *, first: int = 50) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        reply = (await gql(client, PAGE, {"first": first, "after": after, "query": query, "sort": "UPDATED_AT"})).json()
        page = reply["data"]["orders"]
        assert [e["node"]["id"] for e in page["edges"]] == [n["id"] for n in page["nodes"]]
        nodes.extend(e["node"] for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        after = page["pageInfo"]["endCursor"]


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_shop_reports_name_time_zone_and_currency(client: httpx.AsyncClient, store: StoreModel) -> None:
    reply = await gql(client, "{ shop { name ianaTimezone currencyCode myshopifyDomain } }")
    assert reply.status_code == 200
    assert reply.headers["X-Shopify-API-Version"] == "2026-10"
    assert reply.json()["data"]["shop"] == {
        "name": store.shop.name, "ianaTimezone": "America/New_York", "currencyCode": "USD",
        "myshopifyDomain": f"{store.shop.domain}.myshopify.com",
    }


@pytest.mark.parametrize("token", ["", "shpat_wrong"])
async def test_bad_token_is_401_with_shopifys_error_shape(client: httpx.AsyncClient, token: str) -> None:
    reply = await gql(client, "{ shop { name } }", token=token)
    assert reply.status_code == 401
    assert reply.json() == {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}


async def test_unknown_version_is_404_and_retired_versions_fall_forward(client: httpx.AsyncClient) -> None:
    headers = {"X-Shopify-Access-Token": SHOPIFY_TOKEN}
    missing = await client.post("/admin/api/latest-ish/graphql.json", json={"query": "{ shop { name } }"},
                                headers=headers)
    assert missing.status_code == 404
    old = await client.post("/admin/api/2024-01/graphql.json", json={"query": "{ shop { name } }"}, headers=headers)
    assert old.status_code == 200 and old.headers["X-Shopify-API-Version"] == "2026-01"
    newer = await client.post("/admin/api/2027-01/graphql.json", json={"query": "{ shop { name } }"}, headers=headers)
    assert newer.status_code == 404  # newer than the fake's api_version


async def test_order_fields_have_shopifys_shapes(client: httpx.AsyncClient, store: StoreModel) -> None:
    order = next(o for o in store.orders if o.refunds and o.presentment_currency != "USD" and shopify_visible(o))
    gid = f"gid://shopify/Order/{5_900_000_000_000 + order.id}"
    node = (await gql(client, f"query($id: ID!) {{ order(id: $id) {{ {ORDER_NODE} }} }}", {"id": gid})).json()
    data = node["data"]["order"]
    assert data["id"] == gid and data["legacyResourceId"] == str(5_900_000_000_000 + order.id)
    assert data["name"] == f"#{order.number}"
    money = data["totalPriceSet"]
    assert isinstance(money["shopMoney"]["amount"], str)
    assert Decimal(money["shopMoney"]["amount"]) == Decimal(order.total_cents) / 100
    assert money["presentmentMoney"]["currencyCode"] == order.presentment_currency
    assert Decimal(money["presentmentMoney"]["amount"]) != Decimal(money["shopMoney"]["amount"])
    assert data["displayFinancialStatus"] in ("REFUNDED", "PARTIALLY_REFUNDED")
    assert isinstance(data["refunds"], list) and len(data["refunds"]) == len(order.refunds)
    refund = data["refunds"][0]
    assert refund["refundLineItems"]["nodes"][0]["lineItem"]["id"].startswith("gid://shopify/LineItem/")
    assert refund["transactions"]["nodes"][0]["kind"] == "REFUND"
    assert _ts(refund["createdAt"]) > _ts(data["createdAt"])
    assert data["updatedAt"].endswith("Z")
    assert data["lineItems"]["nodes"][0]["variant"]["id"].startswith("gid://shopify/ProductVariant/")


async def test_amounts_are_decimal_strings_without_trailing_zeros(client: httpx.AsyncClient,
                                                                  store: StoreModel) -> None:
    reply = await gql(client, "{ products(first: 250) { nodes { variants(first: 50) { nodes { price } } } } }")
    prices = [v["price"] for p in reply.json()["data"]["products"]["nodes"] for v in p["variants"]["nodes"]]
    assert len(prices) == len(store.variants)
    assert any(p.endswith(".0") for p in prices) or any(len(p.split(".")[1]) == 1 for p in prices)
    assert not any(p.endswith("0") and not p.endswith(".0") for p in prices)


async def test_guest_orders_have_no_customer(client: httpx.AsyncClient, store: StoreModel) -> None:
    guest = next(o for o in store.orders if o.customer_id is None and shopify_visible(o))
    gid = f"gid://shopify/Order/{5_900_000_000_000 + guest.id}"
    reply = await gql(client, "query($id: ID!) { order(id: $id) { customer { id } } }", {"id": gid})
    assert reply.json()["data"]["order"] == {"customer": None}


async def test_paging_returns_every_visible_order_exactly_once_in_update_order(
    client: httpx.AsyncClient, store: StoreModel
) -> None:
    nodes = await walk(client, None, first=97)
    ids = [n["id"] for n in nodes]
    assert len(ids) == len(set(ids)) == sum(1 for o in store.orders if shopify_visible(o))
    stamps = [_ts(n["updatedAt"]) for n in nodes]
    assert stamps == sorted(stamps)
    deleted = {f"gid://shopify/Order/{5_900_000_000_000 + o.id}" for o in store.orders if o.deleted}
    assert deleted and not deleted & set(ids)


async def test_updated_at_filter_returns_exactly_the_changed_orders(client: httpx.AsyncClient,
                                                                    store: StoreModel) -> None:
    watermark = store.orders[len(store.orders) // 2].updated_at.replace(microsecond=0)
    nodes = await walk(client, f"updated_at:>='{watermark.isoformat().replace('+00:00', 'Z')}'")
    expected = {o.id for o in store.orders if shopify_visible(o) and o.updated_at >= watermark}
    assert {int(n["id"].rsplit("/", 1)[1]) - 5_900_000_000_000 for n in nodes} == expected


async def test_created_at_and_test_filters_combine(client: httpx.AsyncClient, store: StoreModel) -> None:
    since = datetime(2026, 1, 1, tzinfo=UTC)
    nodes = await walk(client, "created_at:>='2026-01-01T00:00:00Z' test:true")
    expected = {o.id for o in store.orders if shopify_visible(o) and o.test and o.created_at >= since}
    assert expected and {int(n["id"].rsplit("/", 1)[1]) - 5_900_000_000_000 for n in nodes} == expected


async def test_unquoted_timestamps_and_unknown_fields_are_ignored_with_a_warning(
    client: httpx.AsyncClient, store: StoreModel
) -> None:
    reply = await gql(client, PAGE, {"first": 5, "query": "updated_at:>=2026-11-01T00:00:00Z colour:red"})
    body = reply.json()
    warnings = body["extensions"]["search"][0]["warnings"]
    assert {w["field"] for w in warnings} == {"updated_at", "colour"}
    assert body["data"]["orders"]["pageInfo"]["hasNextPage"]  # nothing was filtered


async def test_page_size_above_250_is_rejected(client: httpx.AsyncClient) -> None:
    body = (await gql(client, "{ orders(first: 251) { nodes { id } } }")).json()
    assert "data" not in body
    assert "250" in body["errors"][0]["message"] and body["errors"][0]["path"] == ["orders"]


async def test_connections_need_first_or_last(client: httpx.AsyncClient) -> None:
    body = (await gql(client, "{ customers { nodes { id } } }")).json()
    assert body["errors"][0]["message"] == "you must provide one of first or last"


async def test_a_garbage_cursor_is_an_error(client: httpx.AsyncClient) -> None:
    body = (await gql(client, PAGE, {"first": 5, "after": "not-a-cursor"})).json()
    assert body["errors"][0]["message"] == "Invalid cursor."


async def test_last_and_before_page_backwards(client: httpx.AsyncClient) -> None:
    query = """query($before: String) { customers(last: 3, before: $before, sortKey: ID) {
        edges { cursor node { id } } pageInfo { hasPreviousPage startCursor } } }"""
    tail = (await gql(client, query, {"before": None})).json()["data"]["customers"]
    before = (await gql(client, query, {"before": tail["pageInfo"]["startCursor"]})).json()["data"]["customers"]
    ids = [int(e["node"]["id"].rsplit("/", 1)[1]) for e in before["edges"] + tail["edges"]]
    assert ids == sorted(ids) and len(set(ids)) == 6 and before["pageInfo"]["hasPreviousPage"]


async def test_product_status_filter_and_variant_cost(client: httpx.AsyncClient, store: StoreModel) -> None:
    query = """{ products(first: 100, query: "status:draft,archived") { nodes { status
        variants(first: 20) { nodes { sku inventoryQuantity inventoryItem { unitCost { amount } } } } } } }"""
    nodes = (await gql(client, query)).json()["data"]["products"]["nodes"]
    assert {n["status"] for n in nodes} == {"DRAFT", "ARCHIVED"}
    assert len(nodes) == sum(1 for p in store.products if p.status != "ACTIVE")


async def test_nested_variants_page_with_cursors(client: httpx.AsyncClient, store: StoreModel) -> None:
    product = max(store.products, key=lambda p: len(p.variants))
    gid = f"gid://shopify/Product/{8_100_000_000_000 + product.id}"
    query = """query($id: ID!, $after: String) { product(id: $id) {
        variants(first: 1, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } } }"""
    seen, after = [], None
    while True:
        page = (await gql(client, query, {"id": gid, "after": after})).json()["data"]["product"]["variants"]
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == len(product.variants)


async def test_invalid_queries_fail_validation_without_data(client: httpx.AsyncClient) -> None:
    body = (await gql(client, "{ orders(first: 1) { nodes { noSuchField } } }")).json()
    assert body["errors"] and "data" not in body


async def test_raw_graphql_bodies_are_accepted(client: httpx.AsyncClient) -> None:
    reply = await client.post(GRAPHQL, content="{ shop { currencyCode } }",
                              headers={"X-Shopify-Access-Token": SHOPIFY_TOKEN, "Content-Type": "application/graphql"})
    assert reply.json()["data"]["shop"]["currencyCode"] == "USD"
