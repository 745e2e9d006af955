"""A second organization sees none of the first's data: through the API, and through the database."""

from __future__ import annotations

import httpx
import pytest

from shared.bootstrap import Container
from tests.support import Tenant


@pytest.mark.parametrize("path", ["stores/{store}", "products/{product}", "orders/{order}", "customers/{customer}"])
async def test_another_orgs_resource_is_404(client: httpx.AsyncClient, world: dict[str, Tenant], path: str) -> None:
    a, b = world["a"], world["b"]
    url = "/api/v1/" + path.format(store=a.store_id, product=a.product_ids[0], order=a.order_ids[0],
                                   customer=a.customer_ids[0])
    assert (await client.get(url, headers=a.member)).status_code == 200
    r = await client.get(url, headers=b.admin)
    assert r.status_code == 404
    assert r.json()["status"] == 404


async def test_lists_only_show_the_callers_organization(client: httpx.AsyncClient, world: dict[str, Tenant]) -> None:
    a, b = world["a"], world["b"]
    for resource in ("stores", "products", "orders", "customers"):
        mine = (await client.get(f"/api/v1/{resource}", headers=b.member)).json()["items"]
        assert mine, resource
        assert all(item.get("store_id", item.get("id")) != str(a.store_id) for item in mine), resource
    filtered = await client.get("/api/v1/products", params={"store_id": str(a.store_id)}, headers=b.member)
    assert filtered.json()["items"] == []


async def test_database_enforces_tenancy_when_a_query_forgets_its_filter(container: Container,
                                                                         world: dict[str, Tenant]) -> None:
    b = world["b"]
    async with container.db.as_user({"sub": str(b.member_id), "role": "authenticated"}) as conn:
        for table in ("stores", "products", "variants", "customers", "orders", "order_lines", "memberships",
                      "organizations"):
            cur = await conn.execute(f"select distinct org_id from {table}" if table != "organizations"
                                     else "select id as org_id from organizations")
            orgs = {r["org_id"] for r in await cur.fetchall()}
            assert orgs == {b.org_id}, table


async def test_a_user_cannot_write_into_another_org(container: Container, world: dict[str, Tenant]) -> None:
    a, b = world["a"], world["b"]
    async with container.db.as_user({"sub": str(b.admin_id), "role": "authenticated"}) as conn:
        cur = await conn.execute("update stores set name = 'hijacked' where id = %s returning id", (a.store_id,))
        assert await cur.fetchall() == []
    with pytest.raises(Exception, match="row-level security"):
        async with container.db.as_user({"sub": str(b.admin_id), "role": "authenticated"}) as conn:
            await conn.execute("insert into stores (org_id, platform, name, shop_domain) "
                               "values (%s, 'shopify', 'x', 'x.myshopify.com')", (a.org_id,))


async def test_members_cannot_write_synced_tables(container: Container, world: dict[str, Tenant]) -> None:
    a = world["a"]
    with pytest.raises(Exception, match="permission denied"):
        async with container.db.as_user({"sub": str(a.admin_id), "role": "authenticated"}) as conn:
            await conn.execute("update products set title = 'x'")


async def test_analytics_functions_give_nothing_for_another_orgs_store(container: Container,
                                                                       world: dict[str, Tenant]) -> None:
    a, b = world["a"], world["b"]
    async with container.db.as_user({"sub": str(b.member_id), "role": "authenticated"}) as conn:
        cur = await conn.execute("select * from app.customer_counts(%s, current_date - 30, current_date, 'period')",
                                 (a.store_id,))
        assert await cur.fetchall() == []
    with pytest.raises(Exception, match="not found"):
        async with container.db.as_user({"sub": str(b.member_id), "role": "authenticated"}) as conn:
            await conn.execute("select app.refresh_store_analytics(%s, current_date - 3, current_date)",
                               (a.store_id,))
