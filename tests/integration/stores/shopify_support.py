"""The Shopify client against the fake Shopify over a real socket, and the model's numbers to compare with.

Expected values come from the store model itself (integer cents, the model's own fields), never
from the client's records, so a mapping mistake cannot cancel itself out. Client and fake share one
ManualClock and the client's sleep advances it: throttling and bulk runs are exercised for real, and
no test waits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from fastapi import FastAPI

from devhost.fakes.catalog import CatalogConfig, generate_store
from devhost.fakes.clock import ManualClock
from devhost.fakes.model import Order, PaymentState, StoreModel
from devhost.fakes.shopify import create_fake_shopify
from devhost.fakes.shopify_cost import ShopifyStats
from shared.stores.platform import BulkItem
from shared.stores.records import (
    CustomerRecord,
    Entity,
    OrderLineRecord,
    OrderRecord,
    ProductRecord,
    Record,
    VariantRecord,
)
from shared.stores.shopify import ShopifyClient
from shared.stores.shopify.pacing import PacingState
from tests.support_servers import serve_asgi

TOKEN = "shpat_client_test"
SMALL = CatalogConfig(seed=11, products=30, variants_per_product=2.5, customers=50, orders=200, days=120)
Summary = dict[str, Any]


def small_store() -> StoreModel:
    return generate_store(SMALL)


@dataclass
class FakeShop:
    url: str
    app: FastAPI
    clock: ManualClock

    @property
    def stats(self) -> ShopifyStats:
        stats: ShopifyStats = self.app.state.stats
        return stats

    def client(self, **overrides: Any) -> ShopifyClient:
        options: dict[str, Any] = {
            "shop_domain": "northwind-demo", "access_token": TOKEN, "api_base_url": self.url,
            "pacing": PacingState(), "sleep": self.clock.advance, "clock": self.clock, "jitter": lambda: 0.5,
        }
        return ShopifyClient(**(options | overrides))


@contextmanager
def running_fake(store: StoreModel, **fake_options: Any) -> Iterator[FakeShop]:
    clock = ManualClock()
    app = create_fake_shopify(store, access_token=TOKEN, clock=clock, **fake_options)
    with serve_asgi(app) as url:
        yield FakeShop(url, app, clock)


def fetch_all(client: ShopifyClient, entity: Entity, *, page_size: int = 50, **kwargs: Any) -> list[Record]:
    records: list[Record] = []
    cursor = None
    while True:
        page = client.fetch_page(entity, updated_since=kwargs.get("updated_since"), cursor=cursor,
                                 page_size=page_size)
        assert len(page.records) <= page_size
        stamps = [r.updated_at for r in page.records if r.updated_at is not None]
        assert page.max_updated_at == max(stamps, default=None)
        records.extend(page.records)
        if page.next_cursor is None:
            return records
        cursor = page.next_cursor


def cents(value: int) -> Decimal:
    return Decimal(value) / 100


def shopify_orders(store: StoreModel) -> list[Order]:
    """What Shopify lists: failed payments and abandoned checkouts never became orders; deleted ones are gone."""
    return [o for o in store.orders
            if not o.deleted and o.payment not in (PaymentState.FAILED, PaymentState.DRAFT)]


def expected(store: StoreModel, entity: Entity) -> Summary:
    if entity == "products":
        variants = store.variants
        return {
            "ids": len(store.products), "variants": len(variants), "statuses": Counter(p.status.lower()
                                                                                       for p in store.products),
            "price": sum(cents(v.price_cents) for v in variants),
            "cost": sum(cents(v.cost_cents) for v in variants if v.cost_cents is not None),
            "no_cost": sum(1 for v in variants if v.cost_cents is None),
            "stock": sum(v.inventory for v in variants),
        }
    if entity == "customers":
        return {"ids": len(store.customers), "spent": sum(cents(c.spent_cents) for c in store.customers),
                "orders": sum(c.orders_count for c in store.customers)}
    orders = shopify_orders(store)
    lines = [line for o in orders for line in o.line_items]
    refunds = [r for o in orders for r in o.refunds]
    return {
        "ids": len(orders), "test": sum(o.test for o in orders), "cancelled": sum(o.cancelled_at is not None
                                                                                 for o in orders),
        "guests": sum(o.customer_id is None for o in orders),
        "total": sum(cents(o.total_cents) for o in orders), "subtotal": sum(cents(o.subtotal_cents) for o in orders),
        "discounts": sum(cents(o.discount_cents) for o in orders), "tax": sum(cents(o.tax_cents) for o in orders),
        "shipping": sum(cents(o.shipping_cents) for o in orders),
        "lines": len(lines), "units": sum(li.quantity for li in lines),
        "gross": sum(cents(li.original_total_cents) for li in lines),
        "line_discounts": sum(cents(li.line_discount_cents) for li in lines),
        "refunds": len(refunds), "refunded": sum(cents(r.total_cents) for r in refunds),
        "returns": sum(cents(rl.subtotal_cents) for r in refunds for rl in r.lines),
        "refund_lines": sum(len(r.lines) for r in refunds),
        "refunded_tax": sum(cents(r.tax_cents) for r in refunds),
        "refunded_shipping": sum(cents(r.shipping_cents) for r in refunds),
    }


def summarize(records: Iterable[Record], entity: Entity) -> Summary:
    """The same figures from the client's records; every record must appear exactly once."""
    records = list(records)
    assert len({r.external_id for r in records}) == len(records), "a record came twice"
    if entity == "products":
        products = [r for r in records if isinstance(r, ProductRecord)]
        variants = [v for p in products for v in p.variants]
        return {
            "ids": len(products), "variants": len(variants), "statuses": Counter(p.status for p in products),
            "price": sum(v.price for v in variants), "cost": sum(v.cost for v in variants if v.cost is not None),
            "no_cost": sum(1 for v in variants if v.cost is None),
            "stock": sum(v.inventory_quantity or 0 for v in variants),
        }
    if entity == "customers":
        customers = [r for r in records if isinstance(r, CustomerRecord)]
        return {"ids": len(customers), "spent": sum(c.total_spent or 0 for c in customers),
                "orders": sum(c.orders_count or 0 for c in customers)}
    return _order_summary([r for r in records if isinstance(r, OrderRecord)])


