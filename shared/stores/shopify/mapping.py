"""Shopify GraphQL JSON → platform-neutral records (shared/stores/records.py).

Amounts are `shopMoney` parsed with Decimal from their strings (Shopify writes "12.5", not "12.50").
Timestamps become tz-aware UTC. A node that lacks a required field is a PlatformError, never a
silently wrong record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.stores.platform import PlatformError
from shared.stores.records import (
    CustomerRecord,
    OrderLineRecord,
    OrderRecord,
    ProductRecord,
    RefundLineRecord,
    RefundRecord,
    VariantRecord,
)

Node = Mapping[str, Any]
ZERO = Decimal(0)
# Shopify's product statuses; a newer one (reference §7: unverified) is kept, lowercased.
_PRODUCT_STATUS = {"ACTIVE": "active", "DRAFT": "draft", "ARCHIVED": "archived"}


def decimal(value: Any) -> Decimal:
    if isinstance(value, float) or value is None:
        raise PlatformError(f"expected a decimal string, got {value!r}")
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise PlatformError(f"not a decimal: {value!r}") from exc


def money(bag: Node | None) -> Decimal:
    """A MoneyBag's shop amount; a null bag (Shopify leaves some optional) is zero."""
    if bag is None:
        return ZERO
    return decimal(bag["shopMoney"]["amount"])


