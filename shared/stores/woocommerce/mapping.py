"""WooCommerce REST v3 JSON → the platform-neutral records (pure functions, no I/O).

Woo spells money as strings ("12.50"; `line_items[].price` is a float and is never used for
money), dates as ISO-8601 without an offset (`*_gmt` are UTC), ids as integers, and refund
lines with negative totals. Everything is normalised here, once.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from shared.stores.platform import PlatformError
from shared.stores.records import (
    CustomerRecord,
    OrderLineRecord,
    OrderRecord,
    ProductRecord,
    RefundLineRecord,
    RefundRecord,
    ShopInfo,
    VariantRecord,
)

Json = Mapping[str, Any]
_CENT = Decimal("0.01")
# Woo has no "archived": whatever is not published (draft, pending, private) is a draft to a merchant.
_ACTIVE = "publish"
# Meta keys of the common cost-of-goods plugins; core has no unit-cost field (reference §5).
_COST_KEYS = ("_wc_cog_cost", "_alg_wc_cog_cost")


def money(value: Any) -> Decimal:
    """A Woo amount string as Decimal; "" and null (unset prices) are zero."""
    if value is None or value == "":
        return Decimal(0)
    try:
        # str() first: should a plugin send a float, its shortest repr (19.99) is meant, not its binary expansion.
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise PlatformError(f"not an amount: {value!r}") from exc


def optional_money(value: Any) -> Decimal | None:
    return None if value is None or value == "" else money(value)


def gmt(value: Any) -> datetime | None:
    """A `*_gmt` field: ISO-8601 without offset, meaning UTC."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise PlatformError(f"not a date: {value!r}") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def modified_at(row: Json) -> datetime:
    """The sort key of incremental paging; created stands in on rows never modified."""
    moment = gmt(row.get("date_modified_gmt")) or gmt(row.get("date_created_gmt"))
    if moment is None:
        raise PlatformError(f"row {row.get('id')} has neither date_modified_gmt nor date_created_gmt")
    return moment


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _ref(value: Any) -> str | None:
    """An id that may be 0 or missing (guest customer, deleted product, no variation)."""
    return str(value) if value else None


# -- the shop -------------------------------------------------------------------------------------------------


def shop_info(index: Json, currency: Json, domain: str | None) -> ShopInfo:
    """Name and zone from the WordPress index (`GET /wp-json/`), currency from `data/currencies/current`.

    WooCommerce's own system_status reports PHP's zone (normally UTC), not the store's (reference §5).
    WordPress keeps `blogname` HTML-escaped ("Tom &amp; Co"), hence the unescape.
    """
    code = str(currency.get("code") or "")
    if len(code) != 3:
        raise PlatformError(f"unexpected store currency {code!r}")
    return ShopInfo(name=html.unescape(str(index.get("name") or "")), currency=code.upper(),
                    timezone=_timezone(index), domain=domain)


def _timezone(index: Json) -> str:
    """`timezone_string`, or a whole-hour manual offset as Etc/GMT∓N (POSIX signs are inverted)."""
    zone = str(index.get("timezone_string") or "")
    if zone:
        return zone
    offset = float(index.get("gmt_offset") or 0)
    if not offset.is_integer():
        raise PlatformError(f"the store uses a manual UTC offset of {offset} h, which has no IANA zone: "
                            "pick a city time zone under WordPress → Settings → General")
    return "UTC" if offset == 0 else f"Etc/GMT{-int(offset):+d}"


# -- products -------------------------------------------------------------------------------------------------


