"""The delete side of the fakes' webhooks: Shopify's webhookSubscriptionDelete and Woo's DELETE webhooks/{id}."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from devhost.fakes import StoreModel, create_fake_shopify, create_fake_woocommerce
from tests.unit.fakes.fake_support import SHOPIFY_TOKEN, WOO_KEY, WOO_SECRET, client_for, gql

CREATE = ("mutation($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) { "
          "webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) { "
          "webhookSubscription { id } userErrors { field message } } }")
DELETE = ("mutation($id: ID!) { webhookSubscriptionDelete(id: $id) { "
          "deletedWebhookSubscriptionId userErrors { field message } } }")
WEBHOOKS = "/wp-json/wc/v3/webhooks"
HOOK = {"topic": "order.created", "delivery_url": "https://a.example/h", "secret": "shh"}


async def _subscribe(client: httpx.AsyncClient, topic: str) -> str:
    r = await gql(client, CREATE, {"topic": topic, "sub": {"callbackUrl": "https://a.example/h"}})
    subscription_id: str = r.json()["data"]["webhookSubscriptionCreate"]["webhookSubscription"]["id"]
    return subscription_id


async def _delete(client: httpx.AsyncClient, subscription_id: str) -> dict[str, Any]:
    r = await gql(client, DELETE, {"id": subscription_id})
    payload: dict[str, Any] = r.json()["data"]["webhookSubscriptionDelete"]
    return payload


async def test_shopify_deletes_a_subscription_once_then_reports_it_does_not_exist(store: StoreModel) -> None:
    app = create_fake_shopify(store, access_token=SHOPIFY_TOKEN)
    async with client_for(app) as client:
        orders = await _subscribe(client, "ORDERS_CREATE")
        await _subscribe(client, "PRODUCTS_UPDATE")
        r = await gql(client, DELETE, {"id": orders})
        assert r.json()["data"]["webhookSubscriptionDelete"] == {"deletedWebhookSubscriptionId": orders,
                                                                 "userErrors": []}
        assert r.json()["extensions"]["cost"]["requestedQueryCost"] == 10  # a mutation
        assert [s.topic for s in app.state.webhooks.subscriptions] == ["PRODUCTS_UPDATE"]
        missing = {"deletedWebhookSubscriptionId": None,
                   "userErrors": [{"field": ["id"], "message": "Webhook subscription does not exist"}]}
        assert await _delete(client, orders) == missing
        assert await _delete(client, "gid://shopify/WebhookSubscription/999") == missing
        assert await _delete(client, "gid://shopify/Product/1") == missing  # another kind's id
        # A new subscription never gets a deleted one's id.
        again = await _subscribe(client, "ORDERS_CREATE")
        assert again != orders
        assert int(again.rsplit("/", 1)[1]) == 3


async def test_shopify_refuses_a_string_that_is_no_gid_at_the_top_level(store: StoreModel) -> None:
    app = create_fake_shopify(store, access_token=SHOPIFY_TOKEN)
    async with client_for(app) as client:
        await _subscribe(client, "ORDERS_CREATE")
        r = await gql(client, DELETE, {"id": "12345"})
        body = r.json()
        assert body["errors"] and "Invalid global id '12345'" in body["errors"][0]["message"]
        assert (body.get("data") or {}).get("webhookSubscriptionDelete") is None
        assert len(app.state.webhooks.subscriptions) == 1
        refused = await gql(client, DELETE, {"id": "gid://shopify/WebhookSubscription/1"}, token="shpat_wrong")
        assert refused.status_code == 401
        assert len(app.state.webhooks.subscriptions) == 1


async def test_woo_deletes_with_force_and_answers_the_deleted_webhook(store: StoreModel) -> None:
    app = create_fake_woocommerce(store, consumer_key=WOO_KEY, consumer_secret=WOO_SECRET)
    async with client_for(app, auth=(WOO_KEY, WOO_SECRET)) as client:
        first = (await client.post(WEBHOOKS, json=HOOK)).json()
        await client.post(WEBHOOKS, json={**HOOK, "topic": "product.updated"})
        r = await client.delete(f"{WEBHOOKS}/{first['id']}", params={"force": "true"})
        assert r.status_code == 200
        assert r.json()["id"] == first["id"]
        assert r.json()["topic"] == "order.created"
        assert "secret" not in r.json()
        assert [row["topic"] for row in app.state.webhooks.rows] == ["product.updated"]
        again = await client.delete(f"{WEBHOOKS}/{first['id']}", params={"force": "true"})
        assert again.status_code == 404
        assert again.json() == {"code": "woocommerce_rest_shop_webhook_invalid_id", "message": "Invalid ID.",
                                "data": {"status": 404}}
        created = (await client.post(WEBHOOKS, json=HOOK)).json()
        assert created["id"] == 3  # ids are never reused


@pytest.mark.parametrize(("path", "params", "auth", "status", "code"), [
    ("/1", {}, (WOO_KEY, WOO_SECRET), 501, "woocommerce_rest_trash_not_supported"),
    ("/1", {"force": "false"}, (WOO_KEY, WOO_SECRET), 501, "woocommerce_rest_trash_not_supported"),
    ("/abc", {"force": "true"}, (WOO_KEY, WOO_SECRET), 404, "rest_no_route"),
    ("/1", {"force": "true"}, (WOO_KEY, "cs_wrong"), 401, "woocommerce_rest_authentication_error"),
    ("/1", {"force": "true"}, ("ck_unknown", "cs_unknown"), 401, "woocommerce_rest_cannot_delete"),
])
async def test_woo_refuses_deletes_in_cores_shape(store: StoreModel, path: str, params: dict[str, str],
                                                  auth: tuple[str, str], status: int, code: str) -> None:
    app = create_fake_woocommerce(store, consumer_key=WOO_KEY, consumer_secret=WOO_SECRET)
    async with client_for(app, auth=(WOO_KEY, WOO_SECRET)) as client:
        assert (await client.post(WEBHOOKS, json=HOOK)).status_code == 201
        r = await client.delete(f"{WEBHOOKS}{path}", params=params, auth=auth)
    assert r.status_code == status
    assert r.json()["code"] == code
    assert r.json()["data"] == {"status": status}
    assert len(app.state.webhooks.rows) == 1
