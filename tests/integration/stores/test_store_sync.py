"""store_sync end to end on the local durable engine: API → orchestration → activities → Postgres.

The platform is a fake of our own StoreClient port (tests/memory_store.py); the platform clients have
their own tests against the contract-faithful fake servers.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

import function_app
from devhost.discovery import discover
from devhost.durable import LocalDurableEngine
from devhost.host import durable_client_args
from devhost.timers import TimerRunner
from functions.http_api.app import create_app
from shared import runtime
from shared.bootstrap import build_container
from shared.config import Settings
from shared.stores.connections import credentials_secret_name
from shared.stores.jobs import resume_unfinished_syncs
from tests.memory_store import MemoryStore, make_catalog
from tests.support import Tenant, build_tenant


@pytest.fixture
def memory() -> MemoryStore:
    return MemoryStore(make_catalog())


@pytest.fixture
def engine() -> Iterator[LocalDurableEngine]:
    with LocalDurableEngine(function_app.app) as e:
        yield e


@pytest.fixture
async def api(settings: Settings, memory: MemoryStore, engine: LocalDurableEngine) -> AsyncIterator[httpx.AsyncClient]:
    container = build_container(settings, orchestrations=engine.client, store_clients=memory.client)
    await container.start()
    runtime.install(container)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(container)),
                                 base_url="http://test") as client:
        client.container = container  # type: ignore[attr-defined]
        yield client
    await container.stop()


def _tenant(database_url: str, settings: Settings, platform: str) -> Tenant:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"sync-{uuid.uuid4().hex[:6]}")
        if platform == "woocommerce":  # paged, whatever the mode
            conn.execute("update stores set platform = 'woocommerce', base_url = 'https://woo.example.com', "
                         "shop_domain = null where id = %s", (t.store_id,))
        conn.execute("delete from products where store_id = %s", (t.store_id,))
        conn.execute("delete from orders where store_id = %s", (t.store_id,))
        conn.execute("delete from customers where store_id = %s", (t.store_id,))
        conn.execute("update stores set credentials_secret = %s where id = %s",
                     (credentials_secret_name(t.store_id), t.store_id))
    from shared.secrets.local import LocalEncryptedSecretStore

    LocalEncryptedSecretStore(settings.local_secrets_path, settings.local_secrets_key.get_secret_value()).set(
        credentials_secret_name(t.store_id), json.dumps({"access_token": "shpat_test_token"}))
    return t


@pytest.fixture
def tenant(database_url: str, settings: Settings) -> Tenant:
    return _tenant(database_url, settings, "woocommerce")


@pytest.fixture
def shopify_tenant(database_url: str, settings: Settings) -> Tenant:
    return _tenant(database_url, settings, "shopify")


async def _wait(api: httpx.AsyncClient, t: Tenant, sync_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        body = (await api.get(f"/api/v1/syncs/{sync_id}", headers=t.member)).json()
        if body["status"] not in ("queued", "running") or asyncio.get_running_loop().time() > deadline:
            return body
        await asyncio.sleep(0.05)


def _db_counts(database_url: str, store_id: uuid.UUID) -> dict[str, int]:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        return {t: conn.execute(f"select count(*) as n from {t} where store_id = %s", (store_id,)).fetchone()["n"]
                for t in ("products", "variants", "customers", "orders", "order_lines")}


EXPECTED = {"products": 12, "variants": 12, "customers": 15, "orders": 30, "order_lines": 30}


async def test_a_full_sync_stores_everything_and_reports_progress(api: httpx.AsyncClient, tenant: Tenant,
                                                                  database_url: str) -> None:
    r = await api.post(f"/api/v1/stores/{tenant.store_id}/syncs", json={"mode": "full"}, headers=tenant.member)
    assert r.status_code == 202
    started = r.json()
    assert started["status_url"] == f"/api/v1/syncs/{started['id']}"
    done = await _wait(api, tenant, started["id"])
    assert done["status"] == "succeeded", done
    assert done["progress"] == 1
    assert done["counts"] == {"products": 12, "variants": 12, "customers": 15, "orders": 30, "refunds": 0}
    assert _db_counts(database_url, tenant.store_id) == EXPECTED
    job = (await api.get(f"/api/v1/jobs/{started['id']}", headers=tenant.member)).json()
    assert job["kind"] == "sync" and job["status"] == "succeeded"
    store = (await api.get(f"/api/v1/stores/{tenant.store_id}", headers=tenant.member)).json()
    assert store["fresh"] is True and store["last_sync"]["id"] == started["id"]


async def test_a_second_sync_while_one_runs_is_409(api: httpx.AsyncClient, tenant: Tenant,
                                                   memory: MemoryStore) -> None:
    gate = threading.Event()
    memory.before_page = lambda entity, n: gate.wait(10)
    first = await api.post(f"/api/v1/stores/{tenant.store_id}/syncs", json={"mode": "full"}, headers=tenant.member)
    second = await api.post(f"/api/v1/stores/{tenant.store_id}/syncs", json={}, headers=tenant.admin)
    assert second.status_code == 409
    assert first.json()["id"] in second.json()["detail"]
    gate.set()
    assert (await _wait(api, tenant, first.json()["id"]))["status"] == "succeeded"


async def test_cancel_keeps_what_was_saved_and_an_incremental_sync_finishes_the_job(
        api: httpx.AsyncClient, tenant: Tenant, memory: MemoryStore, database_url: str) -> None:
    gate = threading.Event()
    memory.before_page = lambda entity, n: gate.wait(10) if n >= 3 else None
    started = (await api.post(f"/api/v1/stores/{tenant.store_id}/syncs", json={"mode": "full"},
                              headers=tenant.member)).json()
    while len(memory.calls) < 3:
        await asyncio.sleep(0.02)
    cancelled = await api.post(f"/api/v1/syncs/{started['id']}/cancel", headers=tenant.member)
    gate.set()
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    await asyncio.sleep(0.3)
    assert (await api.get(f"/api/v1/syncs/{started['id']}", headers=tenant.member)).json()["status"] == "cancelled"
    assert _db_counts(database_url, tenant.store_id)["products"] == 10  # two pages of five were saved
    again = (await api.post(f"/api/v1/stores/{tenant.store_id}/syncs", json={"mode": "incremental"},
                            headers=tenant.member)).json()
    assert (await _wait(api, tenant, again["id"]))["status"] == "succeeded"
    assert _db_counts(database_url, tenant.store_id) == EXPECTED
    ended = await api.post(f"/api/v1/syncs/{again['id']}/cancel", headers=tenant.member)
    assert ended.status_code == 409


async def test_a_sync_killed_mid_way_resumes_and_ends_like_an_uninterrupted_one(
        api: httpx.AsyncClient, tenant: Tenant, memory: MemoryStore, database_url: str,
        engine: LocalDurableEngine) -> None:
    gate = threading.Event()

    def die_on_page_4(entity: str, n: int) -> None:
        if n == 4:
            gate.wait(10)
            raise ConnectionResetError("worker killed")  # its transaction never commits, as in a crash

    memory.before_page = die_on_page_4
    started = (await api.post(f"/api/v1/stores/{tenant.store_id}/syncs", json={"mode": "full"},
                              headers=tenant.member)).json()
    while len(memory.calls) < 4:
        await asyncio.sleep(0.02)
    engine.stop()  # the in-memory backend and its history are gone, like a killed host
    gate.set()
    at_kill = _db_counts(database_url, tenant.store_id)
    assert (at_kill["products"], at_kill["customers"]) == (12, 0)  # 3 product pages saved, customers not
    memory.before_page = None
    container = api.container  # type: ignore[attr-defined]
    with LocalDurableEngine(function_app.app) as fresh:
        container.orchestrations = fresh.client
        resumed = await resume_unfinished_syncs(container.db, fresh.client)
        assert len(resumed) == 1
        done = await _wait(api, tenant, started["id"])
    assert done["status"] == "succeeded"
    assert _db_counts(database_url, tenant.store_id) == EXPECTED
    pages_after_restart = memory.calls[4:]
    assert ("products", None) not in pages_after_restart  # it did not start over


async def test_a_members_sync_of_another_orgs_store_is_404(api: httpx.AsyncClient, tenant: Tenant,
                                                          world: dict[str, Tenant]) -> None:
    r = await api.post(f"/api/v1/stores/{tenant.store_id}/syncs", json={"mode": "full"}, headers=world["b"].member)
    assert r.status_code == 404
    bad = await api.post(f"/api/v1/stores/{tenant.store_id}/syncs", json={"mode": "everything"},
                         headers=tenant.member)
    assert bad.status_code == 422


async def test_the_freshness_timer_syncs_stale_stores_once(api: httpx.AsyncClient, tenant: Tenant,
                                                           database_url: str) -> None:
    runner = TimerRunner(discover(function_app.app), extra_args=durable_client_args)
    await asyncio.to_thread(runner.invoke, "start_due_syncs")
    await asyncio.to_thread(runner.invoke, "start_due_syncs")  # the live sync is not started twice
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        jobs = conn.execute("select id, mode from sync_jobs where store_id = %s", (tenant.store_id,)).fetchall()
    assert len(jobs) == 1
    assert jobs[0]["mode"] == "incremental"
    assert (await _wait(api, tenant, str(jobs[0]["id"])))["status"] == "succeeded"
    await asyncio.to_thread(runner.invoke, "start_due_syncs")  # fresh now: nothing new
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        n = conn.execute("select count(*) as n from sync_jobs where store_id = %s", (tenant.store_id,)).fetchone()
    assert n == {"n": 1}


async def test_a_shopify_full_sync_goes_through_a_bulk_export(api: httpx.AsyncClient, shopify_tenant: Tenant,
                                                              memory: MemoryStore, database_url: str) -> None:
    t = shopify_tenant
    started = (await api.post(f"/api/v1/stores/{t.store_id}/syncs", json={"mode": "full"}, headers=t.member)).json()
    done = await _wait(api, t, started["id"])
    assert done["status"] == "succeeded", done
    assert done["counts"] == {"products": 12, "variants": 12, "customers": 15, "orders": 30, "refunds": 0}
    assert _db_counts(database_url, t.store_id) == EXPECTED
    assert sorted(c for c, _ in memory.calls) == ["bulk:customers", "bulk:orders", "bulk:products"]  # one export each


async def test_a_bulk_ingest_killed_mid_file_resumes_without_repeating(
        api: httpx.AsyncClient, shopify_tenant: Tenant, memory: MemoryStore, database_url: str,
        engine: LocalDurableEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    t = shopify_tenant
    monkeypatch.setattr("shared.stores.sync.BULK_CHUNK", 4)
    gate = threading.Event()
    seen: list[tuple[str, int]] = []

    def die_in_orders(entity: str, number: int) -> None:
        seen.append((entity, number))
        if entity == "orders" and number == 13 and not gate.is_set():
            gate.wait(10)
            raise ConnectionResetError("worker killed")

    memory.before_item = die_in_orders
    started = (await api.post(f"/api/v1/stores/{t.store_id}/syncs", json={"mode": "full"}, headers=t.member)).json()
    while ("orders", 13) not in seen:
        await asyncio.sleep(0.02)
    engine.stop()
    gate.set()
    stored_before = _db_counts(database_url, t.store_id)["orders"]
    assert 0 < stored_before < 30
    container = api.container  # type: ignore[attr-defined]
    with LocalDurableEngine(function_app.app) as fresh:
        container.orchestrations = fresh.client
        await resume_unfinished_syncs(container.db, fresh.client)
        done = await _wait(api, t, started["id"])
    assert done["status"] == "succeeded", done
    assert _db_counts(database_url, t.store_id) == EXPECTED
    assert done["counts"]["orders"] == 30  # each order counted once, though the file was read twice
