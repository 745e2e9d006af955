"""Bulk upserts: idempotent, newest wins, children tied to parents by external id, edits drop removed rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from shared.stores import persist
from shared.stores.records import (
    CustomerRecord,
    OrderLineRecord,
    OrderRecord,
    ProductRecord,
    RefundLineRecord,
    RefundRecord,
    VariantRecord,
)
from tests.support import PRODUCTS, build_tenant

T0 = datetime(2026, 10, 1, 12, tzinfo=UTC)


@pytest.fixture
def conn(database_url: str) -> Any:
    with psycopg.connect(database_url, row_factory=dict_row) as c:
        yield c


def _product(updated: datetime, title: str = "Wool Hat", variants: tuple[str, ...] = ("V1", "V2")) -> ProductRecord:
    return ProductRecord(
        external_id="P1", title=title, status="active", vendor="Acme", tags=("winter",), updated_at=updated,
        variants=tuple(VariantRecord(external_id=v, sku=f"SKU-{v}", title=v, price=Decimal("20.00"),
                                     cost=Decimal("8.50"), inventory_quantity=5, updated_at=updated) for v in variants),
    )


def _order(updated: datetime) -> OrderRecord:
    return OrderRecord(
        external_id="O1", placed_at=T0, currency="EUR", name="#1", customer_external_id="C1", updated_at=updated,
        subtotal=Decimal("36.00"), total_discounts=Decimal("4.00"), total_price=Decimal("41.00"),
        total_shipping=Decimal("5.00"),
        lines=(OrderLineRecord(external_id="L1", quantity=2, unit_price=Decimal("20.00"), line_discount=Decimal("4.00"),
                               product_external_id="P1", variant_external_id="V1", sku="SKU-V1"),),
        refunds=(RefundRecord(external_id="R1", refunded_at=T0 + timedelta(days=3), total=Decimal("18.00"),
                              lines=(RefundLineRecord(line_external_id="L1", quantity=1,
                                                      subtotal=Decimal("18.00")),)),),
    )


def _count(conn: Any, table: str, store_id: uuid.UUID) -> int:
    return int(conn.execute(f"select count(*) as n from {table} where store_id = %s", (store_id,)).fetchone()["n"])


def test_upserts_are_idempotent_and_link_children(conn: Any) -> None:
    t = build_tenant(conn, f"persist-{uuid.uuid4().hex[:6]}")
    conn.commit()
    for _ in range(2):
        with conn.transaction():
            persist.upsert_products(conn, t.org_id, t.store_id, [_product(T0)])
            persist.upsert_customers(conn, t.org_id, t.store_id, [CustomerRecord(external_id="C1", email="c@x.test")])
            persist.upsert_orders(conn, t.org_id, t.store_id, [_order(T0)])
    row = conn.execute(
        "select l.product_id = p.id as linked, l.variant_id is not null as has_variant, o.customer_id is not null "
        "as has_customer, rl.order_line_id = l.id as refund_linked from order_lines l "
        "join orders o on o.id = l.order_id join products p on p.store_id = l.store_id and p.external_id = 'P1' "
        "join refund_lines rl on rl.line_external_id = l.external_id "
        "where o.store_id = %s and o.external_id = 'O1'", (t.store_id,)).fetchone()
    assert row == {"linked": True, "has_variant": True, "has_customer": True, "refund_linked": True}
    assert _count(conn, "variants", t.store_id) == sum(len(p[4]) for p in PRODUCTS) + 2  # + V1, V2
    assert _count(conn, "refunds", t.store_id) == 1


def test_an_older_update_never_overwrites_a_newer_one(conn: Any) -> None:
    t = build_tenant(conn, f"persist-{uuid.uuid4().hex[:6]}")
    with conn.transaction():
        persist.upsert_products(conn, t.org_id, t.store_id, [_product(T0 + timedelta(hours=1), title="New title")])
        persist.upsert_products(conn, t.org_id, t.store_id, [_product(T0, title="Old title")])
    title = conn.execute("select title from products where store_id = %s and external_id = 'P1'",
                         (t.store_id,)).fetchone()["title"]
    assert title == "New title"


def test_a_variant_removed_on_the_platform_is_removed_here(conn: Any) -> None:
    t = build_tenant(conn, f"persist-{uuid.uuid4().hex[:6]}")
    with conn.transaction():
        persist.upsert_products(conn, t.org_id, t.store_id, [_product(T0, variants=("V1", "V2"))])
        persist.upsert_products(conn, t.org_id, t.store_id, [_product(T0 + timedelta(hours=1), variants=("V2",))])
    skus = conn.execute("select v.sku from variants v join products p on p.id = v.product_id "
                        "where p.store_id = %s and p.external_id = 'P1'", (t.store_id,)).fetchall()
    assert [r["sku"] for r in skus] == ["SKU-V2"]
    search = conn.execute("select skus from products where store_id = %s and external_id = 'P1'",
                          (t.store_id,)).fetchone()
    assert search["skus"] == ["SKU-V2"]
