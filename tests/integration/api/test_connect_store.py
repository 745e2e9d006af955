"""POST /stores against the fake platforms: verified with one real call; refusals and outages save nothing."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from devhost.fakes import CatalogConfig, create_fake_shopify, create_fake_woocommerce, generate_store
from devhost.servers import serve_in_thread
from shared.config import Settings
from tests.support import Tenant, build_tenant

TOKEN, KEY, SECRET = "shpat_connect_test", "ck_connect_test", "cs_connect_test"


@pytest.fixture(scope="module")
def platforms() -> Iterator[dict[str, str]]:
    model = generate_store(CatalogConfig(products=5, customers=5, orders=10, shop_name="Connect Test"))
    shopify = serve_in_thread(create_fake_shopify(model, access_token=TOKEN))
    woo = serve_in_thread(create_fake_woocommerce(model, consumer_key=KEY, consumer_secret=SECRET))
    yield {"shopify": shopify.base_url, "woocommerce": woo.base_url}
    shopify.stop()
    woo.stop()


def _shopify(base: str, token: str = TOKEN) -> dict[str, Any]:
    return {"platform": "shopify", "name": "My shop", "shop_domain": "connect-test.myshopify.com",
            "credentials": {"access_token": token}, "api_base_url": base}


def _secret_names(settings: Settings) -> bytes:
    path = Path(settings.local_secrets_path)
    return path.read_bytes() if path.exists() else b""


def _stores(conn: psycopg.Connection[Any], org_id: Any) -> int:
    return int(conn.execute("select count(*) as n from stores where org_id = %s", (org_id,)).fetchone()["n"])


async def test_connecting_reads_the_shop_and_keeps_credentials_out_of_the_database(
        client: httpx.AsyncClient, platforms: dict[str, str], service_conn: psycopg.Connection[Any]) -> None:
    admin = build_tenant(service_conn, f"connect-{uuid.uuid4().hex[:6]}").admin
    r = await client.post("/api/v1/stores", json=_shopify(platforms["shopify"]), headers=admin)
    assert r.status_code == 201, r.text
    store = r.json()
    assert r.headers["location"] == f"/api/v1/stores/{store['id']}"
    assert (store["currency"], store["timezone"]) == ("USD", "America/New_York")
    assert TOKEN not in r.text
    row = service_conn.execute("select * from stores where id = %s", (store["id"],)).fetchone()
    assert TOKEN not in str(row)
    assert row["credentials_secret"] == f"store-{store['id']}-credentials"
    woo = await client.post("/api/v1/stores", json={
        "platform": "woocommerce", "name": "Woo", "base_url": "https://connect-test.example.com",
        "api_base_url": platforms["woocommerce"], "credentials": {"consumer_key": KEY, "consumer_secret": SECRET}},
        headers=admin)
    assert woo.status_code == 201, woo.text


async def test_refused_credentials_are_422_and_save_nothing(
        client: httpx.AsyncClient, world: dict[str, Tenant], platforms: dict[str, str],
        service_conn: psycopg.Connection[Any], settings: Settings) -> None:
    before = (_stores(service_conn, world["b"].org_id), _secret_names(settings))
    r = await client.post("/api/v1/stores", json=_shopify(platforms["shopify"], "shpat_wrong_token"),
                          headers=world["b"].admin)
    assert r.status_code == 422
    assert "refused the credentials" in r.json()["detail"]
    assert "shpat_wrong_token" not in r.text
    woo = await client.post("/api/v1/stores", json={
        "platform": "woocommerce", "name": "Woo", "base_url": "https://x.example.com",
        "api_base_url": platforms["woocommerce"],
        "credentials": {"consumer_key": KEY, "consumer_secret": "cs_wrong_secret"}}, headers=world["b"].admin)
    assert woo.status_code == 422
    assert (_stores(service_conn, world["b"].org_id), _secret_names(settings)) == before


async def test_an_unreachable_platform_is_502_and_saves_nothing(
        client: httpx.AsyncClient, world: dict[str, Tenant], service_conn: psycopg.Connection[Any]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    before = _stores(service_conn, world["b"].org_id)
    r = await client.post("/api/v1/stores", json=_shopify(f"http://127.0.0.1:{closed_port}"),
                          headers=world["b"].admin, timeout=120)
    assert r.status_code == 502
    assert r.json()["title"] == "Upstream service unavailable"
    assert _stores(service_conn, world["b"].org_id) == before
