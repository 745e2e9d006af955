"""Bad input gets a clear 4xx problem and changes nothing."""

from __future__ import annotations

import httpx
import pytest

from tests.support import Tenant


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"limit": "0"}, 422),
        ({"limit": "201"}, 422),
        ({"limit": "99999999999999999999"}, 422),
        ({"limit": "ten"}, 422),
        ({"cursor": "not-a-cursor"}, 422),
        ({"cursor": "W1tdXQ"}, 422),
        ({"cursor": "x" * 600}, 422),
        ({"sort": "price; drop table"}, 422),
        ({"store_id": "not-a-uuid"}, 422),
        ({"q": "x" * 500}, 422),
    ],
)
async def test_bad_list_parameters_are_4xx_problems(client: httpx.AsyncClient, world: dict[str, Tenant],
                                                    params: dict[str, str], status: int) -> None:
    r = await client.get("/api/v1/products", params=params, headers=world["a"].member)
    assert r.status_code == status
    body = r.json()
    assert body["status"] == status and body["title"]
    if status == 422 and "cursor" not in params:
        assert body["errors"] and {"loc", "msg"} <= body["errors"][0].keys()


async def test_a_cursor_from_another_list_is_refused(client: httpx.AsyncClient, world: dict[str, Tenant]) -> None:
    a = world["a"]
    orders = await client.get("/api/v1/orders", params={"limit": 1}, headers=a.member)
    r = await client.get("/api/v1/products", params={"cursor": orders.json()["next_cursor"]}, headers=a.member)
    assert r.status_code == 422


async def test_unknown_route_and_bad_id_are_problems(client: httpx.AsyncClient, world: dict[str, Tenant]) -> None:
    r = await client.get("/api/v1/nope", headers=world["a"].member)
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    r = await client.get("/api/v1/products/123", headers=world["a"].member)
    assert r.status_code == 422


async def test_oversized_and_malformed_bodies(client: httpx.AsyncClient, world: dict[str, Tenant]) -> None:
    a = world["a"]
    big = b"{" + b" " * (65 * 1024) + b"}"
    r = await client.request("DELETE", f"/api/v1/stores/{a.store_id}", content=big,
                             headers={**a.admin, "Content-Type": "application/json"})
    assert r.status_code == 413
    assert (await client.get(f"/api/v1/stores/{a.store_id}", headers=a.member)).status_code == 200


async def test_security_headers_and_request_id(client: httpx.AsyncClient) -> None:
    r = await client.get("/health", headers={"X-Request-ID": "abc12345-req"})
    assert r.headers["x-request-id"] == "abc12345-req"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in r.headers["content-security-policy"]
    generated = await client.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert generated.headers["x-request-id"] != "bad id with spaces"
