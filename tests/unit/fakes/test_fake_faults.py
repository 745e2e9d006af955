"""Injected faults in front of both fakes: 5xx, dropped connections, 429 and THROTTLED storms."""

from __future__ import annotations

import httpx
import pytest

from devhost.fakes import (
    BulkConfig,
    FaultConfig,
    ManualClock,
    StoreModel,
    ThrottleConfig,
    create_fake_shopify,
    create_fake_woocommerce,
)
from devhost.fakes.faults import ApiStats, FaultInjector
from tests.unit.fakes.fake_support import SHOPIFY_TOKEN, WOO_KEY, WOO_SECRET, client_for, gql

SHOP = "{ shop { name } }"


async def test_shopify_nth_request_gets_a_server_error(store: StoreModel) -> None:
    app = create_fake_shopify(store, access_token=SHOPIFY_TOKEN, faults=FaultConfig(server_error_on=(2,)))
    async with client_for(app) as client:
        statuses = [(await gql(client, SHOP)).status_code for _ in range(3)]
        failed = await gql(client, SHOP)
    assert statuses == [200, 503, 200] and failed.status_code == 200
    assert app.state.stats.faults["server_error"] == 1 and app.state.stats.requests == 4


async def test_shopify_server_error_body_is_json(store: StoreModel) -> None:
    faults = FaultConfig(server_error_on=(1,), server_error_status=500)
    async with client_for(create_fake_shopify(store, access_token=SHOPIFY_TOKEN, faults=faults)) as client:
        reply = await gql(client, SHOP)
    assert reply.status_code == 500
    assert reply.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"


async def test_a_reset_drops_the_connection(store: StoreModel) -> None:
    app = create_fake_shopify(store, access_token=SHOPIFY_TOKEN, faults=FaultConfig(reset_on=(1,)))
    async with client_for(app) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await gql(client, SHOP)
        assert (await gql(client, SHOP)).status_code == 200


async def test_429_carries_retry_after(store: StoreModel) -> None:
    faults = FaultConfig(too_many_on=(1,), retry_after_seconds=7)
    async with client_for(create_fake_shopify(store, access_token=SHOPIFY_TOKEN, faults=faults)) as client:
        reply = await gql(client, SHOP)
    assert reply.status_code == 429 and reply.headers["Retry-After"] == "7"


async def test_a_throttle_storm_empties_the_bucket_until_it_refills(store: StoreModel) -> None:
    clock = ManualClock()
    faults = FaultConfig(drain_bucket_on=(2,))
    throttle = ThrottleConfig(max_available=100.0, restore_rate=5.0)
    app = create_fake_shopify(store, access_token=SHOPIFY_TOKEN, faults=faults, throttle=throttle, clock=clock)
    query = "{ customers(first: 10) { nodes { id } } }"  # costs 6 up front
    async with client_for(app) as client:
        assert "data" in (await gql(client, query)).json()
        storm = [(await gql(client, query)).json() for _ in range(3)]
        clock.advance(1.2)
        after = (await gql(client, query)).json()
    assert all(reply["errors"][0]["extensions"]["code"] == "THROTTLED" for reply in storm)
    assert "data" in after and app.state.stats.throttled == 3


def test_rate_faults_are_reproducible_from_the_seed() -> None:
    def failing(seed: int) -> list[int]:
        injector = FaultInjector(FaultConfig(server_error_rate=0.2, seed=seed), ApiStats())
        return [n for n in range(1, 201) if injector.next_request() is not None]

    assert failing(1) == failing(1)
    assert failing(1) != failing(2)
    assert 20 < len(failing(1)) < 60


async def test_bulk_downloads_are_not_faulted(store: StoreModel) -> None:
    clock = ManualClock()
    faults = FaultConfig(server_error_rate=1.0)  # every API call fails...
    app = create_fake_shopify(store, access_token=SHOPIFY_TOKEN, faults=faults, clock=clock,
                              bulk=BulkConfig(created_seconds=0, running_seconds=0))
    async with client_for(app) as client:
        assert (await gql(client, SHOP)).status_code == 503
        download = await client.get("/bulk/1.jsonl")
    assert download.status_code == 404  # ...but the storage URL answers for itself


async def test_woocommerce_faults_look_like_a_host_in_front(store: StoreModel) -> None:
    faults = FaultConfig(server_error_on=(1,), too_many_on=(2,), reset_on=(3,))
    app = create_fake_woocommerce(store, consumer_key=WOO_KEY, consumer_secret=WOO_SECRET, faults=faults)
    async with client_for(app, auth=(WOO_KEY, WOO_SECRET)) as client:
        broken = await client.get("/wp-json/wc/v3/orders")
        busy = await client.get("/wp-json/wc/v3/orders")
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/wp-json/wc/v3/orders")
        fine = await client.get("/wp-json/wc/v3/orders")
    assert broken.status_code == 503 and broken.headers["content-type"].startswith("text/html")
    assert busy.status_code == 429 and busy.headers["Retry-After"] == "2"
    assert fine.status_code == 200
    assert dict(app.state.stats.faults) == {"server_error": 1, "too_many_requests": 1, "reset": 1}
