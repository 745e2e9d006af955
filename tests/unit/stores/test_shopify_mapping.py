"""Shopify GraphQL JSON → records, on payloads shaped like the reference's field notes (no server)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.stores.platform import PlatformError
from shared.stores.shopify import mapping, queries


def _bag(amount: str) -> dict[str, Any]:
    return {"shopMoney": {"amount": amount}}


def _order(**overrides: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": "gid://shopify/Order/1", "name": "#1001", "createdAt": "2026-03-01T10:00:00Z",
        "processedAt": "2026-03-01T10:00:00Z", "updatedAt": "2026-03-09T08:00:00Z", "cancelledAt": None,
        "closedAt": "2026-03-02T10:00:00Z", "test": False, "displayFinancialStatus": "PARTIALLY_REFUNDED",
        "currencyCode": "USD", "presentmentCurrencyCode": "EUR", "customer": None,
        "subtotalPriceSet": _bag("81.0"), "totalDiscountsSet": _bag("9.0"), "totalShippingPriceSet": _bag("5.95"),
        "totalTaxSet": _bag("6.48"), "totalPriceSet": _bag("93.43"),
        "refunds": [{
            "id": "gid://shopify/Refund/7", "createdAt": "2026-03-08T15:30:00-05:00", "note": "",
            "totalRefundedSet": _bag("49.9"),
            "refundLineItems": {"nodes": [{"quantity": 1, "restockType": "RETURN", "lineItem": {"id": "L1"},
                                           "subtotalSet": _bag("40.5"), "totalTaxSet": _bag("3.24")}]},
            "refundShippingLines": {"nodes": [{"subtotalAmountSet": _bag("5.95"), "taxAmountSet": _bag("0.21")}]},
        }],
    }
    return order | overrides


def test_amounts_are_decimals_from_shopifys_short_strings() -> None:
    assert mapping.money(_bag("12.5")) == Decimal("12.50")
    assert mapping.money(None) == Decimal(0)
    with pytest.raises(PlatformError):
        mapping.decimal(12.5)  # a float here means someone parsed JSON wrongly


def test_timestamps_become_utc() -> None:
    assert mapping.timestamp("2026-03-08T15:30:00-05:00") == datetime(2026, 3, 8, 20, 30, tzinfo=UTC)
    assert mapping.timestamp("2026-03-08T15:30:00Z") == datetime(2026, 3, 8, 15, 30, tzinfo=UTC)
    with pytest.raises(PlatformError):
        mapping.timestamp("yesterday")


def test_an_order_keeps_shop_money_its_statuses_and_a_guest_has_no_customer() -> None:
    record = mapping.order_record(_order(), refunds=mapping.refunds_of(_order()))
    assert (record.currency, record.presentment_currency) == ("USD", "EUR")
    assert (record.status, record.financial_status, record.customer_external_id) == ("closed", "partially_refunded",
                                                                                    None)
    assert (record.subtotal, record.total_discounts, record.total_price) == (Decimal("81"), Decimal(9),
                                                                             Decimal("93.43"))
    assert mapping.order_status(_order(cancelledAt="2026-03-02T00:00:00Z")) == "cancelled"
    assert mapping.order_status(_order(closedAt=None)) == "open"


def test_a_refund_splits_returned_goods_from_refunded_shipping_and_tax() -> None:
    (refund,) = mapping.refunds_of(_order())
    assert refund.refunded_at == datetime(2026, 3, 8, 20, 30, tzinfo=UTC)
    assert (refund.total, refund.shipping, refund.tax) == (Decimal("49.9"), Decimal("5.95"), Decimal("3.45"))
    assert refund.lines[0].subtotal == Decimal("40.5") and refund.lines[0].restock_type == "return"
    assert refund.note is None


def test_a_refund_without_a_date_is_dated_by_the_orders_last_update() -> None:
    order = _order()
    order["refunds"][0]["createdAt"] = None
    assert mapping.refunds_of(order)[0].refunded_at == datetime(2026, 3, 9, 8, 0, tzinfo=UTC)


def test_a_line_keeps_its_list_price_and_only_its_line_level_discount() -> None:
    line = mapping.line_record({
        "id": "L1", "name": "Tee - M", "sku": "", "quantity": 3, "originalUnitPriceSet": _bag("15.0"),
        "discountedTotalSet": _bag("40.5"), "variant": None, "product": {"id": "P1"},
    })
    assert (line.unit_price, line.line_discount, line.quantity) == (Decimal(15), Decimal("4.5"), 3)
    assert (line.sku, line.variant_external_id, line.product_external_id) == (None, None, "P1")


def test_products_normalise_status_and_untracked_stock_is_unknown() -> None:
    variant = mapping.variant_record({
        "id": "V1", "title": "Default Title", "sku": "A-1", "price": "19.99", "compareAtPrice": None,
        "inventoryQuantity": 0, "createdAt": None, "updatedAt": None,
        "inventoryItem": {"tracked": False, "unitCost": {"amount": "7.1"}},
    })
    assert (variant.price, variant.cost, variant.inventory_quantity) == (Decimal("19.99"), Decimal("7.1"), None)
    product = mapping.product_record({"id": "P1", "title": "Tee", "status": "ARCHIVED", "vendor": "",
                                      "productType": "Apparel", "tags": ["a"], "handle": "tee"}, [variant])
    assert (product.status, product.vendor, product.tags, len(product.variants)) == ("archived", None, ("a",), 1)


def test_customers_read_the_order_count_from_its_string() -> None:
    customer = mapping.customer_record({"id": "C1", "numberOfOrders": "12", "amountSpent": {"amount": "310.4"},
                                        "createdAt": "2025-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"})
    assert (customer.orders_count, customer.total_spent, customer.email) == (12, Decimal("310.4"), None)


def test_updated_since_is_quoted_utc_to_the_second() -> None:
    moment = datetime(2026, 11, 1, 7, 0, 59, 900_000, tzinfo=UTC)
    assert queries.updated_since_filter(moment) == "updated_at:>='2026-11-01T07:00:59Z'"
    with pytest.raises(ValueError, match="timezone"):
        queries.updated_since_filter(datetime(2026, 11, 1))


def test_bulk_queries_put_no_connection_inside_the_refunds_list() -> None:
    text = queries.bulk_query("orders", "updated_at:>='2026-11-01T00:00:00Z'")
    refunds = text[text.index("refunds"):text.index("lineItems")]
    assert refunds.strip() == "refunds { id }"
    assert "first:" not in text and "pageInfo" not in text
    assert "groupObjects: false" in queries.BULK_RUN
