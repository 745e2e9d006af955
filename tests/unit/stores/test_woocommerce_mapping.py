"""WooCommerce JSON → records, on payloads shaped like the reference's field notes (no server)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.stores.platform import PlatformError
from shared.stores.woocommerce import mapping


def _order(**overrides: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": 727, "number": "727", "status": "completed", "currency": "EUR", "customer_id": 0,
        "date_created_gmt": "2026-03-01T10:00:00", "date_modified_gmt": "2026-03-05T09:30:00",
        "date_paid_gmt": "2026-03-01T10:01:00", "date_completed_gmt": None,
        "discount_total": "6.00", "shipping_total": "5.95", "total_tax": "7.60", "total": "57.55",
        "line_items": [
            {"id": 11, "name": "Tee", "product_id": 5, "variation_id": 9, "quantity": 2, "sku": "T-1",
             "subtotal": "40.00", "total": "34.00", "total_tax": "6.46", "price": 17.0},
            {"id": 12, "name": "Mug", "product_id": 6, "variation_id": 0, "quantity": 3, "sku": None,
             "subtotal": "10.00", "total": "10.00", "total_tax": "1.14", "price": 3.3333333333},
        ],
        "refunds": [{"id": 801, "reason": "", "total": "-17.00"}],
    }
    return order | overrides


_REFUND: dict[str, Any] = {
    "id": 801, "date_created_gmt": "2026-03-04T08:00:00", "amount": "20.23", "reason": "Too small",
    "line_items": [{"id": 31, "product_id": 5, "variation_id": 9, "quantity": -1, "subtotal": "-17.00",
                    "total": "-17.00", "total_tax": "-3.23",
                    "meta_data": [{"id": 1, "key": "_refunded_item_id", "value": "11"}]}],
    "shipping_lines": [{"id": 32, "total": "0.00", "total_tax": "0.00"}],
}


def test_order_amounts_are_decimals_from_strings_and_never_the_float_price() -> None:
    record = mapping.order_record(_order(), [_REFUND])
    tee, mug = record.lines
    assert (tee.unit_price, tee.line_discount, tee.quantity) == (Decimal("20.00"), Decimal("6.00"), 2)
    assert tee.variant_external_id == "9" and tee.product_external_id == "5"
    # 10.00 / 3 is not whole cents: unit price rounds up, the rounding lands in the discount, the net is exact.
    assert mug.unit_price == Decimal("3.34") and mug.unit_price * 3 - mug.line_discount == Decimal("10.00")
    assert mug.variant_external_id == "6"  # a simple product's only variant has the product's id
    assert record.subtotal == Decimal("44.00")
    assert record.total_price == Decimal("57.55") and record.total_shipping == Decimal("5.95")
    assert record.customer_external_id is None  # customer_id 0 is a guest
    assert record.placed_at == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert record.name == "#727" and record.status == "completed"


def test_refund_lines_turn_positive_and_point_at_the_refunded_order_line() -> None:
    refund = mapping.order_record(_order(), [_REFUND]).refunds[0]
    assert refund.total == Decimal("20.23") and refund.tax == Decimal("3.23") and refund.shipping == 0
    assert refund.refunded_at == datetime(2026, 3, 4, 8, 0, tzinfo=UTC) and refund.note == "Too small"
    (line,) = refund.lines
    assert (line.line_external_id, line.quantity, line.subtotal, line.tax) == ("11", 1, Decimal("17.00"),
                                                                               Decimal("3.23"))


def test_refund_line_without_the_item_meta_is_matched_by_product_and_variation() -> None:
    bare = {**_REFUND, "line_items": [{**_REFUND["line_items"][0], "meta_data": []}]}
    assert mapping.order_record(_order(), [bare]).refunds[0].lines[0].line_external_id == "11"
    orphan = {**_REFUND, "line_items": [{**_REFUND["line_items"][0], "meta_data": [], "product_id": 99}]}
    with pytest.raises(PlatformError):
        mapping.order_record(_order(), [orphan])


def test_refunded_shipping_and_its_tax_are_kept_apart_from_returns() -> None:
    refund = {**_REFUND, "line_items": [], "amount": "7.14",
              "shipping_lines": [{"id": 40, "total": "-5.95", "total_tax": "-1.19"}]}
    record = mapping.refund_record(refund, _order())
    assert (record.shipping, record.tax, record.total, record.lines) == (Decimal("5.95"), Decimal("1.19"),
                                                                         Decimal("7.14"), ())


def test_simple_product_is_one_variant_with_its_own_id_and_sale_price_becomes_compare_at() -> None:
    raw = {"id": 5, "name": "Mug", "slug": "mug", "type": "simple", "status": "private", "sku": "M-1",
           "price": "8.00", "regular_price": "10.00", "sale_price": "8.00", "manage_stock": True,
           "stock_quantity": 4, "categories": [{"id": 1, "name": "Home"}], "tags": [{"id": 2, "name": "gift"}],
           "variations": [], "date_created_gmt": "2025-01-01T00:00:00", "date_modified_gmt": "2026-01-01T00:00:00"}
    product = mapping.product_record(raw, [])
    assert product.status == "draft" and product.product_type == "Home" and product.tags == ("gift",)
    (variant,) = product.variants
    assert (variant.external_id, variant.price, variant.compare_at_price, variant.inventory_quantity) == (
        "5", Decimal("8.00"), Decimal("10.00"), 4)


def test_variable_product_takes_its_variations_and_untracked_stock_is_none() -> None:
    raw = {"id": 7, "name": "Tee", "type": "variable", "status": "publish", "price": "20.00", "variations": [8, 9],
           "date_created_gmt": "2025-01-01T00:00:00", "date_modified_gmt": "2026-01-01T00:00:00"}
    variations = [
        {"id": 8, "sku": "T-S", "price": "20.00", "regular_price": "20.00", "manage_stock": False,
         "stock_quantity": None, "attributes": [{"name": "Size", "option": "S"}]},
        {"id": 9, "sku": "", "price": "", "regular_price": "", "manage_stock": True, "stock_quantity": -2,
         "attributes": [{"name": "Size", "option": "M"}, {"name": "Color", "option": "Red"}]},
    ]
    product = mapping.product_record(raw, variations)
    assert product.status == "active"
    assert [(v.external_id, v.title, v.sku, v.price, v.inventory_quantity) for v in product.variants] == [
        ("8", "S", "T-S", Decimal("20.00"), None), ("9", "M / Red", None, Decimal(0), -2)]


def test_dates_without_offset_are_utc_and_bad_values_are_platform_errors() -> None:
    assert mapping.gmt("2026-03-01T10:00:00") == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert mapping.gmt(None) is None
    with pytest.raises(PlatformError):
        mapping.gmt("yesterday")
    with pytest.raises(PlatformError):
        mapping.money("12,50")


def test_shop_info_unescapes_the_name_and_turns_a_whole_hour_offset_into_an_etc_zone() -> None:
    currency = {"code": "EUR", "name": "Euro", "symbol": "€"}
    shop = mapping.shop_info({"name": "Tom &amp; Co", "timezone_string": "Europe/Berlin"}, currency, "tom.example")
    assert (shop.name, shop.currency, shop.timezone, shop.domain) == ("Tom & Co", "EUR", "Europe/Berlin",
                                                                      "tom.example")
    assert mapping.shop_info({"name": "x", "timezone_string": "", "gmt_offset": -5}, currency, None).timezone == \
        "Etc/GMT+5"  # POSIX sign: five hours behind UTC
    assert mapping.shop_info({"name": "x", "timezone_string": "", "gmt_offset": 0}, currency, None).timezone == "UTC"
    with pytest.raises(PlatformError, match="city time zone"):
        mapping.shop_info({"name": "x", "timezone_string": "", "gmt_offset": 5.5}, currency, None)


def test_woopayments_test_mode_marks_a_test_order() -> None:
    meta = [{"id": 1, "key": "_wcpay_mode", "value": "test"}]
    assert mapping.order_record(_order(meta_data=meta), []).test is True
    assert mapping.order_record(_order(), []).test is False


def _wcpay(rate: Any = None, *, shop: str = "USD", stripe: Any = None) -> list[dict[str, Any]]:
    meta = [{"id": 1, "key": "_wcpay_multi_currency_order_default_currency", "value": shop}]
    if rate is not None:
        meta.append({"id": 2, "key": "_wcpay_multi_currency_order_exchange_rate", "value": rate})
    if stripe is not None:
        meta.append({"id": 3, "key": "_wcpay_multi_currency_stripe_exchange_rate", "value": stripe})
    return meta


def test_a_woopayments_order_in_another_currency_is_converted_amount_by_amount_to_the_shops() -> None:
    # The worked example of docs/metrics.md "Currencies": EUR priced at 0.92 EUR per USD.
    raw = _order(meta_data=_wcpay("0.92"), shipping_total="4.60", total_tax="0.00", total="21.16", line_items=[
        {"id": 11, "product_id": 5, "variation_id": 0, "quantity": 2, "subtotal": "18.40", "total": "16.56"}])
    refund = {**_REFUND, "amount": "9.20", "line_items": [
        {**_REFUND["line_items"][0], "quantity": -1, "total": "-8.28", "total_tax": "-0.01"}],
        "shipping_lines": [{"id": 32, "total": "-0.92", "total_tax": "0.00"}]}
    record = mapping.order_record(raw, [refund])
    assert (record.currency, record.presentment_currency) == ("USD", "EUR")
    assert record.exchange_rate is not None and abs(record.exchange_rate - Decimal(1) / Decimal("0.92")) < Decimal(
        "1e-20")
    (line,) = record.lines
    assert (line.unit_price, line.line_discount) == (Decimal("10.00"), Decimal("2.00"))
    assert (record.subtotal, record.total_shipping, record.total_price) == (Decimal("18.00"), Decimal("5.00"),
                                                                           Decimal("23.00"))
    (r,) = record.refunds
    # 8.28 / 0.92 = 9.00; 0.01 / 0.92 = 0.0108… → 0.01; refunded shipping 0.92 / 0.92 = 1.00
    assert (r.total, r.lines[0].subtotal, r.lines[0].tax, r.shipping) == (
        Decimal("10.00"), Decimal("9.00"), Decimal("0.01"), Decimal("1.00"))


def test_each_amount_rounds_half_up_away_from_zero_and_the_stripe_rate_wins() -> None:
    # 0.05 * 0.5 = 0.025 → 0.03 (not banker's 0.02); the Stripe rate multiplies, the order rate divides.
    raw = _order(meta_data=_wcpay("4", stripe="0.5"), shipping_total="0.05", line_items=[])
    assert mapping.order_record(raw, []).total_shipping == Decimal("0.03")
    refund = {**_REFUND, "line_items": [], "amount": "0.05", "shipping_lines": [{"id": 1, "total": "-0.05"}]}
    assert mapping.order_record(raw, [refund]).refunds[0].shipping == Decimal("0.03")
    assert mapping.order_record(_order(meta_data=_wcpay("4"), shipping_total="0.10", line_items=[]),
                                []).total_shipping == Decimal("0.03")  # 0.10 / 4 = 0.025 → 0.03


@pytest.mark.parametrize("meta", [
    [],  # a currency plugin that keeps no rate
    _wcpay(None),  # the shop's currency but no rate
    _wcpay("0"), _wcpay("-1.1"), _wcpay("abc"), _wcpay(""),  # unusable rates
    _wcpay("0.92", stripe="nan"),  # an unreadable Stripe rate is not replaced by the order rate
    _wcpay("0.92", shop="US"),  # not a currency code
], ids=["no-meta", "no-rate", "zero", "negative", "text", "empty", "bad-stripe-rate", "bad-shop-currency"])
def test_without_a_usable_rate_the_order_stays_in_its_own_currency(meta: list[dict[str, Any]]) -> None:
    record = mapping.order_record(_order(meta_data=meta), [_REFUND])
    assert (record.currency, record.exchange_rate) == ("EUR", None)
    assert record.total_price == Decimal("57.55") and record.refunds[0].total == Decimal("20.23")


def test_an_order_in_the_shops_own_currency_is_left_as_it_is_whatever_its_meta_says() -> None:
    record = mapping.order_record(_order(meta_data=_wcpay("0.92", shop="EUR")), [])
    assert (record.currency, record.exchange_rate, record.total_price) == ("EUR", None, Decimal("57.55"))