def product_record(raw: Json, variations: Sequence[Json]) -> ProductRecord:
    """A product; a simple (or grouped/external) one becomes a single variant with the product's own id."""
    categories = [c["name"] for c in raw.get("categories") or () if c.get("name")]
    variants = [variant_record(v, title=_variation_title(v)) for v in variations]
    if not raw.get("variations") and not variations:
        variants = [variant_record(raw, title=None)]
    return ProductRecord(
        external_id=str(raw["id"]),
        title=str(raw.get("name") or ""),
        status="active" if raw.get("status") == _ACTIVE else "draft",
        handle=_text(raw.get("slug")),
        vendor=None,  # Woo has no vendor field
        product_type=categories[0] if categories else None,
        tags=tuple(t["name"] for t in raw.get("tags") or () if t.get("name")),
        created_at=gmt(raw.get("date_created_gmt")),
        updated_at=gmt(raw.get("date_modified_gmt")),
        variants=tuple(variants),
    )


def variant_record(raw: Json, *, title: str | None) -> VariantRecord:
    regular = optional_money(raw.get("regular_price"))
    price = optional_money(raw.get("price"))
    if price is None:
        price = regular if regular is not None else Decimal(0)
    # Shopify's compare-at is the struck-through price: Woo's regular price while a sale runs.
    compare_at = regular if regular is not None and regular > price else None
    return VariantRecord(
        external_id=str(raw["id"]),
        sku=_text(raw.get("sku")),
        title=title,
        price=price,
        compare_at_price=compare_at,
        cost=_cost(raw),
        inventory_quantity=_stock(raw),
        created_at=gmt(raw.get("date_created_gmt")),
        updated_at=gmt(raw.get("date_modified_gmt")),
    )


def _variation_title(raw: Json) -> str | None:
    options = [str(a["option"]) for a in raw.get("attributes") or () if a.get("option")]
    return " / ".join(options) if options else _text(raw.get("name"))


def _stock(raw: Json) -> int | None:
    # manage_stock is "parent" on a variation whose stock the parent product manages.
    if raw.get("manage_stock") is False or raw.get("stock_quantity") is None:
        return None
    return int(raw["stock_quantity"])


def _cost(raw: Json) -> Decimal | None:
    for meta in raw.get("meta_data") or ():
        if meta.get("key") in _COST_KEYS and meta.get("value") not in (None, ""):
            return money(meta["value"])
    return None


# -- customers ------------------------------------------------------------------------------------------------


def customer_record(raw: Json) -> CustomerRecord:
    # v3 has no order count or amount spent (v1/v2 had them): read them only if a store still sends them.
    count = raw.get("orders_count")
    return CustomerRecord(
        external_id=str(raw["id"]),
        email=_text(raw.get("email")),
        first_name=_text(raw.get("first_name")),
        last_name=_text(raw.get("last_name")),
        orders_count=int(count) if count is not None else None,
        total_spent=optional_money(raw.get("total_spent")),
        created_at=gmt(raw.get("date_created_gmt")),
        updated_at=gmt(raw.get("date_modified_gmt")),
    )


# -- the shop's currency --------------------------------------------------------------------------------------

# WooPayments' multi-currency keeps on every order paid in another currency the shop's currency at checkout and
# the rate it priced the order with (order-currency units per shop unit); when Stripe settled the payment, also
# the rate Stripe applied (shop units per order-currency unit). Other multi-currency plugins keep no rate we
# can read: their orders stay in their own currency and the analytics leave them out (docs/metrics.md).
_SHOP_CURRENCY_KEY = "_wcpay_multi_currency_order_default_currency"
_ORDER_RATE_KEY = "_wcpay_multi_currency_order_exchange_rate"
_STRIPE_RATE_KEY = "_wcpay_multi_currency_stripe_exchange_rate"

Convert = Callable[[Decimal], Decimal]


def _unchanged(amount: Decimal) -> Decimal:
    return amount


@dataclass(frozen=True, slots=True)
class ShopConversion:
    """How an order's amounts become amounts in the shop's currency."""

    currency: str  # the shop's currency
    rate: Decimal  # shop units per unit of the order's currency (what is stored beside the order)
    convert: Convert  # one amount, rounded half-up (away from zero) to the cent


