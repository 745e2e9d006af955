"""The whole sync path against the contract-faithful fakes: orchestration → real client → HTTP → Postgres.

Counts and sums in the database must equal the fake store's own model.
"""

from __future__ import annotations

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
from tests.fake_stores import SHOPIFY_TOKEN, WOO_KEY, WOO_SECRET, connect_fake_store, run_full_sync


@pytest.fixture(scope="module")
def model() -> StoreModel:
    return generate_store(CatalogConfig(seed=7, products=25, customers=60, orders=400, days=120))


@pytest.fixture
def engine(settings: Settings) -> Iterator[LocalDurableEngine]:
    with LocalDurableEngine(function_app.app) as e:
        runtime.install(build_container(settings, orchestrations=e.client))
        yield e


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
    fake = serve_in_thread(create_fake_shopify(model, access_token=SHOPIFY_TOKEN,
                                               throttle=ThrottleConfig(max_available=20_000, restore_rate=5_000)))
    try:
        store_id = connect_fake_store(database_url, settings, "shopify", fake.base_url).store_id
        job = run_full_sync(database_url, engine, store_id, timeout=120)
    finally:
        fake.stop()
    assert job["status"] == "succeeded", job["errors"]
    # Shopify has no failed or draft checkouts among its orders (draft orders are another API).
    assert _database_figures(database_url, store_id) == _model_figures(model, shopify_visible)


def test_a_woocommerce_full_sync_equals_the_stores_own_figures(database_url: str, settings: Settings,
                                                               engine: LocalDurableEngine, model: StoreModel) -> None:
    fake = serve_in_thread(create_fake_woocommerce(model, consumer_key=WOO_KEY, consumer_secret=WOO_SECRET))
    try:
        store_id = connect_fake_store(database_url, settings, "woocommerce", fake.base_url).store_id
        job = run_full_sync(database_url, engine, store_id, timeout=120)
    finally:
        fake.stop()
    assert job["status"] == "succeeded", job["errors"]
    # Woo's status=any lists every order but trashed ones, failed and checkout-draft included.
    assert _database_figures(database_url, store_id) == _model_figures(model, lambda o: not o.deleted)
