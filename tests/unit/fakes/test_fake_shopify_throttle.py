"""Cost-based throttling of the fake Shopify (reference §4), on a hand-driven clock."""

from __future__ import annotations

import pytest

from devhost.fakes import ManualClock, StoreModel, ThrottleConfig, create_fake_shopify
from devhost.fakes.shopify_cost import page_multiplier
from tests.unit.fakes.fake_support import SHOPIFY_TOKEN, client_for, gql

PRODUCTS_200 = "{ products(first: 200) { nodes { id title } } }"


@pytest.mark.parametrize(("size", "multiplier"), [(1, 1), (2, 1), (10, 4), (100, 9), (250, 11)])
def test_page_multiplier_grows_logarithmically(size: int, multiplier: int) -> None:
    assert page_multiplier(size) == multiplier


async def test_cost_matches_the_reported_figure_for_a_flat_page(store: StoreModel) -> None:
    async with client_for(create_fake_shopify(store, access_token=SHOPIFY_TOKEN, clock=ManualClock())) as client:
        cost = (await gql(client, PRODUCTS_200)).json()["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 12  # products(first: 200){...} = 12 (reference §4)
    assert cost["actualQueryCost"] <= cost["requestedQueryCost"]
    assert cost["throttleStatus"] == {"maximumAvailable": 2000.0, "currentlyAvailable": 2000 - cost["actualQueryCost"],
                                      "restoreRate": 100.0}


async def test_an_empty_page_is_refunded_down_to_its_actual_cost(store: StoreModel) -> None:
    app = create_fake_shopify(store, access_token=SHOPIFY_TOKEN, clock=ManualClock())
    async with client_for(app) as client:
        reply = await gql(client, """{ orders(first: 100, query: "created_at:>='2030-01-01'") {
            nodes { id lineItems(first: 50) { nodes { id } } } } }""")
    cost = reply.json()["extensions"]["cost"]
    assert reply.json()["data"]["orders"]["nodes"] == []
    assert cost["actualQueryCost"] < cost["requestedQueryCost"]
    assert cost["throttleStatus"]["currentlyAvailable"] == 2000 - cost["actualQueryCost"]
    assert app.state.stats.points_charged == cost["actualQueryCost"]


async def test_bucket_drains_then_throttles_then_restores_at_the_restore_rate(store: StoreModel) -> None:
    clock = ManualClock()
    config = ThrottleConfig(max_available=50.0, restore_rate=10.0)
    app = create_fake_shopify(store, access_token=SHOPIFY_TOKEN, throttle=config, clock=clock)
    async with client_for(app) as client:
        charged: list[int] = []
        left = 50
        while left >= 12:  # each page is charged 12 up front, then refunded to its actual cost
            cost = (await gql(client, PRODUCTS_200)).json()["extensions"]["cost"]
            charged.append(cost["actualQueryCost"])
            left = cost["throttleStatus"]["currentlyAvailable"]
        assert left == 50 - sum(charged)

        throttled = (await gql(client, PRODUCTS_200)).json()
        assert throttled == {
            "errors": [{"message": "Throttled", "extensions": {
                "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
            "extensions": {"cost": {"requestedQueryCost": 12, "actualQueryCost": None, "throttleStatus": {
                "maximumAvailable": 50.0, "currentlyAvailable": left, "restoreRate": 10.0}}},
        }
        assert app.state.stats.throttled == 1

        clock.advance((12 - left) / 10.0)  # exactly enough points come back
        restored = (await gql(client, PRODUCTS_200)).json()
        assert "data" in restored
        clock.advance(1000)
        full = (await gql(client, "{ shop { name } }")).json()["extensions"]["cost"]["throttleStatus"]
        assert full["currentlyAvailable"] == 49  # capped at the bucket size, minus this call's point
    assert app.state.stats.points_charged == sum(charged) + restored["extensions"]["cost"]["actualQueryCost"] + 1


async def test_a_query_above_1000_points_is_rejected_before_running(store: StoreModel) -> None:
    bag = "{ shopMoney { amount } presentmentMoney { amount } }"
    heavy = f"""{{ orders(first: 250) {{ nodes {{ lineItems(first: 250) {{ nodes {{
        originalUnitPriceSet {bag} originalTotalSet {bag} discountedTotalSet {bag} totalDiscountSet {bag}
    }} }} }} }} }}"""
    app = create_fake_shopify(store, access_token=SHOPIFY_TOKEN, clock=ManualClock())
    async with client_for(app) as client:
        body = (await gql(client, heavy)).json()
        after = (await gql(client, "{ shop { name } }")).json()["extensions"]["cost"]["throttleStatus"]
    error = body["errors"][0]
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED" and error["extensions"]["maxCost"] == 1000
    assert error["message"].startswith(f"Query cost is {error['extensions']['cost']}, which exceeds")
    assert after["currentlyAvailable"] == 1999  # nothing was charged for the rejected query
    assert app.state.stats.rejected_max_cost == 1


async def test_throttling_can_answer_429_with_retry_after(store: StoreModel) -> None:
    config = ThrottleConfig(max_available=10.0, restore_rate=2.0, throttled_status=429)
    async with client_for(create_fake_shopify(store, access_token=SHOPIFY_TOKEN, throttle=config,
                                              clock=ManualClock())) as client:
        reply = await gql(client, PRODUCTS_200)
    assert reply.status_code == 429
    assert reply.headers["Retry-After"] == "1"
    assert reply.json()["errors"][0]["extensions"]["code"] == "THROTTLED"


async def test_mutations_cost_ten_points(store: StoreModel) -> None:
    inner = "{ customers { edges { node { id } } } }"
    query = f'mutation {{ bulkOperationRunQuery(query: "{inner}") {{ userErrors {{ code }} }} }}'
    async with client_for(create_fake_shopify(store, access_token=SHOPIFY_TOKEN, clock=ManualClock())) as client:
        cost = (await gql(client, query)).json()["extensions"]["cost"]
    assert cost["requestedQueryCost"] == cost["actualQueryCost"] == 10
