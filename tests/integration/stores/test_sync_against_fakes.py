"""The whole sync path against the contract-faithful fakes: orchestration → real client → HTTP → Postgres.

Counts and sums in the database must equal the fake store's own model.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

import function_app
from devhost.durable import LocalDurableEngine
from devhost.fakes import CatalogConfig, ThrottleConfig, create_fake_shopify, create_fake_woocommerce, generate_store
from devhost.fakes.model import Order, StoreModel
from devhost.fakes.shopify_paging import shopify_visible
from devhost.servers import serve_in_thread
from shared import runtime
from shared.bootstrap import build_container
from shared.config import Settings
from shared.secrets.local import LocalEncryptedSecretStore
from shared.stores.connections import credentials_secret_name
from tests.support import build_tenant

TOKEN = "shpat_fake_integration"
KEY, SECRET = "ck_fake_integration", "cs_fake_integration"


@pytest.fixture(scope="module")
def model() -> StoreModel:
    return generate_store(CatalogConfig(seed=7, products=25, customers=60, orders=400, days=120))


@pytest.fixture
def engine(settings: Settings) -> Iterator[LocalDurableEngine]:
    with LocalDurableEngine(function_app.app) as e:
        runtime.install(build_container(settings, orchestrations=e.client))
        yield e


def _connect(database_url: str, settings: Settings, platform: str, api_base_url: str) -> uuid.UUID:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"fake-{uuid.uuid4().hex[:6]}")
        for table in ("orders", "customers", "products"):
            conn.execute(f"delete from {table} where store_id = %s", (t.store_id,))
        conn.execute(
            "update stores set platform = %s, shop_domain = %s, base_url = %s, api_base_url = %s, "
            "credentials_secret = %s where id = %s",
            (platform, "fake-shop.myshopify.com" if platform == "shopify" else None,
             "https://woo.example.com" if platform == "woocommerce" else None, api_base_url,
             credentials_secret_name(t.store_id), t.store_id))
    credentials = {"access_token": TOKEN} if platform == "shopify" else {"consumer_key": KEY, "consumer_secret": SECRET}
    LocalEncryptedSecretStore(settings.local_secrets_path, settings.local_secrets_key.get_secret_value()).set(
        credentials_secret_name(t.store_id), json.dumps(credentials))
    return t.store_id


def _run_sync(database_url: str, engine: LocalDurableEngine, store_id: uuid.UUID) -> dict[str, Any]:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        job = conn.execute("select id, instance_id from app.create_sync_job(%s, 'full', null)", (store_id,)).fetchone()
    asyncio.run(engine.client.start("store_sync", {"job_id": str(job["id"])}, job["instance_id"]))
    engine.client.wait_for_completion(job["instance_id"], timeout=120)
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        row: dict[str, Any] = conn.execute("select * from sync_jobs where id = %s", (job["id"],)).fetchone()
    return row


def _database_figures(database_url: str, store_id: uuid.UUID) -> dict[str, Any]:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        return conn.execute(
            """
            select (select count(*) from products where store_id = %(s)s) as products,
                   (select count(*) from variants where store_id = %(s)s) as variants,
                   (select count(*) from orders where store_id = %(s)s) as orders,
                   (select coalesce(sum(total_price), 0) from orders where store_id = %(s)s) as total_price,
                   (select coalesce(sum(quantity), 0) from order_lines where store_id = %(s)s) as units,
                   (select count(*) from refunds where store_id = %(s)s) as refunds,
                   (select coalesce(sum(subtotal), 0) from refund_lines where store_id = %(s)s) as returned,
                   (select count(*) from order_lines where store_id = %(s)s and order_id is null) as orphans
            """, {"s": store_id}).fetchone()


def _model_figures(model: StoreModel, visible: Callable[[Order], bool]) -> dict[str, Any]:
    orders = [o for o in model.orders if visible(o)]
    return {
        "products": len(model.products),
        "variants": len(model.variants),
        "orders": len(orders),
        "total_price": Decimal(sum(o.total_cents for o in orders)) / 100,
        "units": sum(li.quantity for o in orders for li in o.line_items),
        "refunds": sum(len(o.refunds) for o in orders),
        "returned": Decimal(sum(rl.subtotal_cents for o in orders for r in o.refunds for rl in r.lines)) / 100,
        "orphans": 0,
    }


def test_a_shopify_full_sync_equals_the_stores_own_figures(database_url: str, settings: Settings,
                                                           engine: LocalDurableEngine, model: StoreModel) -> None:
    fake = serve_in_thread(create_fake_shopify(model, access_token=TOKEN,
                                               throttle=ThrottleConfig(max_available=20_000, restore_rate=5_000)))
    try:
        store_id = _connect(database_url, settings, "shopify", fake.base_url)
        job = _run_sync(database_url, engine, store_id)
    finally:
        fake.stop()
    assert job["status"] == "succeeded", job["errors"]
    # Shopify has no failed or draft checkouts among its orders (draft orders are another API).
    assert _database_figures(database_url, store_id) == _model_figures(model, shopify_visible)


def test_a_woocommerce_full_sync_equals_the_stores_own_figures(database_url: str, settings: Settings,
                                                               engine: LocalDurableEngine, model: StoreModel) -> None:
    fake = serve_in_thread(create_fake_woocommerce(model, consumer_key=KEY, consumer_secret=SECRET))
    try:
        store_id = _connect(database_url, settings, "woocommerce", fake.base_url)
        job = _run_sync(database_url, engine, store_id)
    finally:
        fake.stop()
    assert job["status"] == "succeeded", job["errors"]
    # Woo's status=any lists every order but trashed ones, failed and checkout-draft included.
    assert _database_figures(database_url, store_id) == _model_figures(model, lambda o: not o.deleted)
