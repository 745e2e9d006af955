"""Webhook subscriptions of the fakes: Shopify's GraphQL pair and Woo's REST endpoint, with their refusals."""

from __future__ import annotations

import pytest

from devhost.fakes import StoreModel, create_fake_shopify, create_fake_woocommerce
from tests.unit.fakes.fake_support import SHOPIFY_TOKEN, WOO_KEY, WOO_SECRET, client_for, gql

CREATE = ("mutation($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) { "
          "webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) { "
          "webhookSubscription { id topic callbackUrl uri format } userErrors { field message } } }")
LIST = ("query($after: String) { webhookSubscriptions(first: 2, after: $after) { "
        "nodes { id topic callbackUrl } pageInfo { hasNextPage endCursor } } }")
WEBHOOKS = "/wp-json/wc/v3/webhooks"


async def test_shopify_subscriptions_page_and_refuse_duplicates(store: StoreModel) -> None:
    app = create_fake_shopify(store, access_token=SHOPIFY_TOKEN)
    async with client_for(app) as client:
        for topic in ("ORDERS_CREATE", "ORDERS_UPDATED", "APP_UNINSTALLED"):
            r = await gql(client, CREATE, {"topic": topic, "sub": {"callbackUrl": "https://a.example/h",
                                                                   "format": "JSON"}})
            payload = r.json()["data"]["webhookSubscriptionCreate"]
            assert payload["userErrors"] == []
            assert payload["webhookSubscription"]["uri"] == "https://a.example/h"
        assert r.json()["extensions"]["cost"]["requestedQueryCost"] == 10
        again = await gql(client, CREATE, {"topic": "ORDERS_CREATE", "sub": {"callbackUrl": "https://a.example/h"}})
        errors = again.json()["data"]["webhookSubscriptionCreate"]["userErrors"]
        assert errors == [{"field": ["webhookSubscription", "callbackUrl"],
                          "message": "Address for this topic has already been taken"}]
        first = (await gql(client, LIST)).json()["data"]["webhookSubscriptions"]
        assert [n["topic"] for n in first["nodes"]] == ["ORDERS_CREATE", "ORDERS_UPDATED"]
        assert first["pageInfo"]["hasNextPage"]
        rest = (await gql(client, LIST, {"after": first["pageInfo"]["endCursor"]})).json()
        assert [n["topic"] for n in rest["data"]["webhookSubscriptions"]["nodes"]] == ["APP_UNINSTALLED"]
        bad = await gql(client, CREATE, {"topic": "ORDERS_EXPLODED", "sub": {"callbackUrl": "https://a.example/h"}})
        assert bad.json()["errors"]
    assert len(app.state.webhooks.subscriptions) == 3


@pytest.mark.parametrize(("body", "code"), [
    ({"topic": "order.exploded", "delivery_url": "https://a.example/h"}, "woocommerce_rest_shop_webhook_invalid_topic"),
    ({"delivery_url": "https://a.example/h"}, "woocommerce_rest_shop_webhook_invalid_topic"),
    ({"topic": "order.created", "delivery_url": "ftp://a.example/h"},
     "woocommerce_rest_shop_webhook_invalid_delivery_url"),
])
async def test_woo_refuses_bad_webhooks_in_cores_shape(store: StoreModel, body: dict[str, str], code: str) -> None:
    app = create_fake_woocommerce(store, consumer_key=WOO_KEY, consumer_secret=WOO_SECRET)
    async with client_for(app, auth=(WOO_KEY, WOO_SECRET)) as client:
        r = await client.post(WEBHOOKS, json=body)
    assert r.status_code == 400
    assert r.json()["code"] == code
    assert r.json()["data"] == {"status": 400}
    assert app.state.webhooks.rows == []


async def test_woo_webhooks_are_listed_without_their_secret(store: StoreModel) -> None:
    app = create_fake_woocommerce(store, consumer_key=WOO_KEY, consumer_secret=WOO_SECRET)
    async with client_for(app, auth=(WOO_KEY, WOO_SECRET)) as client:
        for topic in ("order.created", "product.deleted"):
            r = await client.post(WEBHOOKS, json={"name": topic, "topic": topic, "secret": "shh",
                                                  "delivery_url": "https://a.example/h", "status": "active"})
            assert r.status_code == 201
            assert "secret" not in r.json()
        listed = await client.get(WEBHOOKS, params={"per_page": 1, "page": 2})
        assert [row["topic"] for row in listed.json()] == ["product.deleted"]
        assert (listed.headers["x-wp-total"], listed.headers["x-wp-totalpages"]) == ("2", "2")
        assert "shh" not in listed.text
        assert (await client.post(WEBHOOKS, json={}, auth=(WOO_KEY, "cs_wrong"))).status_code == 401
    assert [row["secret"] for row in app.state.webhooks.rows] == ["shh", "shh"]
