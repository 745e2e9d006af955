"""Orders: newest first, filtered by store, customer, time and status; detail with lines and refunds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from shared.catalog.models import OrderDetail, OrderLinePublic, OrderSummary, RefundPublic
from shared.errors import NotFound
from shared.money import Money
from shared.pagination import decode_cursor, encode_cursor, page_of


@dataclass(frozen=True)
class OrderFilters:
    store_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    placed_from: datetime | None = None
    placed_to: datetime | None = None
    financial_status: str | None = None
    test: bool | None = None


_SELECT = "select o.* from orders o join stores s on s.id = o.store_id"


def _summary(row: dict[str, Any]) -> OrderSummary:
    c = row["currency"]
    return OrderSummary(
        id=row["id"], store_id=row["store_id"], external_id=row["external_id"], name=row["name"],
        customer_id=row["customer_id"], placed_at=row["placed_at"], cancelled_at=row["cancelled_at"],
        test=row["test"], status=row["status"], financial_status=row["financial_status"],
        presentment_currency=row["presentment_currency"], subtotal=Money.of(row["subtotal"], c),
        total_discounts=Money.of(row["total_discounts"], c), total_shipping=Money.of(row["total_shipping"], c),
        total_tax=Money.of(row["total_tax"], c), total_price=Money.of(row["total_price"], c),
    )


async def list_orders(conn: AsyncConnection[DictRow], f: OrderFilters, *, limit: int,
                      cursor: str | None) -> tuple[list[OrderSummary], str | None]:
    where = ["s.status = 'active'"]
    params: list[Any] = []
    for clause, value in (("o.store_id = %s", f.store_id), ("o.customer_id = %s", f.customer_id),
                          ("o.placed_at >= %s", f.placed_from), ("o.placed_at < %s", f.placed_to),
                          ("o.financial_status = %s", f.financial_status), ("o.test = %s", f.test)):
        if value is not None:
            where.append(clause)
            params.append(value)
    if cursor:
        placed, last_id = decode_cursor(cursor, "orders", (str, str))
        where.append("(o.placed_at, o.id) < (%s::timestamptz, %s::uuid)")
        params += [placed, last_id]
    sql = f"{_SELECT} where {' and '.join(where)} order by o.placed_at desc, o.id desc limit %s"
    cur = await conn.execute(sql, [*params, limit + 1])
    rows = await cur.fetchall()
    page, next_cursor = page_of(
        rows, limit, lambda r: encode_cursor("orders", [r["placed_at"].isoformat(), str(r["id"])])
    )
    return [_summary(r) for r in page], next_cursor


async def get_order(conn: AsyncConnection[DictRow], order_id: uuid.UUID) -> OrderDetail:
    cur = await conn.execute(f"{_SELECT} where o.id = %s", (order_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound("order not found")
    c = row["currency"]
    cur = await conn.execute("select * from order_lines where order_id = %s order by external_id", (order_id,))
    lines = [
        OrderLinePublic(id=r["id"], product_id=r["product_id"], variant_id=r["variant_id"], sku=r["sku"],
                        title=r["title"], quantity=r["quantity"], unit_price=Money.of(r["unit_price"], c),
                        line_discount=Money.of(r["line_discount"], c))
        for r in await cur.fetchall()
    ]
    cur = await conn.execute("select * from refunds where order_id = %s order by refunded_at", (order_id,))
    refunds = [RefundPublic(id=r["id"], refunded_at=r["refunded_at"], total=Money.of(r["total"], c), note=r["note"])
               for r in await cur.fetchall()]
    return OrderDetail(**_summary(row).model_dump(), lines=lines, refunds=refunds)
