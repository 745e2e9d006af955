"""401 for missing, malformed, forged, expired and foreign tokens; /me for a valid one."""

from __future__ import annotations

import time
import uuid

import httpx
import jwt

from tests.support import JWT_SECRET, Tenant, token_for


async def test_me_lists_the_callers_organizations_and_roles(client: httpx.AsyncClient,
                                                            world: dict[str, Tenant]) -> None:
    a = world["a"]
    r = await client.get("/api/v1/me", headers=a.member)
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == str(a.member_id)
    assert body["email"] == "member-a@example.com"
    assert body["organizations"] == [{"id": str(a.org_id), "name": "Org a", "role": "member"}]
    assert body["is_super_admin"] is False


async def test_missing_token_is_401_problem(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/me")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert {"type", "title", "status", "detail", "instance"} <= body.keys()
    assert body["instance"] == "/api/v1/me"


async def test_forged_token_is_401(client: httpx.AsyncClient, world: dict[str, Tenant]) -> None:
    forged = jwt.encode({"sub": str(world["a"].admin_id), "aud": "authenticated", "role": "authenticated",
                         "exp": int(time.time()) + 600}, "not-the-secret-but-long-enough-32b", algorithm="HS256")
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401
    assert forged not in r.text


async def test_expired_token_is_401_with_reason(client: httpx.AsyncClient, world: dict[str, Tenant]) -> None:
    expired = token_for(world["a"].admin_id, "admin-a@example.com", ttl_seconds=-120)
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401
    assert "expired" in r.json()["detail"]


async def test_token_for_another_audience_or_alg_none_is_401(client: httpx.AsyncClient,
                                                              world: dict[str, Tenant]) -> None:
    claims = {"sub": str(world["a"].admin_id), "aud": "somebody-else", "exp": int(time.time()) + 600}
    other_aud = jwt.encode(claims, JWT_SECRET, algorithm="HS256")
    unsigned = jwt.encode({**claims, "aud": "authenticated"}, None, algorithm="none")  # type: ignore[arg-type]
    for token in (other_aud, unsigned, "not.a.jwt", "x" * 50):
        r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, token


async def test_valid_token_of_a_user_without_organizations_sees_nothing(client: httpx.AsyncClient,
                                                                        world: dict[str, Tenant]) -> None:
    stranger = token_for(uuid.uuid4(), "stranger@example.com")
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {stranger}"})
    assert me.status_code == 200
    assert me.json()["organizations"] == []
    products = await client.get("/api/v1/products", headers={"Authorization": f"Bearer {stranger}"})
    assert products.json() == {"items": [], "next_cursor": None}
