"""Webhook payloads → the platform-neutral records the sync stores (pure functions, no I/O).

Shopify sends REST-shaped resources (snake_case, numeric ids plus `admin_graphql_api_id`); every id is
normalised to its GID here, the form the sync stores. Amounts come from the `*_set.shop_money` bags
(the shop's currency, like the sync's shopMoney), falling back to the plain field. WooCommerce payloads
are the REST v3 resources the sync reads, so its own mapping applies (see the notes on refunds there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
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
from shared.stores.shopify.mapping import decimal, timestamp
from shared.stores.woocommerce import mapping as woo

Json = Mapping[str, Any]
ZERO = Decimal(0)


def gid(kind: str, value: Any) -> str:
    """`gid://shopify/<kind>/<id>` from a numeric id (or a GID already)."""
    if value is None or value == "":
        raise PlatformError(f"{kind} without an id")
    text = str(value)
    return text if text.startswith("gid://") else f"gid://shopify/{kind}/{text}"


def resource_gid(kind: str, raw: Json) -> str:
    given = raw.get("admin_graphql_api_id")
    return str(given) if given else gid(kind, raw.get("id"))


def _ref(kind: str, value: Any) -> str | None:
    return None if value in (None, "", 0) else gid(kind, value)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _amount(raw: Json, key: str) -> Decimal:
    """The shop-currency amount of `<key>_set`, else the plain `<key>` string; absent is zero."""
    bag = raw.get(f"{key}_set")
    if isinstance(bag, Mapping) and bag.get("shop_money"):
        return decimal(bag["shop_money"]["amount"])
    value = raw.get(key)
    return ZERO if value in (None, "") else decimal(value)


def _required_time(raw: Json, key: str) -> datetime:
    moment = timestamp(raw.get(key))
    if moment is None:
        raise PlatformError(f"{raw.get('id')} has no {key}")
    return moment


# -- Shopify: products -----------------------------------------------------------------------------------------


def shopify_variant(raw: Json) -> VariantRecord:
    quantity = raw.get("inventory_quantity")
    # inventory_management null = Shopify does not track it: the count means nothing.
    tracked = raw.get("inventory_management") is not None or "inventory_management" not in raw
    compare_at = raw.get("compare_at_price")
    return VariantRecord(
        external_id=resource_gid("ProductVariant", raw),
        sku=_text(raw.get("sku")),
        title=_text(raw.get("title")),
        price=decimal(raw.get("price") or "0"),
        compare_at_price=None if compare_at in (None, "") else decimal(compare_at),
        cost=None,  # not in the payload; apply keeps the stored cost
        inventory_quantity=int(quantity) if tracked and quantity is not None else None,
        created_at=timestamp(raw.get("created_at")),
        updated_at=timestamp(raw.get("updated_at")),
    )


def shopify_product(raw: Json) -> ProductRecord:
    tags = raw.get("tags") or ""
    tag_list = [t.strip() for t in tags.split(",")] if isinstance(tags, str) else [str(t) for t in tags]
    return ProductRecord(
        external_id=resource_gid("Product", raw),
        title=str(raw.get("title") or ""),
        status=str(raw.get("status") or "active").lower(),
        handle=_text(raw.get("handle")),
        vendor=_text(raw.get("vendor")),
        product_type=_text(raw.get("product_type")),
        tags=tuple(t for t in tag_list if t),
        created_at=timestamp(raw.get("created_at")),
        updated_at=timestamp(raw.get("updated_at")),
        variants=tuple(shopify_variant(v) for v in raw.get("variants") or ()),
    )


# -- Shopify: customers ----------------------------------------------------------------------------------------


def shopify_customer(raw: Json) -> CustomerRecord:
    """A customer; order count and amount spent are None when the API version no longer sends them."""
    orders = raw.get("orders_count", raw.get("number_of_orders"))
    spent = raw.get("total_spent")
    if spent is None and isinstance(raw.get("amount_spent"), Mapping):
        spent = raw["amount_spent"].get("amount")
    return CustomerRecord(
        external_id=resource_gid("Customer", raw),
        email=_text(raw.get("email")),
        first_name=_text(raw.get("first_name")),
        last_name=_text(raw.get("last_name")),
        orders_count=None if orders is None else int(orders),
        total_spent=None if spent in (None, "") else decimal(spent),
        created_at=timestamp(raw.get("created_at")),
        updated_at=timestamp(raw.get("updated_at")),
    )


# -- Shopify: orders and refunds -------------------------------------------------------------------------------


def _line_level_indexes(order: Json) -> set[int] | None:
    """Indexes of discount applications that are line-level (allocation "each"/"one"), as GraphQL's
    discountedTotalSet counts them; None when the payload lists no applications (then every allocation is
    taken as line-level)."""
    applications = order.get("discount_applications")
    if applications is None:
        return None
    return {i for i, app in enumerate(applications) if app.get("allocation_method") != "across"}


def shopify_line(raw: Json, line_level: set[int] | None) -> OrderLineRecord:
    quantity = int(raw.get("quantity") or 0)
    discount = ZERO
    for allocation in raw.get("discount_allocations") or ():
        index = allocation.get("discount_application_index")
        if line_level is None or index is None or index in line_level:
            discount += _amount(allocation, "amount")
    return OrderLineRecord(
        external_id=resource_gid("LineItem", raw),
        quantity=quantity,
        unit_price=_amount(raw, "price"),
        line_discount=discount,
        product_external_id=_ref("Product", raw.get("product_id")),
        variant_external_id=_ref("ProductVariant", raw.get("variant_id")),
        sku=_text(raw.get("sku")),
        title=_text(raw.get("name")) or _text(raw.get("title")),
    )


def shopify_refund(raw: Json, *, fallback_time: datetime | None = None) -> RefundRecord:
    """A refund: money returned = successful refund transactions; refunded shipping from the shipping
    lines (or the legacy shipping_refund adjustments); tax = line taxes + shipping tax."""
    lines = tuple(
        RefundLineRecord(
            line_external_id=gid("LineItem", rl.get("line_item_id") or (rl.get("line_item") or {}).get("id")),
            quantity=int(rl.get("quantity") or 0),
            subtotal=_amount(rl, "subtotal"),
            tax=_amount(rl, "total_tax"),
            restock_type=None if rl.get("restock_type") is None else str(rl["restock_type"]).lower(),
        )
        for rl in raw.get("refund_line_items") or ()
    )
    shipping_lines = raw.get("refund_shipping_lines") or ()
    shipping = sum((_amount(s, "subtotal_amount") for s in shipping_lines), ZERO)
    shipping_tax = sum((_amount(s, "tax_amount") for s in shipping_lines), ZERO)
    if not shipping_lines:
        for adj in raw.get("order_adjustments") or ():
            if adj.get("kind") == "shipping_refund":
                shipping += abs(_amount(adj, "amount"))
                shipping_tax += abs(_amount(adj, "tax_amount"))
    total = sum((_amount(t, "amount") for t in raw.get("transactions") or ()
                 if t.get("kind") == "refund" and t.get("status") == "success"), ZERO)
    refunded_at = timestamp(raw.get("created_at")) or fallback_time
    if refunded_at is None:
        raise PlatformError(f"refund {raw.get('id')} has no created_at")
    return RefundRecord(
        external_id=resource_gid("Refund", raw),
        refunded_at=refunded_at,
        total=total,
        shipping=shipping,
        tax=sum((line.tax for line in lines), shipping_tax),
        note=_text(raw.get("note")),
        lines=lines,
    )


def shopify_order(raw: Json) -> OrderRecord:
    updated = timestamp(raw.get("updated_at"))
    line_level = _line_level_indexes(raw)
    customer = raw.get("customer")
    financial = raw.get("financial_status")
    status = "cancelled" if raw.get("cancelled_at") else "closed" if raw.get("closed_at") else "open"
    return OrderRecord(
        external_id=resource_gid("Order", raw),
        placed_at=_required_time(raw, "created_at"),
        currency=str(raw.get("currency") or ""),
        name=_text(raw.get("name")),
        customer_external_id=resource_gid("Customer", customer) if customer and customer.get("id") else None,
        processed_at=timestamp(raw.get("processed_at")),
        updated_at=updated,
        cancelled_at=timestamp(raw.get("cancelled_at")),
        closed_at=timestamp(raw.get("closed_at")),
        test=bool(raw.get("test")),
        status=status,
        financial_status=None if financial is None else str(financial).lower(),
        presentment_currency=_text(raw.get("presentment_currency")),
        subtotal=_amount(raw, "subtotal_price"),
        total_discounts=_amount(raw, "total_discounts"),
        total_shipping=_amount(raw, "total_shipping_price"),
        total_tax=_amount(raw, "total_tax"),
        total_price=_amount(raw, "total_price"),
        lines=tuple(shopify_line(li, line_level) for li in raw.get("line_items") or ()),
        refunds=tuple(shopify_refund(r, fallback_time=updated) for r in raw.get("refunds") or ()),
    )


def shopify_order_customer(raw: Json) -> CustomerRecord | None:
    """The order's customer as far as the order says (stored only when we do not know it yet)."""
    customer = raw.get("customer")
    if not customer or not customer.get("id"):
        return None
    return shopify_customer(customer)


# -- WooCommerce -----------------------------------------------------------------------------------------------


def woo_order(raw: Json) -> OrderRecord:
    """An order from a webhook. Its `refunds` are summaries without dates, so no refund records come out
    (the caller must not drop the stored ones); the financial status still reflects them."""
    record = woo.order_record(raw, [])
    summaries: Sequence[Json] = raw.get("refunds") or ()
    if summaries and record.financial_status != "refunded":
        record = replace(record, financial_status="partially_refunded")
    return record


def woo_refund_ids(raw: Json) -> tuple[str, ...]:
    """The ids of the refunds an order webhook lists (summaries only: their dates and lines need a sync)."""
    return tuple(str(r["id"]) for r in raw.get("refunds") or () if isinstance(r, dict) and r.get("id") is not None)


def woo_product(raw: Json) -> ProductRecord:
    """A product from a webhook: a variable product's variations are not in it (ids only), so its record
    has no variants and the caller must keep the stored ones."""
    return woo.product_record(raw, [])