def timestamp(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise PlatformError(f"not a timestamp: {value!r}") from exc
    # Shopify's DateTime always carries its offset; a bare one would be UTC by Shopify's convention.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def required_time(node: Node, key: str) -> datetime:
    moment = timestamp(node.get(key))
    if moment is None:
        raise PlatformError(f"{node.get('id')} has no {key}")
    return moment


def _text(value: Any) -> str | None:
    """Shopify writes "" for an unset string (productType, vendor, sku): store it as unknown."""
    return value if isinstance(value, str) and value else None


def _ref(value: Node | None) -> str | None:
    return None if value is None else str(value["id"])


def variant_record(node: Node) -> VariantRecord:
    item = node.get("inventoryItem") or {}
    unit_cost = item.get("unitCost")
    tracked = item.get("tracked", True)
    quantity = node.get("inventoryQuantity")
    return VariantRecord(
        external_id=node["id"],
        sku=_text(node.get("sku")),
        title=_text(node.get("title")),
        price=decimal(node["price"]),
        compare_at_price=None if node.get("compareAtPrice") is None else decimal(node["compareAtPrice"]),
        cost=None if unit_cost is None else decimal(unit_cost["amount"]),
        # An untracked item reports a meaningless count (often 0): the record says "not tracked".
        inventory_quantity=int(quantity) if tracked and quantity is not None else None,
        created_at=timestamp(node.get("createdAt")),
        updated_at=timestamp(node.get("updatedAt")),
    )


def product_record(node: Node, variants: Iterable[VariantRecord] = ()) -> ProductRecord:
    status = str(node["status"])
    return ProductRecord(
        external_id=node["id"],
        title=node["title"],
        status=_PRODUCT_STATUS.get(status, status.lower()),
        handle=_text(node.get("handle")),
        vendor=_text(node.get("vendor")),
        product_type=_text(node.get("productType")),
        tags=tuple(node.get("tags") or ()),
        created_at=timestamp(node.get("createdAt")),
        updated_at=timestamp(node.get("updatedAt")),
        variants=tuple(variants),
    )


def customer_record(node: Node) -> CustomerRecord:
    orders = node.get("numberOfOrders")  # UnsignedInt64: a string
    spent = node.get("amountSpent")
    return CustomerRecord(
        external_id=node["id"],
        email=_text(node.get("email")),
        first_name=_text(node.get("firstName")),
        last_name=_text(node.get("lastName")),
        orders_count=None if orders is None else int(orders),
        total_spent=None if spent is None else decimal(spent["amount"]),
        created_at=timestamp(node.get("createdAt")),
        updated_at=timestamp(node.get("updatedAt")),
    )


def line_record(node: Node) -> OrderLineRecord:
    # discountedTotalSet has line-level discounts only (order-level shares are in discountAllocations and the
    # order's totalDiscountsSet), which is what the record's line_discount means.
    quantity = int(node["quantity"])
    unit_price = money(node["originalUnitPriceSet"])
    return OrderLineRecord(
        external_id=node["id"],
        quantity=quantity,
        unit_price=unit_price,
        line_discount=unit_price * quantity - money(node["discountedTotalSet"]),
        product_external_id=_ref(node.get("product")),
        variant_external_id=_ref(node.get("variant")),
        sku=_text(node.get("sku")),
        title=_text(node.get("name")),
    )


def refund_line_record(node: Node) -> RefundLineRecord:
    restock = node.get("restockType")
    return RefundLineRecord(
        line_external_id=node["lineItem"]["id"],
        quantity=int(node["quantity"]),
        subtotal=money(node["subtotalSet"]),
        tax=money(node.get("totalTaxSet")),
        restock_type=None if restock is None else str(restock).lower(),
    )


def refund_record(node: Node, *, fallback_time: datetime) -> RefundRecord:
    """A refund with its lines; `fallback_time` dates the rare refund without createdAt (Refund.createdAt is
    nullable) — the order's updatedAt, which every refund bumps."""
    lines = tuple(refund_line_record(n) for n in _nodes(node.get("refundLineItems")))
    shipping = list(_nodes(node.get("refundShippingLines")))
    return RefundRecord(
        external_id=node["id"],
        refunded_at=timestamp(node.get("createdAt")) or fallback_time,
        total=money(node.get("totalRefundedSet")),
        shipping=sum((money(s["subtotalAmountSet"]) for s in shipping), ZERO),
        tax=sum((line.tax for line in lines), ZERO) + sum((money(s.get("taxAmountSet")) for s in shipping), ZERO),
        note=_text(node.get("note")),
        lines=lines,
    )


def order_status(node: Node) -> str:
    if node.get("cancelledAt"):
        return "cancelled"
    return "closed" if node.get("closedAt") else "open"


def order_record(node: Node, lines: Sequence[OrderLineRecord] = (),
                 refunds: Sequence[RefundRecord] = ()) -> OrderRecord:
    financial = node.get("displayFinancialStatus")
    customer = node.get("customer")
    return OrderRecord(
        external_id=node["id"],
        placed_at=required_time(node, "createdAt"),
        currency=str(node["currencyCode"]),
        name=_text(node.get("name")),
        customer_external_id=_ref(customer),
        processed_at=timestamp(node.get("processedAt")),
        updated_at=timestamp(node.get("updatedAt")),
        cancelled_at=timestamp(node.get("cancelledAt")),
        closed_at=timestamp(node.get("closedAt")),
        test=bool(node.get("test")),
        status=order_status(node),
        financial_status=None if financial is None else str(financial).lower(),
        presentment_currency=node.get("presentmentCurrencyCode"),
        # Shopify's subtotal is after line *and* order-level discounts (see the client's notes).
        subtotal=money(node.get("subtotalPriceSet")),
        total_discounts=money(node.get("totalDiscountsSet")),
        total_shipping=money(node.get("totalShippingPriceSet")),
        total_tax=money(node.get("totalTaxSet")),
        total_price=money(node.get("totalPriceSet")),
        lines=tuple(lines),
        refunds=tuple(refunds),
    )


def refunds_of(order: Node) -> list[RefundRecord]:
    fallback = required_time(order, "updatedAt")
    return [refund_record(r, fallback_time=fallback) for r in order.get("refunds") or ()]


def _nodes(connection: Node | None) -> Iterable[Node]:
    if connection is None:
        return ()
    if "nodes" in connection:
        return connection["nodes"] or ()
    return (edge["node"] for edge in connection.get("edges") or ())


def nodes(connection: Node | None) -> list[Node]:
    return list(_nodes(connection))


def has_next(connection: Node | None) -> bool:
    return bool(connection and (connection.get("pageInfo") or {}).get("hasNextPage"))
