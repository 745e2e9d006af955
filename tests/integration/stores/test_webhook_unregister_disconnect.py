"""DELETE /stores/{id} removes the webhook subscriptions registration recorded, best effort, before the
credentials go; Shopify's stay while another connected store has the same shop."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.responses import JSONResponse

from devhost.fakes import CatalogConfig, create_fake_shopify, create_fake_woocommerce, generate_store
from shared.bootstrap import Container
from shared.ports import SecretNotFound
from shared.stores import unsubscribe
from shared.stores.connections import credentials_secret_name
from shared.webhooks import woo_webhook_secret_name
from shared.webhooks.subscriptions import retry_failed_registrations
from tests.support import build_tenant
from tests.support_servers import serve_asgi

TOKEN, KEY, SECRET = "shpat_hooks_unreg", "ck_hooks_unreg", "cs_hooks_unreg"
PUBLIC = "https://advisor.example.com"
MODEL = generate_store(CatalogConfig(products=3, customers=3, orders=5, shop_name="Unregister Test"))


@pytest.fixture
def shopify() -> Iterator[tuple[Any, str]]:
    app = create_fake_shopify(MODEL, access_token=TOKEN)
    with serve_asgi(app) as url:
        yield app, url


@pytest.fixture
def woo() -> Iterator[tuple[Any, str]]:
    app = create_fake_woocommerce(MODEL, consumer_key=KEY, consumer_secret=SECRET)
    with serve_asgi(app) as url:
        yield app, url


@pytest.fixture
def admin(service_conn: psycopg.Connection[Any]) -> dict[str, str]:
    return build_tenant(service_conn, f"unreg-{uuid.uuid4().hex[:6]}").admin


@pytest.fixture(autouse=True)
def public_base_url(container: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(container.settings, "public_base_url", PUBLIC)


def _shop_domain() -> str:
    return f"unreg-{uuid.uuid4().hex[:8]}.myshopify.com"


async def _connect_shopify(client: httpx.AsyncClient, headers: dict[str, str], url: str, domain: str) -> str:
    r = await client.post("/api/v1/stores", headers=headers, json={
        "platform": "shopify", "name": "Unregister shop", "shop_domain": domain,
        "credentials": {"access_token": TOKEN}, "api_base_url": url})
    assert r.status_code == 201, r.text
    store_id: str = r.json()["id"]
    return store_id


async def _connect_woo(client: httpx.AsyncClient, headers: dict[str, str], url: str) -> str:
    r = await client.post("/api/v1/stores", headers=headers, json={
        "platform": "woocommerce", "name": "Unregister Woo", "base_url": "https://unreg.example.com",
        "api_base_url": url, "credentials": {"consumer_key": KEY, "consumer_secret": SECRET}})
    assert r.status_code == 201, r.text
    store_id: str = r.json()["id"]
    return store_id


def _recorded(conn: psycopg.Connection[Any], store_id: str) -> set[tuple[str, str]]:
    rows = conn.execute("select topic, subscription_id from store_webhook_subscriptions where store_id = %s",
                        (store_id,)).fetchall()
    return {(r["topic"], r["subscription_id"]) for r in rows}


def _audits(conn: psycopg.Connection[Any], store_id: str) -> list[tuple[str, dict[str, Any]]]:
    rows = conn.execute("select action, details from audit_log where target_id = %s and action like 'store.%%' "
                        "order by id", (store_id,)).fetchall()
    return [(r["action"], r["details"]) for r in rows]


def _secret_exists(container: Container, name: str) -> bool:
    try:
        container.secrets.get(name)
    except SecretNotFound:
        return False
    return True


async def test_disconnecting_a_shopify_store_deletes_the_subscriptions_it_recorded(
        client: httpx.AsyncClient, container: Container, shopify: tuple[Any, str], admin: dict[str, str],
        service_conn: psycopg.Connection[Any]) -> None:
    app, url = shopify
    store_id = await _connect_shopify(client, admin, url, _shop_domain())
    at_fake = {(s.topic, s.node()["id"]) for s in app.state.webhooks.subscriptions}
    assert len(at_fake) == 11
    assert _recorded(service_conn, store_id) == at_fake

    r = await client.delete(f"/api/v1/stores/{store_id}", headers=admin)
    assert r.status_code == 204, r.text
    assert app.state.webhooks.subscriptions == []
    assert _recorded(service_conn, store_id) == set()
    actions = _audits(service_conn, store_id)
    assert ("store.webhooks_removed", {"deleted": 11, "already_gone": 0}) in actions
    assert [a for a, _ in actions][-2:] == ["store.webhooks_removed", "store.disconnected"]
    assert not _secret_exists(container, credentials_secret_name(uuid.UUID(store_id)))


async def test_a_purged_woo_store_loses_its_webhooks_and_its_webhook_secret(
        client: httpx.AsyncClient, container: Container, woo: tuple[Any, str], admin: dict[str, str],
        service_conn: psycopg.Connection[Any]) -> None:
    app, url = woo
    store_id = await _connect_woo(client, admin, url)
    assert _recorded(service_conn, store_id) == {(r["topic"], str(r["id"])) for r in app.state.webhooks.rows}
    assert len(app.state.webhooks.rows) == 6
    assert _secret_exists(container, woo_webhook_secret_name(uuid.UUID(store_id)))

    r = await client.delete(f"/api/v1/stores/{store_id}", params={"purge": "true"}, headers=admin)
    assert r.status_code == 204, r.text
    assert app.state.webhooks.rows == []
    assert _recorded(service_conn, store_id) == set()
    assert ("store.webhooks_removed", {"deleted": 6, "already_gone": 0}) in _audits(service_conn, store_id)
    assert not _secret_exists(container, woo_webhook_secret_name(uuid.UUID(store_id)))
    assert not _secret_exists(container, credentials_secret_name(uuid.UUID(store_id)))


async def test_an_unreachable_platform_does_not_block_the_disconnect(
        client: httpx.AsyncClient, container: Container, admin: dict[str, str],
        service_conn: psycopg.Connection[Any]) -> None:
    app = create_fake_woocommerce(MODEL, consumer_key=KEY, consumer_secret=SECRET)
    with serve_asgi(app) as url:
        store_id = await _connect_woo(client, admin, url)
    # The fake is stopped: its port refuses connections.
    r = await client.delete(f"/api/v1/stores/{store_id}", headers=admin)
    assert r.status_code == 204, r.text
    status = service_conn.execute("select status from stores where id = %s", (store_id,)).fetchone()
    assert status == {"status": "disconnected"}
    [failed] = [d for a, d in _audits(service_conn, store_id) if a == "store.webhooks_remove_failed"]
    assert failed["reason"].startswith("PlatformUnavailable: WooCommerce DELETE webhooks/")
    assert (failed["deleted"], failed["remaining"]) == (0, 6)
    assert len(_recorded(service_conn, store_id)) == 6  # what is left at the platform stays on record
    assert not _secret_exists(container, woo_webhook_secret_name(uuid.UUID(store_id)))
    assert not _secret_exists(container, credentials_secret_name(uuid.UUID(store_id)))


async def test_a_revoked_shopify_token_is_audited_and_the_store_still_disconnects(
        client: httpx.AsyncClient, shopify: tuple[Any, str], admin: dict[str, str],
        service_conn: psycopg.Connection[Any]) -> None:
    app, url = shopify
    store_id = await _connect_shopify(client, admin, url, _shop_domain())

    async def uninstalled(request: Any, call_next: Any) -> Any:  # the merchant removed the app meanwhile
        return JSONResponse({"errors": "[API] Invalid API key or access token"}, status_code=401)

    app.middleware_stack = None  # rebuilt on the next request, with the middleware below
    app.middleware("http")(uninstalled)
    r = await client.delete(f"/api/v1/stores/{store_id}", headers=admin)
    assert r.status_code == 204, r.text
    [failed] = [d for a, d in _audits(service_conn, store_id) if a == "store.webhooks_remove_failed"]
    assert failed["reason"].startswith("InvalidCredentials: Shopify refused the access token (401)")
    assert _audits(service_conn, store_id)[-1][0] == "store.disconnected"


async def test_subscriptions_already_gone_at_the_platform_count_as_removed(
        client: httpx.AsyncClient, woo: tuple[Any, str], admin: dict[str, str],
        service_conn: psycopg.Connection[Any]) -> None:
    app, url = woo
    store_id = await _connect_woo(client, admin, url)
    app.state.webhooks.rows.clear()  # deleted by the merchant in the WooCommerce admin
    r = await client.delete(f"/api/v1/stores/{store_id}", headers=admin)
    assert r.status_code == 204, r.text
    assert ("store.webhooks_removed", {"deleted": 0, "already_gone": 6}) in _audits(service_conn, store_id)
    assert _recorded(service_conn, store_id) == set()


async def test_shopify_subscriptions_stay_while_another_store_has_the_shop(
        client: httpx.AsyncClient, shopify: tuple[Any, str], service_conn: psycopg.Connection[Any]) -> None:
    app, url = shopify
    domain = _shop_domain()
    first, second = (build_tenant(service_conn, f"unreg-{uuid.uuid4().hex[:6]}") for _ in range(2))
    first_store = await _connect_shopify(client, first.admin, url, domain)
    second_store = await _connect_shopify(client, second.admin, url, domain)
    at_fake = {(s.topic, s.node()["id"]) for s in app.state.webhooks.subscriptions}
    assert len(at_fake) == 11  # the second connect adopted the first one's subscriptions
    assert _recorded(service_conn, first_store) == _recorded(service_conn, second_store) == at_fake

    assert (await client.delete(f"/api/v1/stores/{first_store}", headers=first.admin)).status_code == 204
    assert {(s.topic, s.node()["id"]) for s in app.state.webhooks.subscriptions} == at_fake
    assert _recorded(service_conn, first_store) == set()
    assert ("store.webhooks_kept", {"kept": 11, "reason": "another connected store has this shop"}) in _audits(
        service_conn, first_store)

    # The last store of the shop takes the subscriptions with it.
    assert (await client.delete(f"/api/v1/stores/{second_store}", headers=second.admin)).status_code == 204
    assert app.state.webhooks.subscriptions == []
    assert ("store.webhooks_removed", {"deleted": 11, "already_gone": 0}) in _audits(service_conn, second_store)


async def test_after_app_uninstalled_shopify_is_not_called(
        client: httpx.AsyncClient, shopify: tuple[Any, str], admin: dict[str, str],
        service_conn: psycopg.Connection[Any]) -> None:
    app, url = shopify
    store_id = await _connect_shopify(client, admin, url, _shop_domain())
    # What shared/webhooks/compliance.py does on app/uninstalled: disconnected, no credentials.
    service_conn.execute("update stores set status = 'disconnected', credentials_secret = null where id = %s",
                         (store_id,))
    before = app.state.stats.requests
    assert (await client.delete(f"/api/v1/stores/{store_id}", headers=admin)).status_code == 404
    assert app.state.stats.requests == before
    assert len(app.state.webhooks.subscriptions) == 11


async def test_a_platform_slower_than_the_budget_is_given_up_on(
        client: httpx.AsyncClient, shopify: tuple[Any, str], admin: dict[str, str],
        service_conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    app, url = shopify
    store_id = await _connect_shopify(client, admin, url, _shop_domain())

    delayed: list[str] = []

    async def slow(request: Any, call_next: Any) -> Any:  # the first answer comes after the budget
        if not delayed:
            delayed.append(request.url.path)
            await asyncio.sleep(1.0)
        return await call_next(request)

    app.middleware_stack = None
    app.middleware("http")(slow)
    monkeypatch.setattr(unsubscribe, "UNSUBSCRIBE_TIMEOUT", 0.3)
    r = await client.delete(f"/api/v1/stores/{store_id}", headers=admin)
    assert r.status_code == 204, r.text
    [failed] = [d for a, d in _audits(service_conn, store_id) if a == "store.webhooks_remove_failed"]
    assert failed == {"deleted": 0, "already_gone": 0, "remaining": 11, "reason": "timed out after 0.3 s"}
    assert len(_recorded(service_conn, store_id)) == 11
    # The worker thread is not killed: it finishes in the background (no thread outlives the test).
    for _ in range(100):
        if not app.state.webhooks.subscriptions:
            break
        await asyncio.sleep(0.05)
    assert app.state.webhooks.subscriptions == []


async def test_a_registration_retry_records_what_it_created_and_adopted(
        client: httpx.AsyncClient, container: Container, shopify: tuple[Any, str], admin: dict[str, str],
        service_conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    app, url = shopify
    # Part of the topics already deliver to us (an earlier attempt), then the connect's registration fails.
    app.state.webhooks.create("ORDERS_CREATE", {"callbackUrl": f"{PUBLIC}/webhooks/shopify"})
    monkeypatch.setattr(container.settings, "public_base_url", "http://advisor.example.com")  # refused
    store_id = await _connect_shopify(client, admin, url, _shop_domain())
    assert _recorded(service_conn, store_id) == set()

    outcomes = await retry_failed_registrations(container.settings.database_url, secrets=container.secrets,
                                                clients=container.store_clients, public_base_url=PUBLIC)
    assert [o.registered for o in outcomes if str(o.store_id) == store_id] == [True]
    at_fake = {(s.topic, s.node()["id"]) for s in app.state.webhooks.subscriptions}
    assert len(at_fake) == 11
    assert _recorded(service_conn, store_id) == at_fake
    adopted = service_conn.execute("select topic from store_webhook_subscriptions where store_id = %s and not created",
                                   (store_id,)).fetchall()
    assert adopted == [{"topic": "ORDERS_CREATE"}]
    assert (await client.delete(f"/api/v1/stores/{store_id}", headers=admin)).status_code == 204
    assert app.state.webhooks.subscriptions == []