def shop_conversion(raw: Json) -> ShopConversion | None:
    """The conversion WooCommerce Analytics applies with WooPayments: the Stripe rate when the order has one,
    otherwise 1 ÷ the order's rate, each amount rounded to the cent. None when the order is in the shop's
    currency, or when no usable rate is known (an unreadable Stripe rate is not replaced by the other one:
    the two are not on the same basis, so WooPayments does not fall back either)."""
    meta = {m.get("key"): m.get("value") for m in raw.get("meta_data") or ()}
    shop = str(meta.get(_SHOP_CURRENCY_KEY) or "").upper()
    if len(shop) != 3 or shop == str(raw.get("currency") or "").upper():
        return None
    if meta.get(_STRIPE_RATE_KEY) not in (None, ""):
        stripe = _positive_rate(meta[_STRIPE_RATE_KEY])
        if stripe is None:
            return None
        return ShopConversion(shop, stripe, lambda amount: (amount * stripe).quantize(_CENT, ROUND_HALF_UP))
    priced = _positive_rate(meta.get(_ORDER_RATE_KEY))
    if priced is None:
        return None
    return ShopConversion(shop, Decimal(1) / priced,
                          lambda amount: (amount / priced).quantize(_CENT, ROUND_HALF_UP))


def _positive_rate(value: Any) -> Decimal | None:
    """A rate as WooPayments stores it (a float, or its string in post meta); None unless finite and > 0."""
    try:
        rate = Decimal(str(value))
    except InvalidOperation:
        return None
    return rate if rate.is_finite() and rate > 0 else None


# -- orders ---------------------------------------------------------------------------------------------------


def order_record(raw: Json, refunds: Sequence[Json]) -> OrderRecord:
    """An order with its refunds, amounts in the shop's currency when the order says how to convert them
    (`shop_conversion`: every amount Woo reports is converted and rounded before the rules below apply);
    otherwise in the order's own currency, which `currency` then names."""
    conversion = shop_conversion(raw)
    fx = conversion.convert if conversion else _unchanged
    lines = tuple(order_line(li, fx) for li in raw.get("line_items") or ())
    placed = gmt(raw.get("date_created_gmt"))
    if placed is None:
        raise PlatformError(f"order {raw.get('id')} has no date_created_gmt")
    mapped_refunds = tuple(refund_record(r, raw, fx) for r in refunds)
    return OrderRecord(
        external_id=str(raw["id"]),
        placed_at=placed,
        currency=conversion.currency if conversion else str(raw.get("currency") or ""),
        exchange_rate=conversion.rate if conversion else None,
        name=f"#{raw['number']}" if raw.get("number") else None,
        customer_external_id=_ref(raw.get("customer_id")),
        processed_at=gmt(raw.get("date_paid_gmt")),
        updated_at=gmt(raw.get("date_modified_gmt")),
        cancelled_at=None,  # Woo keeps no cancellation date; the status says it
        closed_at=gmt(raw.get("date_completed_gmt")),
        test=_is_test(raw),
        status=_text(raw.get("status")),
        financial_status=_financial_status(raw, mapped_refunds),
        presentment_currency=_text(raw.get("currency")),
        # Woo allocates every coupon to lines, so "after line discounts" is the sum of line totals.
        subtotal=sum((fx(money(li.get("total"))) for li in raw.get("line_items") or ()), Decimal(0)),
        # The lines' discounts rather than Woo's discount_total, so order and lines agree to the cent
        # even where a unit price was rounded (see order_line).
        total_discounts=sum((line.line_discount for line in lines), Decimal(0)),
        total_shipping=fx(money(raw.get("shipping_total"))),
        total_tax=fx(money(raw.get("total_tax"))),
        total_price=fx(money(raw.get("total"))),
        total_fees=sum((fx(money(fee.get("total"))) for fee in raw.get("fee_lines") or ()), Decimal(0)),
        lines=lines,
        refunds=mapped_refunds,
    )


