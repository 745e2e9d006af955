"""A store whose webhook registration failed at connect is registered by the retry timer, once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from devhost.fakes import CatalogConfig, create_fake_shopify, create_fake_woocommerce, generate_store
from shared.bootstrap import Container
from shared.webhooks import woo_webhook_secret_name
from shared.webhooks.subscriptions import retry_failed_registrations
from tests.support import build_tenant
from tests.support_servers import serve_asgi

TOKEN, KEY, SECRET = "shpat_hooks_retry", "ck_hooks_retry", "cs_hooks_retry"
PUBLIC = "https://advisor.example.com"


@pytest.fixture
def fakes() -> Iterator[dict[str, tuple[Any, str]]]:
    model = generate_store(CatalogConfig(products=3, customers=3, orders=5, shop_name="Retry Test"))
    shopify = create_fake_shopify(model, access_token=TOKEN)
    woo = create_fake_woocommerce(model, consumer_key=KEY, consumer_secret=SECRET)
    with serve_asgi(shopify) as shopify_url, serve_asgi(woo) as woo_url:
        yield {"shopify": (shopify, shopify_url), "woocommerce": (woo, woo_url)}


def _actions(conn: psycopg.Connection[Any], store_id: str) -> list[str]:
    rows = conn.execute(
        "select action from audit_log where target_id = %s and action like 'store.webhooks_%%' order by id", (store_id,)
    ).fetchall()
    return [r["action"] for r in rows]


async def _retry(container: Container, public: str) -> list[Any]:
    return await retry_failed_registrations(
        container.settings.database_url,
        secrets=container.secrets,
        clients=container.store_clients,
        public_base_url=public,
    )


async def test_a_failed_shopify_registration_is_retried_until_it_succeeds(
    client: httpx.AsyncClient,
    container: Container,
    fakes: dict[str, tuple[Any, str]],
    service_conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin = build_tenant(service_conn, f"retry-{uuid.uuid4().hex[:6]}").admin
    monkeypatch.setattr(container.settings, "public_base_url", "http://advisor.example.com")  # refused
    app, url = fakes["shopify"]
    r = await client.post(
        "/api/v1/stores",
        headers=admin,
        json={
            "platform": "shopify",
            "name": "Retry shop",
            "shop_domain": f"retry-{uuid.uuid4().hex[:6]}.myshopify.com",
            "credentials": {"access_token": TOKEN},
            "api_base_url": url,
        },
    )
    assert r.status_code == 201, r.text
    store_id = r.json()["id"]
    assert _actions(service_conn, store_id) == ["store.webhooks_failed"]

    failed_again = [o for o in await _retry(container, "http://advisor.example.com") if str(o.store_id) == store_id]
    assert [o.registered for o in failed_again] == [False]
    done = [o for o in await _retry(container, PUBLIC) if str(o.store_id) == store_id]
    assert [o.registered for o in done] == [True]
    assert {s.address for s in app.state.webhooks.subscriptions} == {f"{PUBLIC}/webhooks/shopify"}
    assert _actions(service_conn, store_id)[-1] == "store.webhooks_registered"
    assert not [o for o in await _retry(container, PUBLIC) if str(o.store_id) == store_id]  # done: not retried


async def test_a_woo_retry_keeps_the_secret_earlier_webhooks_sign_with(
    client: httpx.AsyncClient,
    container: Container,
    fakes: dict[str, tuple[Any, str]],
    service_conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin = build_tenant(service_conn, f"retry-{uuid.uuid4().hex[:6]}").admin
    monkeypatch.setattr(container.settings, "public_base_url", PUBLIC)
    app, url = fakes["woocommerce"]
    calls = {"n": 0}

    async def fail_after_two(request: Any, call_next: Any) -> Any:
        from fastapi.responses import HTMLResponse

        if request.method == "POST" and request.url.path.endswith("/webhooks"):
            calls["n"] += 1
            if calls["n"] > 2:
                return HTMLResponse("<h1>503 Service Unavailable</h1>", status_code=503)
        return await call_next(request)

    app.middleware_stack = None
    app.middleware("http")(fail_after_two)
    r = await client.post(
        "/api/v1/stores",
        headers=admin,
        json={
            "platform": "woocommerce",
            "name": "Retry Woo",
            "base_url": "https://retry.example.com",
            "api_base_url": url,
            "credentials": {"consumer_key": KEY, "consumer_secret": SECRET},
        },
    )
    assert r.status_code == 201, r.text
    store_id = r.json()["id"]
    secret = container.secrets.get(woo_webhook_secret_name(uuid.UUID(store_id)))
    assert len(app.state.webhooks.rows) == 2 and _actions(service_conn, store_id) == ["store.webhooks_failed"]

    calls["n"] = -100  # the platform is back
    done = [o for o in await _retry(container, PUBLIC) if str(o.store_id) == store_id]
    assert [o.registered for o in done] == [True]
    assert len(app.state.webhooks.rows) == 6
    assert {row["secret"] for row in app.state.webhooks.rows} == {secret}
    assert container.secrets.get(woo_webhook_secret_name(uuid.UUID(store_id))) == secret
