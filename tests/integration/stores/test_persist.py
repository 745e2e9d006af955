"""Bulk upserts: idempotent, newest wins, children tied to parents by external id, edits drop removed rows."""

from __future__ import annotations

import uuid
from dataclasses import replace
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


def _lines_and_refunds(conn: Any, store_id: uuid.UUID, order: str) -> tuple[list[str], list[str], list[str]]:
    def ids(query: str) -> list[str]:
        return sorted(r["x"] for r in conn.execute(query, (store_id, order)).fetchall())
    return (ids("select l.external_id as x from order_lines l join orders o on o.id = l.order_id "
                "where o.store_id = %s and o.external_id = %s"),
            ids("select r.external_id as x from refunds r join orders o on o.id = r.order_id "
                "where o.store_id = %s and o.external_id = %s"),
            ids("select rl.line_external_id as x from refund_lines rl join refunds r on r.id = rl.refund_id "
                "join orders o on o.id = r.order_id where o.store_id = %s and o.external_id = %s"))


def test_array_columns_keep_ragged_rows_apart(conn: Any) -> None:
    t = build_tenant(conn, f"persist-{uuid.uuid4().hex[:6]}")
    odd = ('quote "q", comma', "{brace}", "back\\slash", "ünï", "")
    products = [
        ProductRecord(external_id="PA", title="None", status="active"),
        ProductRecord(external_id="PB", title="Odd", status="active", tags=odd, variants=(
            VariantRecord(external_id="VB1", sku="B1", title=None, price=Decimal(1)),
            VariantRecord(external_id="VB2", sku=None, title=None, price=Decimal(1)),
            VariantRecord(external_id="VB3", sku="B,3", title=None, price=Decimal(1)))),
        ProductRecord(external_id="PC", title="One", status="active", tags=("x",)),
    ]
    with conn.transaction():
        persist.upsert_products(conn, t.org_id, t.store_id, products)
    rows = conn.execute("select external_id, tags, skus from products where store_id = %s "
                        "and external_id like 'P_' order by external_id", (t.store_id,)).fetchall()
    assert [(r["external_id"], r["tags"], r["skus"]) for r in rows] == [
        ("PA", [], []), ("PB", list(odd), ["B1", "B,3"]), ("PC", ["x"], [])]


def test_unknown_amounts_and_counts_stay_null(conn: Any) -> None:
    t = build_tenant(conn, f"persist-{uuid.uuid4().hex[:6]}")
    variant = VariantRecord(external_id="VN", sku=None, title=None, price=Decimal("9.99"))
    an_int: Any = 3  # not the declared Decimal, yet a plain number: stored as one
    with conn.transaction():
        persist.upsert_products(conn, t.org_id, t.store_id, [ProductRecord(
            external_id="PN", title="N", status="active", variants=(variant,))])
        persist.upsert_customers(conn, t.org_id, t.store_id, [
            CustomerRecord(external_id="CN1"), CustomerRecord(external_id="CN2", total_spent=Decimal("1.50")),
            CustomerRecord(external_id="CN3", total_spent=an_int)])
    row = conn.execute("select price, compare_at_price, cost, inventory_quantity, created_at_platform from variants "
                       "where store_id = %s and external_id = 'VN'", (t.store_id,)).fetchone()
    assert row == {"price": Decimal("9.99"), "compare_at_price": None, "cost": None, "inventory_quantity": None,
                   "created_at_platform": None}
    spent = conn.execute("select external_id, total_spent, orders_count from customers where store_id = %s "
                         "and external_id like 'CN_' order by 1", (t.store_id,)).fetchall()
    assert [tuple(r.values()) for r in spent] == [("CN1", None, None), ("CN2", Decimal("1.50"), None),
                                                  ("CN3", Decimal(3), None)]


def test_an_edit_drops_removed_lines_and_refunds_of_that_order_only(conn: Any) -> None:
    t = build_tenant(conn, f"persist-{uuid.uuid4().hex[:6]}")
    line = OrderLineRecord(external_id="L1", quantity=1, unit_price=Decimal(5))
    refund = RefundRecord(external_id="R1", refunded_at=T0, total=Decimal(5),
                          lines=(RefundLineRecord(line_external_id="L1", quantity=1, subtotal=Decimal(5)),))
    full = OrderRecord(external_id="O1", placed_at=T0, currency="EUR", updated_at=T0, lines=(
        line, OrderLineRecord(external_id="L2", quantity=3, unit_price=Decimal(2))), refunds=(
        refund, RefundRecord(external_id="R2", refunded_at=T0, total=Decimal(2), lines=(
            RefundLineRecord(line_external_id="L2", quantity=1, subtotal=Decimal(2)),))))
    other = OrderRecord(external_id="O2", placed_at=T0, currency="EUR", updated_at=T0,
                        lines=(OrderLineRecord(external_id="L9", quantity=1, unit_price=Decimal(1)),))
    with conn.transaction():
        written = persist.upsert_orders(conn, t.org_id, t.store_id, [full, other])
        assert written == 2 + 3 + 2 + 2  # orders, lines, refunds, refund lines
        edited = OrderRecord(external_id="O1", placed_at=T0, currency="EUR", updated_at=T0 + timedelta(hours=1),
                             lines=(line,), refunds=(refund,))
        assert persist.upsert_orders(conn, t.org_id, t.store_id, [edited]) == 1 + 1 + 1 + 1
    assert _lines_and_refunds(conn, t.store_id, "O1") == (["L1"], ["R1"], ["L1"])
    assert _lines_and_refunds(conn, t.store_id, "O2") == (["L9"], [], [])


def test_an_older_order_in_a_batch_leaves_the_newer_one(conn: Any) -> None:
    t = build_tenant(conn, f"persist-{uuid.uuid4().hex[:6]}")

    def order(external_id: str, updated: datetime, total: str) -> OrderRecord:
        return OrderRecord(external_id=external_id, placed_at=T0, currency="EUR", updated_at=updated,
                           total_price=Decimal(total))
    with conn.transaction():
        persist.upsert_orders(conn, t.org_id, t.store_id, [order("OA", T0 + timedelta(hours=1), "10.00")])
        written = persist.upsert_orders(conn, t.org_id, t.store_id, [order("OA", T0, "1.00"), order("OB", T0, "2.00")])
    assert written == 1
    totals = conn.execute("select external_id, total_price from orders where store_id = %s "
                          "and external_id in ('OA', 'OB') order by 1", (t.store_id,)).fetchall()
    assert [tuple(r.values()) for r in totals] == [("OA", Decimal("10.00")), ("OB", Decimal("2.00"))]


def test_an_older_order_leaves_the_newer_ones_lines_and_refunds_alone(conn: Any) -> None:
    """A sync page read before a webhook applied a newer version must not roll the order's children back."""
    t = build_tenant(conn, f"persist-{uuid.uuid4().hex[:6]}")
    newer = _order(T0 + timedelta(hours=1))
    older = replace(_order(T0), lines=(replace(newer.lines[0], external_id="L-OLD"),), refunds=())
    with conn.transaction():
        persist.upsert_products(conn, t.org_id, t.store_id, [_product(T0)])
        persist.upsert_orders(conn, t.org_id, t.store_id, [newer])
        assert persist.upsert_orders(conn, t.org_id, t.store_id, [older]) == 0
    assert _lines_and_refunds(conn, t.store_id, "O1") == (["L1"], ["R1"], ["L1"])
