"""Orders and refunds in WooCommerce REST v3 shapes (reference §5).

Refunds: on the order only as a summary with a negative `total`; in full from
`/orders/{id}/refunds` and `/refunds` with a positive `amount` and negative line quantities and
totals (how core stores refund items), each line pointing at its order line through the
`_refunded_item_id` meta.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from devhost.fakes.model import Order, PaymentState, Refund, StoreModel
from devhost.fakes.woocommerce_render import WC_VERSION, WooRenderer, symbol, woo_order_status


def render_order(renderer: WooRenderer, store: StoreModel, order: Order, site: str) -> dict[str, Any]:
    currency, fmt = renderer.converter(order)
    customer = None if order.customer_id is None else store.customer(order.customer_id)
    first, last = (customer.first_name, customer.last_name) if customer else ("Guest", str(order.id))
    address = renderer.store_address() | {"first_name": first, "last_name": last}
    status = woo_order_status(order)
    paid = order.payment is PaymentState.PAID
    return {
        "id": order.id, "parent_id": 0, "status": status, "currency": currency, "version": WC_VERSION,
        "prices_include_tax": False,
        **renderer.dates("date_created", order.created_at), **renderer.dates("date_modified", order.updated_at),
        "discount_total": fmt(order.discount_cents), "discount_tax": "0.00",
        "shipping_total": fmt(order.shipping_cents), "shipping_tax": "0.00",
        "cart_tax": fmt(order.tax_cents), "total": fmt(order.total_cents), "total_tax": fmt(order.tax_cents),
        "customer_id": order.customer_id or 0, "order_key": f"wc_order_{order.id:08x}",
        "billing": {**address, "email": order.email, "phone": ""}, "shipping": {**address, "phone": ""},
        "payment_method": "woocommerce_payments", "payment_method_title": "Credit card / debit card",
        "transaction_id": f"pi_{order.id:012d}" if paid else "",
        "customer_ip_address": "", "customer_user_agent": "", "created_via": "checkout", "customer_note": "",
        **renderer.dates("date_completed", order.closed_at if status == "completed" else None),
        **renderer.dates("date_paid", order.processed_at if paid else None),
        "cart_hash": "", "number": str(order.number),
        "meta_data": [{"id": 7_000_000 + order.id, "key": "_wcpay_mode", "value": "test" if order.test else "prod"},
                      *renderer.currency_meta(order)],
        "line_items": [renderer.line_item(order, line, fmt) for line in order.line_items],
        "tax_lines": _tax_lines(renderer, order, fmt),
        "shipping_lines": [_shipping_line(renderer, order, order.shipping_cents, fmt)],
        "fee_lines": [],
        "coupon_lines": _coupon_lines(renderer, order, fmt),
        "refunds": [renderer.refund_summary(refund, fmt) for refund in order.refunds],
        "payment_url": f"{site}/checkout/order-pay/{order.id}/", "is_editable": status in ("pending", "on-hold"),
        "needs_payment": status in ("pending", "failed"), "needs_processing": True,
        "currency_symbol": symbol(currency),
        "_links": {"self": [{"href": f"{site}/wp-json/wc/v3/orders/{order.id}"}]},
    }


def _tax_lines(renderer: WooRenderer, order: Order, fmt: Callable[[int], str]) -> list[dict[str, Any]]:
    if not order.tax_cents:
        return []
    return [{
        "id": renderer.shipping_line_id(order) + 10_000_000, "rate_code": "US-NY-TAX-1", "rate_id": 1,
        "label": "Tax", "compound": False, "tax_total": fmt(order.tax_cents), "shipping_tax_total": "0.00",
        "meta_data": [],
    }]


def _shipping_line(renderer: WooRenderer, order: Order, cents: int, fmt: Callable[[int], str]) -> dict[str, Any]:
    free = order.shipping_cents == 0
    return {
        "id": renderer.shipping_line_id(order), "method_title": "Free shipping" if free else "Flat rate",
        "method_id": "free_shipping" if free else "flat_rate", "instance_id": "1",
        "total": fmt(cents), "total_tax": "0.00", "taxes": [], "meta_data": [],
    }


def _coupon_lines(renderer: WooRenderer, order: Order, fmt: Callable[[int], str]) -> list[dict[str, Any]]:
    if not order.discount_cents:
        return []
    return [{
        "id": renderer.shipping_line_id(order) + 20_000_000, "code": "save", "discount": fmt(order.discount_cents),
        "discount_tax": "0.00", "meta_data": [],
    }]


def render_refund(renderer: WooRenderer, order: Order, refund: Refund, site: str) -> dict[str, Any]:
    _, fmt = renderer.converter(order)
    lines = []
    for rl in refund.lines:
        line = order.line_item(rl.line_item_id)
        item = renderer.line_item(order, line, fmt)
        item.update({
            "id": 30_000_000 + rl.id,
            "quantity": -rl.quantity,
            "subtotal": fmt(-rl.subtotal_cents), "subtotal_tax": fmt(-rl.tax_cents),
            "total": fmt(-rl.subtotal_cents), "total_tax": fmt(-rl.tax_cents),
            "taxes": [{"id": 1, "total": fmt(-rl.tax_cents), "subtotal": fmt(-rl.tax_cents)}],
            "meta_data": [{"id": 31_000_000 + rl.id, "key": "_refunded_item_id", "value": str(line.id)}],
            "price": -float(fmt(rl.subtotal_cents)) / rl.quantity,
        })
        lines.append(item)
    shipping = [_shipping_line(renderer, order, -refund.shipping_cents, fmt)] if refund.shipping_cents else []
    return {
        "id": renderer.refund_id(refund), "parent_id": order.id,
        **renderer.dates("date_created", refund.created_at),
        "amount": fmt(refund.total_cents), "reason": refund.note, "refunded_by": 1, "refunded_payment": True,
        "meta_data": [], "line_items": lines, "shipping_lines": shipping, "tax_lines": [], "fee_lines": [],
        "_links": {"self": [{"href": f"{site}/wp-json/wc/v3/orders/{order.id}/refunds/{renderer.refund_id(refund)}"}],
                   "up": [{"href": f"{site}/wp-json/wc/v3/orders/{order.id}"}]},
    }
