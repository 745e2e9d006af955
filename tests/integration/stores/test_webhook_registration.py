"""Registering webhooks with the Shopify and WooCommerce clients against the fakes: once, then never again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devhost.fakes.catalog import CatalogConfig, generate_store
from devhost.fakes.shopify import create_fake_shopify
from devhost.fakes.woocommerce import create_fake_woocommerce
from shared.stores.platform import PlatformError, WebhookRegistrar
from shared.stores.shopify import ShopifyClient
from shared.stores.shopify.client import WEBHOOK_TOPICS as SHOPIFY_TOPICS
from shared.stores.woocommerce import WooCommerceClient
from shared.stores.woocommerce.client import WEBHOOK_TOPICS as WOO_TOPICS
from tests.support_servers import serve_asgi

TOKEN, KEY, SECRET = "shpat_webhooks_test", "ck_webhooks_test", "cs_webhooks_test"
SMALL = CatalogConfig(seed=3, products=3, customers=3, orders=5, days=30)
SHOPIFY_CALLBACK = "https://advisor.example.com/webhooks/shopify"
WOO_CALLBACK = "https://advisor.example.com/webhooks/woocommerce/0b7f3c1e-0000-4000-8000-000000000001"


@pytest.fixture
def shopify() -> Iterator[tuple[Any, ShopifyClient]]:
    app = create_fake_shopify(generate_store(SMALL), access_token=TOKEN)
    with serve_asgi(app) as url, ShopifyClient(shop_domain="hooks.myshopify.com", access_token=TOKEN,
                                               api_base_url=url) as client:
        yield app, client


@pytest.fixture
def woo() -> Iterator[tuple[Any, WooCommerceClient]]:
    app = create_fake_woocommerce(generate_store(SMALL), consumer_key=KEY, consumer_secret=SECRET)
    with serve_asgi(app) as url, WooCommerceClient(base_url="https://hooks.example", api_base_url=url,
                                                   consumer_key=KEY, consumer_secret=SECRET) as client:
        yield app, client


def test_both_clients_implement_the_registrar_port(shopify: tuple[Any, ShopifyClient],
                                                   woo: tuple[Any, WooCommerceClient]) -> None:
    assert isinstance(shopify[1], WebhookRegistrar)
    assert isinstance(woo[1], WebhookRegistrar)


def test_shopify_subscribes_each_topic_once(shopify: tuple[Any, ShopifyClient]) -> None:
    app, client = shopify
    created = client.register_webhooks(SHOPIFY_CALLBACK, list(SHOPIFY_TOPICS), None)
    assert len(created) == len(SHOPIFY_TOPICS) == 11
    assert all(s.created and s.subscription_id.startswith("gid://shopify/WebhookSubscription/") for s in created)
    subscriptions = app.state.webhooks.subscriptions
    assert sorted(s.topic for s in subscriptions) == sorted(SHOPIFY_TOPICS)
    assert {(s.address, s.format) for s in subscriptions} == {(SHOPIFY_CALLBACK, "JSON")}
    # Again: nothing created, every existing subscription adopted with its id.
    again = client.register_webhooks(SHOPIFY_CALLBACK, list(SHOPIFY_TOPICS), None)
    assert not any(s.created for s in again)
    assert {(s.topic, s.subscription_id) for s in again} == {(s.topic, s.subscription_id) for s in created}
    assert len(app.state.webhooks.subscriptions) == 11
    # Another address is another subscription (Shopify allows one address per topic, not one topic).
    other = "https://staging.example.com/webhooks/shopify"
    [staging] = client.register_webhooks(other, ["ORDERS_CREATE"], None)
    assert staging.created


def test_shopify_user_errors_are_platform_errors(shopify: tuple[Any, ShopifyClient]) -> None:
    app, client = shopify
    with pytest.raises(PlatformError, match=r"ORDERS_CREATE.*http:// is not supported"):
        client.register_webhooks("http://advisor.example.com/webhooks/shopify", ["ORDERS_CREATE"], None)
    assert app.state.webhooks.subscriptions == []


def test_shopify_mutations_cost_ten_points(shopify: tuple[Any, ShopifyClient]) -> None:
    app, client = shopify
    before = app.state.stats.points_charged
    client.register_webhooks(SHOPIFY_CALLBACK, ["ORDERS_CREATE", "ORDERS_UPDATED"], None)
    listing = 2  # an empty webhookSubscriptions connection
    assert app.state.stats.points_charged - before == listing + 2 * 10


def test_shopify_deletes_a_subscription_and_reports_one_already_gone(shopify: tuple[Any, ShopifyClient]) -> None:
    app, client = shopify
    [orders, products] = client.register_webhooks(SHOPIFY_CALLBACK, ["ORDERS_CREATE", "PRODUCTS_UPDATE"], None)
    assert client.delete_webhook(orders.subscription_id) is True
    assert [s.topic for s in app.state.webhooks.subscriptions] == ["PRODUCTS_UPDATE"]
    assert client.delete_webhook(orders.subscription_id) is False
    assert client.delete_webhook(products.subscription_id) is True
    assert app.state.webhooks.subscriptions == []


def test_woo_deletes_a_webhook_and_reports_one_already_gone(woo: tuple[Any, WooCommerceClient]) -> None:
    app, client = woo
    [created, updated] = client.register_webhooks(WOO_CALLBACK, ["order.created", "order.updated"], "s3cret")
    assert client.delete_webhook(created.subscription_id) is True
    assert [r["topic"] for r in app.state.webhooks.rows] == ["order.updated"]
    assert client.delete_webhook(created.subscription_id) is False
    assert client.delete_webhook(updated.subscription_id) is True
    assert app.state.webhooks.rows == []


def test_woo_creates_each_webhook_once_with_our_secret(woo: tuple[Any, WooCommerceClient]) -> None:
    app, client = woo
    created = client.register_webhooks(WOO_CALLBACK, list(WOO_TOPICS), "s3cret_for_this_store")
    assert len(created) == len(WOO_TOPICS) == 6
    assert all(s.created for s in created)
    rows = app.state.webhooks.rows
    assert sorted(r["topic"] for r in rows) == sorted(WOO_TOPICS)
    assert {(r["delivery_url"], r["secret"], r["status"]) for r in rows} == {
        (WOO_CALLBACK, "s3cret_for_this_store", "active")}
    assert {(s.topic, s.subscription_id) for s in created} == {(r["topic"], str(r["id"])) for r in rows}
    again = client.register_webhooks(WOO_CALLBACK, list(WOO_TOPICS), "s3cret_for_this_store")
    assert not any(s.created for s in again)
    assert {s.subscription_id for s in again} == {s.subscription_id for s in created}
    assert len(app.state.webhooks.rows) == 6


def test_woo_refuses_a_bad_topic_in_its_error_shape(woo: tuple[Any, WooCommerceClient]) -> None:
    app, client = woo
    with pytest.raises(PlatformError, match="woocommerce_rest_shop_webhook_invalid_topic"):
        client.register_webhooks(WOO_CALLBACK, ["order.exploded"], "s3cret")
    assert app.state.webhooks.rows == []
