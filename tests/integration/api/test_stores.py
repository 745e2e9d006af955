"""Stores: list/read with freshness, disconnect by admins only, keep or purge data."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg

from tests.support import Tenant, build_tenant


async def test_list_and_read_store(client: httpx.AsyncClient, world: dict[str, Tenant]) -> None:
    a = world["a"]
    r = await client.get("/api/v1/stores", headers=a.member)
    assert r.status_code == 200
    [store] = r.json()["items"]
    assert store["id"] == str(a.store_id)
    assert store["fresh"] is False and store["last_sync"] is None
    assert "credentials" not in store and "credentials_secret" not in store
    one = await client.get(f"/api/v1/stores/{a.store_id}", headers=a.member)
    assert one.json()["timezone"] == "Europe/Berlin"


async def test_member_cannot_disconnect_and_nothing_changes(client: httpx.AsyncClient,
                                                            service_conn: psycopg.Connection[Any]) -> None:
    t = build_tenant(service_conn, "member-delete")
    r = await client.delete(f"/api/v1/stores/{t.store_id}", headers=t.member)
    assert r.status_code == 403
    assert (await client.get(f"/api/v1/stores/{t.store_id}", headers=t.member)).status_code == 200


async def test_admin_disconnect_keeps_data_unless_purged(client: httpx.AsyncClient,
                                                         service_conn: psycopg.Connection[Any]) -> None:
    kept = build_tenant(service_conn, "keep")
    assert (await client.delete(f"/api/v1/stores/{kept.store_id}", headers=kept.admin)).status_code == 204
    assert (await client.get(f"/api/v1/stores/{kept.store_id}", headers=kept.admin)).status_code == 404
    row = service_conn.execute("select status, (select count(*) from products where store_id = %s) as n "
                               "from stores where id = %s", (kept.store_id, kept.store_id)).fetchone()
    assert row == {"status": "disconnected", "n": 4}

    purged = build_tenant(service_conn, "purge")
    r = await client.delete(f"/api/v1/stores/{purged.store_id}", params={"purge": "true"}, headers=purged.admin)
    assert r.status_code == 204
    n = service_conn.execute("select count(*) as n from products where store_id = %s", (purged.store_id,)).fetchone()
    assert n == {"n": 0}
    audit = service_conn.execute("select action, actor_id from audit_log where target_id = %s",
                                 (str(purged.store_id),)).fetchone()
    assert audit == {"action": "store.disconnected", "actor_id": purged.admin_id}


async def test_admin_of_another_org_gets_404_not_403(client: httpx.AsyncClient, world: dict[str, Tenant]) -> None:
    r = await client.delete(f"/api/v1/stores/{world['a'].store_id}", headers=world["b"].admin)
    assert r.status_code == 404
