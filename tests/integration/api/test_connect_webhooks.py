"""POST /stores registers the store's webhooks when PUBLIC_BASE_URL is set; a refusal never fails the connect."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from devhost.fakes import CatalogConfig, create_fake_shopify, create_fake_woocommerce, generate_store
from shared.bootstrap import Container
from shared.ports import SecretNotFound
from shared.webhooks import woo_webhook_secret_name
from tests.support import build_tenant
from tests.support_servers import serve_asgi

TOKEN, KEY, SECRET = "shpat_hooks_connect", "ck_hooks_connect", "cs_hooks_connect"
PUBLIC = "https://advisor.example.com"


@pytest.fixture
def fakes() -> Iterator[dict[str, tuple[Any, str]]]:
    model = generate_store(CatalogConfig(products=3, customers=3, orders=5, shop_name="Hooks Test"))
    shopify = create_fake_shopify(model, access_token=TOKEN)
    woo = create_fake_woocommerce(model, consumer_key=KEY, consumer_secret=SECRET)
    with serve_asgi(shopify) as shopify_url, serve_asgi(woo) as woo_url:
        yield {"shopify": (shopify, shopify_url), "woocommerce": (woo, woo_url)}


@pytest.fixture
def admin(service_conn: psycopg.Connection[Any]) -> dict[str, str]:
    return build_tenant(service_conn, f"hooks-{uuid.uuid4().hex[:6]}").admin


def _shopify(url: str) -> dict[str, Any]:
    return {"platform": "shopify", "name": "Hooks shop", "shop_domain": "hooks-test.myshopify.com",
            "credentials": {"access_token": TOKEN}, "api_base_url": url}


def _woo(url: str) -> dict[str, Any]:
    return {"platform": "woocommerce", "name": "Hooks Woo", "base_url": "https://hooks-test.example.com",
            "api_base_url": url, "credentials": {"consumer_key": KEY, "consumer_secret": SECRET}}


def _audit(conn: psycopg.Connection[Any], store_id: str, action: str) -> list[dict[str, Any]]:
    return conn.execute("select * from audit_log where target_id = %s and action = %s",
                        (store_id, action)).fetchall()


async def test_a_woo_store_gets_its_webhooks_signed_with_the_secret_we_keep(
        client: httpx.AsyncClient, container: Container, fakes: dict[str, tuple[Any, str]],
        admin: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(container.settings, "public_base_url", PUBLIC + "/")
    app, url = fakes["woocommerce"]
    r = await client.post("/api/v1/stores", json=_woo(url), headers=admin)
    assert r.status_code == 201, r.text
    store_id = r.json()["id"]
    rows = app.state.webhooks.rows
    assert sorted(row["topic"] for row in rows) == sorted(
        ["order.created", "order.updated", "order.deleted", "product.created", "product.updated", "product.deleted"])
    secret = container.secrets.get(woo_webhook_secret_name(uuid.UUID(store_id)))
    assert len(secret) >= 40
    assert {(row["delivery_url"], row["secret"], row["status"]) for row in rows} == {
        (f"{PUBLIC}/webhooks/woocommerce/{store_id}", secret, "active")}
    assert secret not in r.text


async def test_shopify_subscriptions_are_created_once_per_shop(
        client: httpx.AsyncClient, container: Container, fakes: dict[str, tuple[Any, str]],
        admin: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(container.settings, "public_base_url", PUBLIC)
    app, url = fakes["shopify"]
    first = await client.post("/api/v1/stores", json=_shopify(url), headers=admin)
    assert first.status_code == 201, first.text
    subscriptions = list(app.state.webhooks.subscriptions)
    assert len(subscriptions) == 11
    assert {s.address for s in subscriptions} == {f"{PUBLIC}/webhooks/shopify"}
    topics = {s.topic for s in subscriptions}
    assert {"ORDERS_CREATE", "ORDERS_CANCELLED", "REFUNDS_CREATE", "APP_UNINSTALLED"} <= topics
    # The same shop connected again (another org, say): every topic already delivers to us.
    again = await client.post("/api/v1/stores", json=_shopify(url), headers=admin)
    assert again.status_code == 201, again.text
    assert len(app.state.webhooks.subscriptions) == 11


async def test_a_refused_registration_leaves_the_store_connected_and_audited(
        client: httpx.AsyncClient, container: Container, fakes: dict[str, tuple[Any, str]],
        admin: dict[str, str], service_conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # Shopify refuses plain-http addresses with a userError.
    monkeypatch.setattr(container.settings, "public_base_url", "http://advisor.example.com")
    app, url = fakes["shopify"]
    r = await client.post("/api/v1/stores", json=_shopify(url), headers=admin)
    assert r.status_code == 201, r.text
    store_id = r.json()["id"]
    assert r.json()["status"] == "active"
    assert app.state.webhooks.subscriptions == []
    [row] = _audit(service_conn, store_id, "store.webhooks_failed")
    assert "http:// is not supported" in row["details"]["reason"]
    assert row["details"]["callback_url"] == "http://advisor.example.com/webhooks/shopify"
    assert _audit(service_conn, store_id, "store.connected")


async def test_an_unreachable_platform_during_registration_is_audited_too(
        client: httpx.AsyncClient, container: Container, fakes: dict[str, tuple[Any, str]],
        admin: dict[str, str], service_conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(container.settings, "public_base_url", PUBLIC)
    app, url = fakes["woocommerce"]

    async def refuse(request: Any, call_next: Any) -> Any:
        from fastapi.responses import HTMLResponse

        if request.method == "POST" and request.url.path.endswith("/webhooks"):
            return HTMLResponse("<h1>503 Service Unavailable</h1>", status_code=503)
        return await call_next(request)

    app.middleware_stack = None  # rebuilt on the next request, with the middleware below
    app.middleware("http")(refuse)
    r = await client.post("/api/v1/stores", json=_woo(url), headers=admin)
    assert r.status_code == 201, r.text
    store_id = r.json()["id"]
    [row] = _audit(service_conn, store_id, "store.webhooks_failed")
    assert row["details"]["reason"].startswith("PlatformUnavailable: WooCommerce POST webhooks: 503")
    assert app.state.webhooks.rows == []


async def test_without_a_public_base_url_nothing_is_registered(
        client: httpx.AsyncClient, container: Container, fakes: dict[str, tuple[Any, str]],
        admin: dict[str, str], service_conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(container.settings, "public_base_url", "")
    shopify, shopify_url = fakes["shopify"]
    woo, woo_url = fakes["woocommerce"]
    assert (await client.post("/api/v1/stores", json=_shopify(shopify_url), headers=admin)).status_code == 201
    r = await client.post("/api/v1/stores", json=_woo(woo_url), headers=admin)
    assert r.status_code == 201, r.text
    assert shopify.state.webhooks.subscriptions == []
    assert woo.state.webhooks.rows == []
    with pytest.raises(SecretNotFound):
        container.secrets.get(woo_webhook_secret_name(uuid.UUID(r.json()["id"])))
    assert _audit(service_conn, r.json()["id"], "store.webhooks_failed") == []
