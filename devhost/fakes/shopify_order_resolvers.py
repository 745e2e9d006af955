"""Resolvers of Order and what hangs off it (line items, refunds, refund lines, transactions).

Every resolver has the shape `(source, ctx, **graphql_args)` and returns JSON-ready values
(strings for money and times, enum names as strings), so the same tables serve graphql-core
and the bulk JSONL exporter. Child objects travel with their order (small named tuples),
because money needs the order's presentment currency and rate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from devhost.fakes.model import LineItem, Order, PaymentState, Refund, RefundLine, RestockType, share
from devhost.fakes.shopify_context import ShopifyContext
from devhost.fakes.shopify_ids import gid, iso, legacy_id
from devhost.fakes.shopify_paging import NestedConnection

Resolver = Callable[..., Any]
Bag = dict[str, dict[str, str]]


class OrderLine(NamedTuple):
    order: Order
    line: LineItem

    @property
    def id(self) -> int:
        return self.line.id


class OrderRefund(NamedTuple):
    order: Order
    refund: Refund

    @property
    def id(self) -> int:
        return self.refund.id


class RefundLineRef(NamedTuple):
    order: Order
    refund_line: RefundLine

    @property
    def id(self) -> int:
        return self.refund_line.id


def bag(ctx: ShopifyContext, order: Order, cents: int) -> Bag:
    """A MoneyBag: shop money plus what the buyer saw in the presentment currency."""
    return {
        "shopMoney": ctx.money(cents),
        "presentmentMoney": ctx.money(order.to_presentment(cents), order.presentment_currency),
    }


def _order_bag(cents_of: Callable[[Order], int]) -> Resolver:
    return lambda o, ctx: bag(ctx, o, cents_of(o))


def financial_status(order: Order) -> str:
    if order.payment is PaymentState.PENDING:
        return "PENDING"
    if order.payment is PaymentState.ON_HOLD:
        return "AUTHORIZED"
    if not order.refunds:
        return "PAID"
    return "REFUNDED" if order.refunded_cents >= order.total_cents else "PARTIALLY_REFUNDED"


def _refunded_discount_cents(order: Order) -> int:
    total = 0
    for refund in order.refunds:
        for rl in refund.lines:
            line = order.line_item(rl.line_item_id)
            total += share(line.line_discount_cents + line.order_discount_cents, rl.quantity, line.quantity)
    return total


def order_fields() -> dict[str, Resolver]:
    refunded_sub = lambda o: sum(r.subtotal_cents for r in o.refunds)  # noqa: E731
    refunded_tax = lambda o: sum(r.tax_cents for r in o.refunds)  # noqa: E731
    return {
        "id": lambda o, ctx: gid("Order", o.id),
        "legacyResourceId": lambda o, ctx: str(legacy_id("Order", o.id)),
        "name": lambda o, ctx: f"#{o.number}",
        "email": lambda o, ctx: o.email,
        "createdAt": lambda o, ctx: iso(o.created_at),
        "processedAt": lambda o, ctx: iso(o.processed_at),
        "updatedAt": lambda o, ctx: iso(o.updated_at),
        "closedAt": lambda o, ctx: iso(o.closed_at),
        "cancelledAt": lambda o, ctx: iso(o.cancelled_at),
        "closed": lambda o, ctx: o.closed_at is not None,
        "cancelReason": lambda o, ctx: o.cancel_reason,
        "test": lambda o, ctx: o.test,
        "displayFinancialStatus": lambda o, ctx: financial_status(o),
        "displayFulfillmentStatus": lambda o, ctx: "FULFILLED" if o.fulfilled else "UNFULFILLED",
        "currencyCode": lambda o, ctx: ctx.store.shop.currency,
        "presentmentCurrencyCode": lambda o, ctx: o.presentment_currency,
        "taxesIncluded": lambda o, ctx: False,
        "subtotalPriceSet": _order_bag(lambda o: o.subtotal_cents),
        "totalPriceSet": _order_bag(lambda o: o.total_cents),
        "totalDiscountsSet": _order_bag(lambda o: o.discount_cents),
        "totalTaxSet": _order_bag(lambda o: o.tax_cents),
        "totalShippingPriceSet": _order_bag(lambda o: o.shipping_cents),
        "totalRefundedSet": _order_bag(lambda o: o.refunded_cents),
        "totalRefundedShippingSet": _order_bag(lambda o: o.refunded_shipping_cents),
        "currentSubtotalPriceSet": _order_bag(lambda o: o.subtotal_cents - refunded_sub(o)),
        "currentTotalPriceSet": _order_bag(lambda o: o.total_cents - o.refunded_cents),
        "currentTotalDiscountsSet": _order_bag(lambda o: o.discount_cents - _refunded_discount_cents(o)),
        "currentTotalTaxSet": _order_bag(lambda o: o.tax_cents - refunded_tax(o)),
        "currentShippingPriceSet": _order_bag(lambda o: o.shipping_cents - o.refunded_shipping_cents),
        "customer": lambda o, ctx: None if o.customer_id is None else ctx.store.customer(o.customer_id),
        "lineItems": NestedConnection(lambda o, ctx: [OrderLine(o, line) for line in o.line_items]),
        "refunds": lambda o, ctx, first=None: [OrderRefund(o, r) for r in o.refunds][:first],
    }


def _line_bag(cents_of: Callable[[LineItem], int]) -> Resolver:
    return lambda ol, ctx: bag(ctx, ol.order, cents_of(ol.line))


def _discount_allocations(ol: OrderLine, ctx: ShopifyContext) -> list[dict[str, Bag]]:
    amounts = (ol.line.line_discount_cents, ol.line.order_discount_cents)
    return [{"allocatedAmountSet": bag(ctx, ol.order, cents)} for cents in amounts if cents]


def _variant_title(line: LineItem) -> str | None:
    """Shopify leaves it null for single-variant products ("Default Title") and custom lines."""
    return None if line.variant_title in ("", "Default Title") else line.variant_title


def line_item_fields() -> dict[str, Resolver]:
    def name(ol: OrderLine, ctx: ShopifyContext) -> str:
        variant = _variant_title(ol.line)
        return ol.line.title if variant is None else f"{ol.line.title} - {variant}"

    return {
        "id": lambda ol, ctx: gid("LineItem", ol.line.id),
        "name": name,
        "title": lambda ol, ctx: ol.line.title,
        "variantTitle": lambda ol, ctx: _variant_title(ol.line),
        "quantity": lambda ol, ctx: ol.line.quantity,
        "currentQuantity": lambda ol, ctx: ol.line.quantity - ol.order.refunded_quantity(ol.line.id),
        "sku": lambda ol, ctx: ol.line.sku,
        "requiresShipping": lambda ol, ctx: ol.line.variant_id is not None,
        "taxable": lambda ol, ctx: ol.line.tax_cents > 0,
        "originalUnitPriceSet": _line_bag(lambda li: li.unit_cents),
        "originalTotalSet": _line_bag(lambda li: li.original_total_cents),
        "discountedTotalSet": _line_bag(lambda li: li.discounted_total_cents),
        "totalDiscountSet": _line_bag(lambda li: li.line_discount_cents + li.order_discount_cents),
        "discountAllocations": _discount_allocations,
        "taxLines": lambda ol, ctx: [{"title": "Sales tax", "priceSet": bag(ctx, ol.order, ol.line.tax_cents)}],
        "variant": lambda ol, ctx: None if ol.line.variant_id is None else ctx.store.variant(ol.line.variant_id),
        "product": lambda ol, ctx: None if ol.line.product_id is None else ctx.store.product(ol.line.product_id),
    }


def transaction_fields() -> dict[str, Resolver]:
    """The money movement behind a refund: one successful REFUND transaction per refund."""
    return {
        "id": lambda r, ctx: gid("OrderTransaction", r.refund.id),
        "kind": lambda r, ctx: "REFUND",
        "status": lambda r, ctx: "SUCCESS",
        "processedAt": lambda r, ctx: iso(r.refund.created_at),
        "createdAt": lambda r, ctx: iso(r.refund.created_at),
        "gateway": lambda r, ctx: "bogus" if r.order.test else "shopify_payments",
        "test": lambda r, ctx: r.order.test,
        "amountSet": lambda r, ctx: bag(ctx, r.order, r.refund.total_cents),
    }


def refund_shipping_fields() -> dict[str, Resolver]:
    return {
        "id": lambda r, ctx: gid("RefundShippingLine", r.refund.id),
        "subtotalAmountSet": lambda r, ctx: bag(ctx, r.order, r.refund.shipping_cents),
        "taxAmountSet": lambda r, ctx: bag(ctx, r.order, 0),
    }


def refund_fields() -> dict[str, Resolver]:
    return {
        "id": lambda r, ctx: gid("Refund", r.refund.id),
        "legacyResourceId": lambda r, ctx: str(legacy_id("Refund", r.refund.id)),
        "createdAt": lambda r, ctx: iso(r.refund.created_at),
        "updatedAt": lambda r, ctx: iso(r.refund.created_at),
        "note": lambda r, ctx: r.refund.note,
        "totalRefundedSet": lambda r, ctx: bag(ctx, r.order, r.refund.total_cents),
        "order": lambda r, ctx: r.order,
        "refundLineItems": NestedConnection(lambda r, ctx: [RefundLineRef(r.order, rl) for rl in r.refund.lines]),
        # Both hang off the refund itself: one transaction each, a shipping line when shipping came back.
        "transactions": NestedConnection(lambda r, ctx: [r]),
        "refundShippingLines": NestedConnection(lambda r, ctx: [r] if r.refund.shipping_cents else []),
        "orderAdjustments": NestedConnection(lambda r, ctx: []),
    }


def refund_line_fields() -> dict[str, Resolver]:
    def line_of(ref: RefundLineRef) -> LineItem:
        return ref.order.line_item(ref.refund_line.line_item_id)

    return {
        "id": lambda ref, ctx: gid("RefundLineItem", ref.refund_line.id),
        "quantity": lambda ref, ctx: ref.refund_line.quantity,
        "restockType": lambda ref, ctx: str(ref.refund_line.restock_type),
        "restocked": lambda ref, ctx: ref.refund_line.restock_type is not RestockType.NO_RESTOCK,
        "lineItem": lambda ref, ctx: OrderLine(ref.order, line_of(ref)),
        "priceSet": lambda ref, ctx: bag(ctx, ref.order, line_of(ref).unit_cents),
        "subtotalSet": lambda ref, ctx: bag(ctx, ref.order, ref.refund_line.subtotal_cents),
        "totalTaxSet": lambda ref, ctx: bag(ctx, ref.order, ref.refund_line.tax_cents),
    }
