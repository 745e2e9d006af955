"""Situations planted in the demo store for the advisor to find (docs/decisions/0007-advisor.md).

Planted after the orders are generated, without drawing from the generator's random stream (so everything
else stays byte for byte what it was), and only by changing stock, a product's status and adding refunds, so
the store's own model stays the truth every sync test compares the database with:

- stock-out: the best seller of the last 28 days keeps about 4 days of its recent sales in stock;
- healthy: another top seller (no refunds lately) keeps about 45 days of stock; nothing should fire on it;
- dead stock: a draft product (when there are two or more) becomes active with stock and no sale at all;
- refund spike: every line of the third best seller on a paid order of the last 14 days is refunded.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from devhost.fakes.model import (
    Order,
    PaymentState,
    Planted,
    Product,
    ProductStatus,
    Refund,
    RefundLine,
    RestockType,
)

RECENT_DAYS = 28
SPIKE_DAYS = 14
STOCKOUT_COVER_DAYS = 4
HEALTHY_COVER_DAYS = 45
DEAD_STOCK_UNITS = 12


def _counting(order: Order) -> bool:
    return not order.test and not order.deleted and order.payment is PaymentState.PAID and order.cancelled_at is None


def _recent_units(orders: tuple[Order, ...], since: datetime) -> Counter[int]:
    units: Counter[int] = Counter()
    for order in orders:
        if order.created_at >= since and _counting(order):
            for line in order.line_items:
                if line.product_id is not None:
                    units[line.product_id] += line.quantity
    return units


def _set_stock(product: Product, total: int) -> None:
    for i, variant in enumerate(product.variants):
        variant.inventory = total if i == 0 else 0


def _refunded_lately(orders: tuple[Order, ...], product_id: int, since: datetime) -> bool:
    return any(r.created_at >= since and any(o.line_item(rl.line_item_id).product_id == product_id for rl in r.lines)
               for o in orders for r in o.refunds)


def _plant_refunds(orders: tuple[Order, ...], product_id: int, as_of: datetime) -> None:
    since = as_of - timedelta(days=SPIKE_DAYS)
    refund_id = max((r.id for o in orders for r in o.refunds), default=0)
    line_id = max((rl.id for o in orders for r in o.refunds for rl in r.lines), default=0)
    for order in orders:
        fresh = as_of - order.created_at < timedelta(hours=2)
        if order.created_at < since or fresh or order.refunds or not _counting(order):
            continue
        lines = [li for li in order.line_items if li.product_id == product_id]
        if not lines:
            continue
        at = (order.created_at + (as_of - order.created_at) / 2).replace(microsecond=0)
        refund_id += 1
        refund_lines = []
        for li in lines:
            line_id += 1
            refund_lines.append(RefundLine(line_id, li.id, li.quantity, li.net_cents, li.tax_cents, RestockType.RETURN))
        order.refunds = (Refund(refund_id, order.id, at, "Defective batch", tuple(refund_lines), 0),)
        order.updated_at = min(max(order.updated_at, at + timedelta(seconds=60)), as_of)


def plant_situations(products: tuple[Product, ...], orders: tuple[Order, ...], as_of: datetime) -> Planted:
    active = {p.id: p for p in products if p.status is ProductStatus.ACTIVE}
    units = _recent_units(orders, as_of - timedelta(days=RECENT_DAYS))
    sellers = [pid for pid, n in sorted(units.items(), key=lambda kv: (-kv[1], kv[0])) if pid in active and n >= 3]
    if len(sellers) < 3:
        return Planted()
    stockout, spike = sellers[0], sellers[2]
    quiet = as_of - timedelta(days=RECENT_DAYS + 84)
    healthy = next((p for p in sellers[1:6] if p != spike and not _refunded_lately(orders, p, quiet)), sellers[1])
    _set_stock(active[stockout], max(1, units[stockout] * STOCKOUT_COVER_DAYS // RECENT_DAYS))
    _set_stock(active[healthy], units[healthy] * HEALTHY_COVER_DAYS // RECENT_DAYS + 5)
    _plant_refunds(orders, spike, as_of)
    drafts = [p for p in products if p.status is ProductStatus.DRAFT]
    dead = 0
    if len(drafts) >= 2:
        drafts[0].status = ProductStatus.ACTIVE
        for variant in drafts[0].variants:
            variant.inventory = DEAD_STOCK_UNITS
        dead = drafts[0].id
    return Planted(stockout=stockout, healthy=healthy, dead_stock=dead, refund_spike=spike)
