"""POST /stores refuses bad input with a clear problem, before any call to a platform, saving nothing."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest

from tests.support import Tenant

GOOD = {"platform": "shopify", "name": "Shop", "shop_domain": "acme.myshopify.com",
        "credentials": {"access_token": "shpat_0123456789"}}


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({**GOOD, "platform": "magento"}, ["body", "platform"]),
        ({**GOOD, "shop_domain": "evil.example.com"}, ["body", "shop_domain"]),
        ({**GOOD, "unexpected": 1}, ["body", "unexpected"]),
        ({**GOOD, "name": ""}, ["body", "name"]),
        ({**GOOD, "name": 42}, ["body", "name"]),
        ({**GOOD, "credentials": {"access_token": "short"}}, ["body"]),
        ({**GOOD, "credentials": {"token": "shpat_0123456789"}}, ["body"]),
        ({"platform": "woocommerce", "name": "W", "base_url": "http://shop.example.com",
          "credentials": {"consumer_key": "ck_12345678", "consumer_secret": "cs_12345678"}}, ["body"]),
        ({**GOOD, "api_base_url": "ftp://x"}, ["body"]),
    ],
)
async def test_invalid_connect_bodies_are_422_and_store_nothing(client: httpx.AsyncClient, world: dict[str, Tenant],
                                                                 service_conn: psycopg.Connection[Any],
                                                                 body: dict[str, Any], loc: list[str]) -> None:
    before = service_conn.execute("select count(*) as n from stores").fetchone()
    r = await client.post("/api/v1/stores", json=body, headers=world["a"].admin)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"][: len(loc)] == loc
    assert "shpat_0123456789" not in r.text
    assert service_conn.execute("select count(*) as n from stores").fetchone() == before


async def test_malformed_json_is_400(client: httpx.AsyncClient, world: dict[str, Tenant]) -> None:
    r = await client.post("/api/v1/stores", content=b'{"platform": "shopify",',
                          headers={**world["a"].admin, "Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["title"] == "Malformed JSON"


async def test_members_cannot_connect_stores(client: httpx.AsyncClient, world: dict[str, Tenant]) -> None:
    r = await client.post("/api/v1/stores", json=GOOD, headers=world["a"].member)
    assert r.status_code == 403


async def test_an_api_base_url_outside_loopback_is_refused(client: httpx.AsyncClient,
                                                            world: dict[str, Tenant]) -> None:
    r = await client.post("/api/v1/stores", json={**GOOD, "api_base_url": "https://169.254.169.254"},
                          headers=world["a"].admin)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "api_base_url"]