def _order_summary(orders: list[OrderRecord]) -> Summary:
    lines = [line for o in orders for line in o.lines]
    refunds = [r for o in orders for r in o.refunds]
    return {
        "ids": len(orders), "test": sum(o.test for o in orders), "cancelled": sum(o.status == "cancelled"
                                                                                 for o in orders),
        "guests": sum(o.customer_external_id is None for o in orders),
        "total": sum(o.total_price for o in orders), "subtotal": sum(o.subtotal for o in orders),
        "discounts": sum(o.total_discounts for o in orders), "tax": sum(o.total_tax for o in orders),
        "shipping": sum(o.total_shipping for o in orders),
        "lines": len(lines), "units": sum(li.quantity for li in lines),
        "gross": sum(li.unit_price * li.quantity for li in lines),
        "line_discounts": sum(li.line_discount for li in lines),
        "refunds": len(refunds), "refunded": sum(r.total for r in refunds),
        "returns": sum(rl.subtotal for r in refunds for rl in r.lines),
        "refund_lines": sum(len(r.lines) for r in refunds),
        "refunded_tax": sum(r.tax for r in refunds), "refunded_shipping": sum(r.shipping for r in refunds),
    }


def assemble(items: Iterable[BulkItem]) -> list[Record]:
    """Records rebuilt from a bulk stream, checking that every child follows a parent already seen."""
    parents: dict[str, Record] = {}
    children: dict[str, list[VariantRecord | OrderLineRecord]] = {}
    for parent_id, item in items:
        if parent_id is None:
            assert isinstance(item, ProductRecord | CustomerRecord | OrderRecord)
            assert item.external_id not in parents, "a parent came twice"
            parents[item.external_id] = item
        else:
            assert parent_id in parents, f"{item.external_id} came before its parent {parent_id}"
            assert isinstance(item, VariantRecord | OrderLineRecord)
            children.setdefault(parent_id, []).append(item)
    rebuilt: list[Record] = []
    for key, parent in parents.items():
        if isinstance(parent, ProductRecord):
            assert not parent.variants
            variants = [c for c in children.get(key, []) if isinstance(c, VariantRecord)]
            parent = replace(parent, variants=tuple(variants))
        elif isinstance(parent, OrderRecord):
            assert not parent.lines
            lines = [c for c in children.get(key, []) if isinstance(c, OrderLineRecord)]
            parent = replace(parent, lines=tuple(lines))
        rebuilt.append(parent)
    return rebuilt

