"""Webhook payloads (Shopify REST shape, WooCommerce v3) → records, with Shopify ids normalised to GIDs."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.stores.platform import PlatformError
from shared.webhooks import payloads


def shopify_order(**overrides: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": 820982911946154508, "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
        "name": "#9999", "currency": "EUR", "presentment_currency": "USD", "test": False,
        "created_at": "2026-11-20T10:00:00-05:00", "updated_at": "2026-11-21T12:00:00Z",
        "processed_at": "2026-11-20T10:00:01-05:00", "cancelled_at": None, "closed_at": None,
        "financial_status": "partially_refunded",
        "subtotal_price": "999.00", "subtotal_price_set": {"shop_money": {"amount": "90.00", "currency_code": "EUR"}},
        "total_discounts_set": {"shop_money": {"amount": "10.00"}},
        "total_shipping_price_set": {"shop_money": {"amount": "4.95"}},
        "total_tax_set": {"shop_money": {"amount": "17.10"}},
        "total_price_set": {"shop_money": {"amount": "112.05"}},
        "customer": {"id": 115310627314723954, "email": "john@example.com", "first_name": "John",
                     "last_name": "Smith", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-11-20T15:00:00Z"},
        "discount_applications": [
            {"target_type": "line_item", "allocation_method": "one", "target_selection": "explicit"},
            {"target_type": "line_item", "allocation_method": "across", "target_selection": "all"},
        ],
        "line_items": [
            {"id": 866550311766439020, "admin_graphql_api_id": "gid://shopify/LineItem/866550311766439020",
             "quantity": 2, "price": "40.00", "price_set": {"shop_money": {"amount": "45.00"}},
             "product_id": 632910392, "variant_id": 808950810, "sku": "IPOD-1", "name": "IPod Nano - 8gb",
             "discount_allocations": [
                 {"amount": "5.00", "amount_set": {"shop_money": {"amount": "5.00"}}, "discount_application_index": 0},
                 {"amount": "3.00", "amount_set": {"shop_money": {"amount": "3.00"}}, "discount_application_index": 1},
             ]},
            {"id": 141249953214522974, "quantity": 1, "price_set": {"shop_money": {"amount": "10.00"}},
             "product_id": None, "variant_id": None, "sku": "", "title": "Gift wrap", "discount_allocations": []},
        ],
        "refunds": [{
            "id": 509562969, "admin_graphql_api_id": "gid://shopify/Refund/509562969", "order_id": 820982911946154508,
            "created_at": "2026-11-21T11:00:00Z", "note": "too big",
            "refund_line_items": [{"line_item_id": 866550311766439020, "quantity": 1, "restock_type": "return",
                                   "subtotal_set": {"shop_money": {"amount": "40.00"}},
                                   "total_tax_set": {"shop_money": {"amount": "7.60"}}}],
            "transactions": [{"kind": "refund", "status": "success", "amount": "52.55"},
                             {"kind": "refund", "status": "failure", "amount": "52.55"}],
            "order_adjustments": [{"kind": "shipping_refund", "amount": "-4.95", "tax_amount": "0.00"}],
        }],
    }
    return order | overrides


def test_shopify_order_ids_are_gids_and_amounts_are_shop_money() -> None:
    order = payloads.shopify_order(shopify_order())
    assert order.external_id == "gid://shopify/Order/820982911946154508"
    assert order.customer_external_id == "gid://shopify/Customer/115310627314723954"
    assert order.placed_at == datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    assert order.updated_at == datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    assert (order.currency, order.presentment_currency, order.status) == ("EUR", "USD", "open")
    assert (order.subtotal, order.total_discounts, order.total_shipping, order.total_tax, order.total_price) == (
        Decimal("90.00"), Decimal("10.00"), Decimal("4.95"), Decimal("17.10"), Decimal("112.05"))
    first, second = order.lines
    assert first.external_id == "gid://shopify/LineItem/866550311766439020"
    assert (first.product_external_id, first.variant_external_id) == (
        "gid://shopify/Product/632910392", "gid://shopify/ProductVariant/808950810")
    # Shop money, and only the line-level ("one") allocation: the "across" one is order-level.
    assert (first.unit_price, first.line_discount, first.quantity) == (Decimal("45.00"), Decimal("5.00"), 2)
    assert second.external_id == "gid://shopify/LineItem/141249953214522974"
    assert (second.product_external_id, second.sku, second.title) == (None, None, "Gift wrap")


def test_shopify_order_refunds() -> None:
    (refund,) = payloads.shopify_order(shopify_order()).refunds
    assert refund.external_id == "gid://shopify/Refund/509562969"
    assert refund.total == Decimal("52.55")  # successful refund transactions only
    assert (refund.shipping, refund.tax) == (Decimal("4.95"), Decimal("7.60"))
    (line,) = refund.lines
    assert (line.line_external_id, line.quantity, line.subtotal, line.restock_type) == (
        "gid://shopify/LineItem/866550311766439020", 1, Decimal("40.00"), "return")


def test_shopify_cancelled_order_and_missing_created_at() -> None:
    cancelled = payloads.shopify_order(shopify_order(cancelled_at="2026-11-22T00:00:00Z", customer=None))
    assert (cancelled.status, cancelled.customer_external_id) == ("cancelled", None)
    with pytest.raises(PlatformError):
        payloads.shopify_order(shopify_order(created_at=None))


def test_shopify_refunds_create_payload() -> None:
    raw = shopify_order()["refunds"][0] | {"refund_shipping_lines": [
        {"subtotal_amount_set": {"shop_money": {"amount": "3.00"}},
         "tax_amount_set": {"shop_money": {"amount": "0.57"}}}]}
    refund = payloads.shopify_refund(raw)
    # Shipping lines win over the legacy adjustments.
    assert (refund.shipping, refund.tax) == (Decimal("3.00"), Decimal("8.17"))


def test_shopify_product_with_variants() -> None:
    product = payloads.shopify_product({
        "id": 788032119674292922, "title": "Example T-Shirt", "handle": "example-t-shirt", "status": "active",
        "vendor": "Acme", "product_type": "", "tags": "example, mens, t-shirt",
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-11-21T00:00:00Z",
        "variants": [
            {"id": 642667041472713922, "title": "Small", "sku": "TS-S", "price": "19.99", "compare_at_price": "24.99",
             "inventory_quantity": 75, "inventory_management": "shopify", "updated_at": "2026-11-21T00:00:00Z"},
            {"id": 757650484644203962, "title": "Medium", "sku": "", "price": "19.99", "compare_at_price": None,
             "inventory_quantity": 0, "inventory_management": None},
        ],
    })
    assert product.external_id == "gid://shopify/Product/788032119674292922"
    assert (product.status, product.product_type, product.tags) == ("active", None, ("example", "mens", "t-shirt"))
    small, medium = product.variants
    assert small.external_id == "gid://shopify/ProductVariant/642667041472713922"
    assert (small.price, small.compare_at_price, small.inventory_quantity, small.cost) == (
        Decimal("19.99"), Decimal("24.99"), 75, None)
    assert (medium.sku, medium.inventory_quantity) == (None, None)  # untracked: no meaningful count


def test_shopify_customer_old_and_new_count_fields() -> None:
    old = payloads.shopify_customer({"id": 1, "email": "a@b.c", "orders_count": 3, "total_spent": "12.50"})
    assert (old.external_id, old.orders_count, old.total_spent) == ("gid://shopify/Customer/1", 3, Decimal("12.50"))
    new = payloads.shopify_customer({"id": 2, "number_of_orders": "4", "amount_spent": {"amount": "7.00"}})
    assert (new.orders_count, new.total_spent, new.email) == (4, Decimal("7.00"), None)


def test_gid_normalisation() -> None:
    assert payloads.gid("Order", 5) == "gid://shopify/Order/5"
    assert payloads.gid("Order", "gid://shopify/Order/5") == "gid://shopify/Order/5"
    with pytest.raises(PlatformError):
        payloads.gid("Order", None)


def woo_order(**overrides: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": 727, "number": "727", "status": "processing", "currency": "EUR", "customer_id": 0,
        "date_created_gmt": "2026-03-01T10:00:00", "date_modified_gmt": "2026-03-05T09:30:00",
        "date_paid_gmt": "2026-03-01T10:01:00", "shipping_total": "5.95", "total_tax": "7.60", "total": "57.55",
        "line_items": [{"id": 11, "name": "Tee", "product_id": 5, "variation_id": 9, "quantity": 2, "sku": "T-1",
                        "subtotal": "40.00", "total": "34.00", "total_tax": "6.46", "price": 17.0}],
        "refunds": [],
    }
    return order | overrides


def test_woo_order_webhook() -> None:
    order = payloads.woo_order(woo_order())
    assert (order.external_id, order.financial_status, order.refunds) == ("727", "paid", ())
    assert order.updated_at == datetime(2026, 3, 5, 9, 30, tzinfo=UTC)
    refunded = payloads.woo_order(woo_order(refunds=[{"id": 801, "reason": "", "total": "-17.00"}]))
    # Refund summaries have no dates (no records), but the status says the order was refunded in part.
    assert (refunded.financial_status, refunded.refunds) == ("partially_refunded", ())


def test_woo_variable_product_webhook_has_no_variants() -> None:
    raw = {"id": 5, "name": "Tee", "status": "publish", "variations": [9, 10], "price": "17.00",
           "date_modified_gmt": "2026-03-05T09:30:00"}
    assert payloads.woo_product(raw).variants == ()
    simple = payloads.woo_product(raw | {"variations": [], "sku": "T-1"})
    assert [v.external_id for v in simple.variants] == ["5"]