def order_line(raw: Json, fx: Convert = _unchanged) -> OrderLineRecord:
    """Unit price from `subtotal` (pre-discount); the discount is whatever the coupons took off the line.

    subtotal/quantity need not be whole cents (tax-inclusive prices): the unit price is rounded
    up to the cent and the rounding goes into the discount, so unit * qty - discount is exactly
    Woo's line total (net sales stay exact; gross moves by under a cent a unit).
    """
    quantity = int(raw.get("quantity") or 0)
    subtotal, total = fx(money(raw.get("subtotal"))), fx(money(raw.get("total")))
    unit = (subtotal / quantity).quantize(_CENT, rounding=ROUND_CEILING) if quantity else subtotal
    gross = unit * quantity if quantity else subtotal
    product_id = _ref(raw.get("product_id"))
    return OrderLineRecord(
        external_id=str(raw["id"]),
        quantity=quantity,
        unit_price=unit,
        line_discount=gross - total,
        product_external_id=product_id,
        # A simple product's only variant carries the product's own id (see product_record).
        variant_external_id=_ref(raw.get("variation_id")) or product_id,
        sku=_text(raw.get("sku")),
        title=_text(raw.get("name")),
    )


def _is_test(raw: Json) -> bool:
    """Woo has no test flag; WooPayments marks sandbox orders with `_wcpay_mode: test` (reference §10.6)."""
    return any(m.get("key") == "_wcpay_mode" and m.get("value") == "test" for m in raw.get("meta_data") or ())


def _financial_status(raw: Json, refunds: Sequence[RefundRecord]) -> str | None:
    """Woo has no payment status of its own; derive Shopify's words from the status and refunds."""
    if raw.get("status") == "refunded":
        return "refunded"
    if refunds:
        return "partially_refunded"
    if raw.get("date_paid_gmt"):
        return "paid"
    return "pending" if raw.get("status") in ("pending", "on-hold") else None


def refund_record(raw: Json, order: Json, fx: Convert = _unchanged) -> RefundRecord:
    """A refund from `/orders/{id}/refunds`: Woo stores its lines negative; records are positive."""
    refunded_at = gmt(raw.get("date_created_gmt"))
    if refunded_at is None:
        raise PlatformError(f"refund {raw.get('id')} has no date_created_gmt")
    lines = tuple(_refund_line(li, order, fx) for li in raw.get("line_items") or ())
    shipping = sum((abs(fx(money(s.get("total")))) for s in raw.get("shipping_lines") or ()), Decimal(0))
    shipping_tax = sum((abs(fx(money(s.get("total_tax")))) for s in raw.get("shipping_lines") or ()), Decimal(0))
    return RefundRecord(
        external_id=str(raw["id"]),
        refunded_at=refunded_at,
        total=abs(fx(money(raw.get("amount")))),
        shipping=shipping,
        tax=sum((line.tax for line in lines), shipping_tax),
        note=_text(raw.get("reason")),
        lines=lines,
    )


def _refund_line(raw: Json, order: Json, fx: Convert) -> RefundLineRecord:
    return RefundLineRecord(
        line_external_id=_refunded_line_id(raw, order),
        quantity=abs(int(raw.get("quantity") or 0)),
        # The refund line's total is the refunded value after the line's discounts (SPEC: returns).
        subtotal=abs(fx(money(raw.get("total")))),
        tax=abs(fx(money(raw.get("total_tax")))),
    )


def _refunded_line_id(raw: Json, order: Json) -> str:
    """The order line a refund line refunds: Woo links them by the `_refunded_item_id` item meta.

    Stores that hide that meta leave the product as the only link; an order holds one line per
    product/variation unless a plugin splits them, so the first match is the line.
    """
    for meta in raw.get("meta_data") or ():
        if meta.get("key") == "_refunded_item_id" and meta.get("value"):
            return str(meta["value"])
    if raw.get("refunded_item_id"):
        return str(raw["refunded_item_id"])
    for line in order.get("line_items") or ():
        if (line.get("product_id"), line.get("variation_id")) == (raw.get("product_id"), raw.get("variation_id")):
            return str(line["id"])
    raise PlatformError(f"refund line {raw.get('id')} matches no line of order {order.get('id')}")
