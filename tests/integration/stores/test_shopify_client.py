"""The Shopify client against the fake Shopify Admin API: verify, paging, incremental reads, throttling, faults."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devhost.fakes.faults import FaultConfig
from devhost.fakes.model import StoreModel
from devhost.fakes.shopify_cost import ThrottleConfig
from shared.stores.platform import InvalidCredentials, PlatformUnavailable
from shared.stores.records import ENTITIES, Entity, OrderRecord
from shared.stores.shopify import RetryPolicy, queries
from tests.integration.stores.shopify_support import (
    FakeShop,
    expected,
    fetch_all,
    running_fake,
    shopify_orders,
    small_store,
    summarize,
)


@pytest.fixture(scope="module")
def store() -> StoreModel:
    return small_store()


@pytest.fixture
def fake(store: StoreModel) -> Iterator[FakeShop]:
    with running_fake(store) as shop:
        yield shop


def test_verify_reads_the_shops_name_currency_and_time_zone(fake: FakeShop, store: StoreModel) -> None:
    with fake.client() as client:
        info = client.verify()
    assert (info.name, info.currency, info.timezone) == (store.shop.name, "USD", "America/New_York")
    assert info.domain == "northwind-demo.myshopify.com"


def test_a_wrong_token_is_invalid_credentials_and_never_shown(fake: FakeShop) -> None:
    with fake.client(access_token="shpat_wrong_secret") as client, pytest.raises(InvalidCredentials) as raised:
        client.verify()
    assert "shpat_wrong_secret" not in str(raised.value)
    assert "shpat_wrong_secret" not in repr(client)
    assert fake.stats.auth_failures == 1


@pytest.mark.parametrize("entity", ENTITIES)
def test_paging_reads_every_record_once_with_the_models_counts_and_sums(
        fake: FakeShop, store: StoreModel, entity: Entity) -> None:
    with fake.client() as client:
        records = fetch_all(client, entity, page_size=40)
    assert summarize(records, entity) == expected(store, entity)


def test_orders_carry_money_as_decimals_and_times_in_utc(fake: FakeShop, store: StoreModel) -> None:
    with fake.client() as client:
        orders = [r for r in fetch_all(client, "orders") if isinstance(r, OrderRecord)]
    refunded = next(o for o in orders if o.refunds and o.refunds[0].lines)
    model = next(o for o in store.orders if o.number == int((refunded.name or "#0")[1:]))
    assert refunded.placed_at == model.created_at and refunded.placed_at.utcoffset() is not None
    assert refunded.refunds[0].refunded_at == model.refunds[0].created_at
    assert {line.external_id for line in refunded.lines} >= {rl.line_external_id for rl in refunded.refunds[0].lines}
    assert {o.financial_status for o in orders} <= {"paid", "pending", "authorized", "refunded", "partially_refunded"}
    assert {o.presentment_currency for o in orders} > {"USD"}  # foreign buyers, amounts still in USD
    assert all(o.currency == "USD" for o in orders)


def test_nested_connections_longer_than_their_first_page_are_read_in_full(
        fake: FakeShop, store: StoreModel, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("VARIANT_PAGE", "LINE_PAGE", "REFUND_LINE_PAGE", "REFUND_SHIPPING_PAGE"):
        monkeypatch.setattr(queries, name, 1)
    with fake.client() as client:
        for entity in ("products", "orders"):
            assert summarize(fetch_all(client, entity), entity) == expected(store, entity)


def test_updated_since_returns_only_records_updated_at_or_after_it(fake: FakeShop, store: StoreModel) -> None:
    orders = sorted(shopify_orders(store), key=lambda o: o.updated_at)
    since = orders[len(orders) // 2].updated_at
    products_since = sorted(p.updated_at for p in store.products)[20]
    with fake.client() as client:
        newer = fetch_all(client, "orders", updated_since=since, page_size=15)
        newer_products = fetch_all(client, "products", updated_since=products_since)
    assert {r.name for r in newer if isinstance(r, OrderRecord)} == {
        f"#{o.number}" for o in orders if o.updated_at >= since}
    assert len(newer_products) == sum(p.updated_at >= products_since for p in store.products)
    stamps = [r.updated_at for r in newer if r.updated_at is not None]
    assert stamps == sorted(stamps) and min(stamps) >= since


def test_pacing_keeps_a_small_bucket_from_rejecting_more_than_a_few_requests(store: StoreModel) -> None:
    with running_fake(store, throttle=ThrottleConfig(max_available=500, restore_rate=25)) as fake, \
            fake.client() as client:
        for entity in ENTITIES:
            assert summarize(fetch_all(client, entity, page_size=100), entity) == expected(store, entity)
        assert fake.stats.throttled <= 2
        assert client.throttle.rejected == fake.stats.throttled
        assert client.throttle.waits > 10 and client.throttle.waited_seconds > 30
        # The bucket refilled only while the client waited: it never spent points it did not have.
        assert fake.stats.points_charged <= 500 + 25 * fake.clock.now


@pytest.mark.parametrize("throttled_status", [200, 429])
def test_a_drained_bucket_is_waited_out_and_the_same_page_retried(store: StoreModel, throttled_status: int) -> None:
    throttle = ThrottleConfig(max_available=1000, restore_rate=50, throttled_status=throttled_status)
    with running_fake(store, throttle=throttle, faults=FaultConfig(drain_bucket_on=(3, 6))) as fake, \
            fake.client() as client:
        assert summarize(fetch_all(client, "orders", page_size=30), "orders") == expected(store, "orders")
        assert fake.stats.throttled == 2  # one rejection per drained bucket, then the model knows
        assert client.throttle.rejected == 2
        assert client.throttle.waited_seconds >= 2.0


def test_pages_above_the_single_query_limit_are_asked_again_smaller(store: StoreModel) -> None:
    throttle = ThrottleConfig(max_available=5000, restore_rate=250, max_query_cost=150)
    with running_fake(store, throttle=throttle) as fake, fake.client() as client:
        assert summarize(fetch_all(client, "orders", page_size=50), "orders") == expected(store, "orders")
        assert 1 <= fake.stats.rejected_max_cost <= 2


def test_server_errors_resets_and_429s_are_retried_until_they_pass(store: StoreModel) -> None:
    faults = FaultConfig(server_error_on=(2, 7), reset_on=(3, 4), too_many_on=(5,))
    with running_fake(store, faults=faults) as fake, fake.client() as client:
        assert summarize(fetch_all(client, "customers", page_size=10), "customers") == expected(store, "customers")
        assert sum(fake.stats.faults.values()) == 5
        assert client.throttle.rejected == 1  # the 429: a platform limit, unlike 5xx and resets


def test_persistent_server_errors_raise_platform_unavailable(store: StoreModel) -> None:
    with running_fake(store, faults=FaultConfig(server_error_rate=1.0)) as fake, \
            fake.client(retry=RetryPolicy(attempts=3)) as client, pytest.raises(PlatformUnavailable):
        client.fetch_page("products", updated_since=None, cursor=None, page_size=10)
    assert fake.stats.requests == 3
