"""The blocking WooCommerce client against the fake WooCommerce served by uvicorn on a loopback port.

Expected figures are computed from the fake's store model (integer cents), not from its JSON, so a
mapping mistake on either side shows up as a difference.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import pytest

from devhost.fakes.catalog import CatalogConfig, generate_store
from devhost.fakes.faults import FaultConfig
from devhost.fakes.model import StoreModel, to_decimal
from devhost.fakes.woocommerce import create_fake_woocommerce
from shared.stores.platform import InvalidCredentials, PlatformUnavailable
from shared.stores.records import CustomerRecord, Entity, OrderRecord, ProductRecord, Record
from shared.stores.woocommerce import RetryPolicy, WooCommerceClient
from tests.support_servers import serve_asgi

KEY, SECRET = "ck_test_0123456789", "cs_test_0123456789"
SMALL = CatalogConfig(seed=7, products=12, customers=40, orders=200, days=90)


@pytest.fixture(scope="module")
def store() -> StoreModel:
    return generate_store(SMALL)


@pytest.fixture(scope="module")
def fake(store: StoreModel) -> Iterator[tuple[Any, str]]:
    app = create_fake_woocommerce(store, consumer_key=KEY, consumer_secret=SECRET)
    with serve_asgi(app) as url:
        yield app, url


def _client(url: str, sleeps: list[float] | None = None, **kwargs: Any) -> WooCommerceClient:
    sink = sleeps if sleeps is not None else []
    return WooCommerceClient(base_url="https://northwind.example", api_base_url=url, consumer_key=KEY,
                             consumer_secret=SECRET, sleep=sink.append, jitter=lambda: 0.5, **kwargs)


def _walk(client: WooCommerceClient, entity: Entity, page_size: int, **kwargs: Any) -> list[Record]:
    records: list[Record] = []
    cursor = None
    for _ in range(1000):
        page = client.fetch_page(entity, updated_since=kwargs.get("updated_since"), cursor=cursor,
                                 page_size=page_size)
        records.extend(page.records)
        cursor = page.next_cursor
        if cursor is None:
            return records
        if "after_page" in kwargs:
            kwargs.pop("after_page")(records)
    raise AssertionError("the walk did not end")


def _ids(records: list[Any]) -> list[str]:
    return [r.external_id for r in records]


def _visible(store: StoreModel) -> list[Any]:
    return [o for o in store.orders if not o.deleted]  # status=any leaves trashed orders out


# -- verify ---------------------------------------------------------------------------------------------------


def test_verify_reads_name_currency_and_timezone(fake: tuple[Any, str], store: StoreModel) -> None:
    with _client(fake[1]) as client:
        shop = client.verify()
    assert (shop.name, shop.currency, shop.timezone, shop.domain) == (
        store.shop.name, store.shop.currency, store.shop.iana_timezone, "northwind.example")


@pytest.mark.parametrize(("key", "secret"), [(KEY, "cs_wrong_0123456789"), ("ck_wrong_0123456789", SECRET)])
def test_bad_keys_raise_invalid_credentials_after_one_request(fake: tuple[Any, str], key: str, secret: str) -> None:
    app, url = fake
    before = app.state.stats.requests
    client = WooCommerceClient(base_url="https://northwind.example", api_base_url=url, consumer_key=key,
                               consumer_secret=secret)
    with client, pytest.raises(InvalidCredentials, match="401"):
        client.verify()
    assert app.state.stats.requests - before == 1 and client.throttle.waits == 0


def test_query_string_fallback_authenticates_and_keeps_the_secret_out_of_logs(
        store: StoreModel, caplog: pytest.LogCaptureFixture) -> None:
    app = create_fake_woocommerce(store, consumer_key=KEY, consumer_secret=SECRET)
    seen: list[tuple[str, list[bytes]]] = []

    async def recording(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append((scope["query_string"].decode(), [k for k, _ in scope.get("headers", [])]))
        await app(scope, receive, send)

    caplog.set_level(logging.DEBUG)
    with serve_asgi(recording) as url, _client(url, query_string_auth=True) as client:
        assert client.verify().currency == store.shop.currency
        client.fetch_page("customers", updated_since=None, cursor=None, page_size=5)
    assert all(parse_qs(query)["consumer_secret"] == [SECRET] for query, _ in seen)
    assert all(b"authorization" not in headers for _, headers in seen)
    assert caplog.records and SECRET not in caplog.text  # httpx logs every URL at INFO


# -- full walks and money -------------------------------------------------------------------------------------


def test_walks_every_product_variant_customer_and_order_exactly_once(fake: tuple[Any, str],
                                                                     store: StoreModel) -> None:
    with _client(fake[1]) as client:
        products = _walk(client, "products", 5)
        customers = _walk(client, "customers", 7)
        orders = _walk(client, "orders", 9)
    n = len(store.products)
    # Variations share the post id space with products (ids after the last product); a simple product's
    # only variant carries the product's own id.
    expected_variants = sorted(str(p.id) if len(p.variants) == 1 else str(n + v.id)
                               for p in store.products for v in p.variants)
    variants = [v.external_id for p in products if isinstance(p, ProductRecord) for v in p.variants]
    assert sorted(_ids(products)) == sorted(str(p.id) for p in store.products)
    assert sorted(variants) == expected_variants
    assert sorted(_ids(customers)) == sorted(str(c.id) for c in store.customers)  # role=all: subscribers too
    assert sorted(_ids(orders)) == sorted(str(o.id) for o in _visible(store))


def test_order_counts_and_money_match_the_model(fake: tuple[Any, str], store: StoreModel) -> None:
    with _client(fake[1]) as client:
        orders = [o for o in _walk(client, "orders", 100) if isinstance(o, OrderRecord)]
    visible = _visible(store)
    lines = [li for o in visible for li in o.line_items]
    refunds = [r for o in visible for r in o.refunds]

    def total(values: Any) -> Decimal:
        return sum(values, Decimal(0))

    assert total(li.unit_price * li.quantity for o in orders for li in o.lines) == to_decimal(
        sum(li.original_total_cents for li in lines))
    assert total(li.line_discount for o in orders for li in o.lines) == to_decimal(sum(o.discount_cents
                                                                                       for o in visible))
    assert total(o.total_discounts for o in orders) == to_decimal(sum(o.discount_cents for o in visible))
    assert total(o.subtotal for o in orders) == to_decimal(sum(o.subtotal_cents for o in visible))
    assert total(o.total_shipping for o in orders) == to_decimal(sum(o.shipping_cents for o in visible))
    assert total(o.total_tax for o in orders) == to_decimal(sum(o.tax_cents for o in visible))
    assert total(o.total_price for o in orders) == to_decimal(sum(o.total_cents for o in visible))
    assert sum(li.quantity for o in orders for li in o.lines) == sum(li.quantity for li in lines)

    mapped = [r for o in orders for r in o.refunds]
    assert len(mapped) == len(refunds) > 0
    assert total(r.total for r in mapped) == to_decimal(sum(r.total_cents for r in refunds))
    assert total(r.shipping for r in mapped) == to_decimal(sum(r.shipping_cents for r in refunds))
    assert total(r.tax for r in mapped) == to_decimal(sum(r.tax_cents for r in refunds))
    # Returns (SPEC): refunded line value after discounts, per refunded order line.
    returned = Counter({f"{rl.line_item_id}": rl.subtotal_cents for r in refunds for rl in r.lines})
    assert {k: to_decimal(v) for k, v in returned.items()} == {
        rl.line_external_id: rl.subtotal for r in mapped for rl in r.lines}
    assert sum(rl.quantity for r in mapped for rl in r.lines) == sum(rl.quantity for r in refunds for rl in r.lines)
    assert {r.refunded_at for r in mapped} == {r.created_at.replace(microsecond=0) for r in refunds}  # Woo: seconds

    statuses = Counter(o.status for o in orders)
    assert "trash" not in statuses and statuses["cancelled"] == sum(o.cancelled_at is not None for o in visible)
    assert {"pending", "failed", "checkout-draft", "on-hold", "refunded"} <= set(statuses)  # kept for analytics
    assert sum(o.test for o in orders) == sum(o.test for o in visible) > 0
    assert sum(o.customer_external_id is None for o in orders) == sum(o.customer_id is None for o in visible)
    assert {o.currency for o in orders} == {store.shop.currency}


def test_product_prices_costs_and_stock_match_the_model(fake: tuple[Any, str], store: StoreModel) -> None:
    with _client(fake[1]) as client:
        products = [p for p in _walk(client, "products", 100) if isinstance(p, ProductRecord)]
    variants = [v for p in products for v in p.variants]
    model = store.variants
    assert sum((v.price for v in variants), Decimal(0)) == to_decimal(sum(v.price_cents for v in model))
    assert sum((v.compare_at_price or Decimal(0) for v in variants), Decimal(0)) == to_decimal(
        sum(v.compare_at_cents or 0 for v in model))
    assert sum((v.cost or Decimal(0) for v in variants), Decimal(0)) == to_decimal(sum(v.cost_cents or 0
                                                                                         for v in model))
    assert sum(v.inventory_quantity or 0 for v in variants) == sum(v.inventory for v in model)
    assert Counter(p.status for p in products) == Counter(
        "active" if p.status == "ACTIVE" else "draft" for p in store.products)


def test_customers_come_with_names_and_emails(fake: tuple[Any, str], store: StoreModel) -> None:
    with _client(fake[1]) as client:
        customers = [c for c in _walk(client, "customers", 100) if isinstance(c, CustomerRecord)]
    assert {(c.email, c.first_name, c.created_at) for c in customers} == {
        (c.email, c.first_name, c.created_at) for c in store.customers}


def test_a_multi_currency_store_labels_each_order_with_the_currency_its_amounts_are_in(store: StoreModel) -> None:
    """Orders with WooPayments' rate come in the shop's currency (the buyer's kept as presentment); the
    others stay in the currency they were booked in."""
    foreign = [o.id for o in _visible(store) if o.presentment_currency != store.shop.currency]
    rateless = frozenset(foreign[::3])
    app = create_fake_woocommerce(store, consumer_key=KEY, consumer_secret=SECRET, multi_currency=True,
                                  rateless_orders=rateless)
    with serve_asgi(app) as url, _client(url) as client:
        orders = [o for o in _walk(client, "orders", 100) if isinstance(o, OrderRecord)]
    assert {o.external_id: (o.currency, o.presentment_currency) for o in orders} == {
        str(o.id): (o.presentment_currency if o.id in rateless else store.shop.currency, o.presentment_currency)
        for o in _visible(store)}
    assert rateless and len({o.presentment_currency for o in orders}) > 1


# -- incremental and changing data ----------------------------------------------------------------------------


def test_incremental_returns_only_orders_modified_since(fake: tuple[Any, str], store: StoreModel) -> None:
    visible = sorted(_visible(store), key=lambda o: o.updated_at)
    since = visible[len(visible) // 2].updated_at.replace(microsecond=0)  # Woo keeps seconds
    with _client(fake[1]) as client:
        orders = _walk(client, "orders", 10, updated_since=since)
    expected = sorted(str(o.id) for o in visible if o.updated_at.replace(microsecond=0) >= since)
    assert sorted(_ids(orders)) == expected and len(expected) < len(visible)


def test_orders_modified_in_one_second_beyond_a_page_come_exactly_once() -> None:
    store = generate_store(CatalogConfig(seed=3, products=5, customers=10, orders=60, days=30))
    burst = store.orders[20:33]  # 13 orders, more than two pages of 5, modified in the same second
    for order in burst:
        order.updated_at = store.orders[40].updated_at
    app = create_fake_woocommerce(store, consumer_key=KEY, consumer_secret=SECRET)
    with serve_asgi(app) as url, _client(url) as client:
        orders = _walk(client, "orders", 5)
        since = _walk(client, "orders", 5, updated_since=burst[0].updated_at)
    assert sorted(_ids(orders)) == sorted(str(o.id) for o in _visible(store))
    assert sorted(_ids(since)) == sorted(str(o.id) for o in _visible(store) if o.updated_at >= burst[0].updated_at)


def test_an_order_modified_mid_scan_is_not_skipped_and_comes_again() -> None:
    """With bare page numbers, the edited order would leave its page and the next page's first row
    would slide back onto the page already read: skipped. The keyset cursor re-anchors instead."""
    store = generate_store(CatalogConfig(seed=5, products=5, customers=10, orders=60, days=30))

    def edit_first_order(read: list[Record]) -> None:
        if len(read) == 10:
            order = store.order(int(read[0].external_id))
            assert order is not None
            order.updated_at = store.as_of + timedelta(minutes=5)

    app = create_fake_woocommerce(store, consumer_key=KEY, consumer_secret=SECRET)
    with serve_asgi(app) as url, _client(url) as client:
        orders = _walk(client, "orders", 10, after_page=edit_first_order)
    ids = _ids(orders)
    assert set(ids) == {str(o.id) for o in _visible(store)}
    assert [k for k, n in Counter(ids).items() if n > 1] == [ids[0]]  # only the edited one, as its new version


# -- failures -------------------------------------------------------------------------------------------------


def test_transient_failures_are_retried_with_backoff_and_the_walk_completes(store: StoreModel) -> None:
    faults = FaultConfig(server_error_on=(2,), reset_on=(4,), too_many_on=(6,), retry_after_seconds=3)
    app = create_fake_woocommerce(store, consumer_key=KEY, consumer_secret=SECRET, faults=faults)
    sleeps: list[float] = []
    with serve_asgi(app) as url, _client(url, sleeps) as client:
        products = _walk(client, "products", 5)
    assert sorted(_ids(products)) == sorted(str(p.id) for p in store.products)
    assert sum(app.state.stats.faults.values()) == 3
    assert (client.throttle.waits, client.throttle.rejected) == (3, 1)
    assert client.throttle.waited_seconds == pytest.approx(sum(sleeps))
    assert sleeps[2] >= 3 and all(0 < s <= 30 for s in sleeps)  # Retry-After honoured, every wait bounded


@pytest.mark.parametrize("faults", [FaultConfig(server_error_rate=1.0), FaultConfig(reset_rate=1.0)],
                         ids=["5xx", "resets"])
def test_persistent_failure_gives_up_with_platform_unavailable(store: StoreModel, faults: FaultConfig) -> None:
    app = create_fake_woocommerce(store, consumer_key=KEY, consumer_secret=SECRET, faults=faults)
    sleeps: list[float] = []
    with serve_asgi(app) as url, _client(url, sleeps, retry=RetryPolicy(retries=3)) as client, \
            pytest.raises(PlatformUnavailable, match="gave up after 4 attempts"):
        client.fetch_page("orders", updated_since=None, cursor=None, page_size=50)
    assert app.state.stats.requests == 4 and len(sleeps) == 3
    assert sleeps == sorted(sleeps)  # exponential, not a hammer


def test_a_server_that_never_answers_times_out_and_is_retried() -> None:
    import asyncio

    async def stuck(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await asyncio.sleep(1.0)

    sleeps: list[float] = []
    with serve_asgi(stuck) as url, _client(url, sleeps, timeout=0.2, retry=RetryPolicy(retries=1)) as client, \
            pytest.raises(PlatformUnavailable, match="ReadTimeout"):
        client.verify()
    assert len(sleeps) == 1


def test_page_size_above_100_is_never_sent(store: StoreModel) -> None:
    app = create_fake_woocommerce(store, consumer_key=KEY, consumer_secret=SECRET)
    sizes: list[int] = []

    async def recording(scope: dict[str, Any], receive: Any, send: Any) -> None:
        sizes.extend(int(v) for v in parse_qs(scope["query_string"].decode()).get("per_page", []))
        await app(scope, receive, send)

    with serve_asgi(recording) as url, _client(url) as client:
        for entity in ("products", "customers", "orders"):
            page = client.fetch_page(entity, updated_since=None, cursor=None, page_size=500)
            assert len(page.records) > 0
    assert sizes and max(sizes) == 100
