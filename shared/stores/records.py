"""Platform-neutral records that the Shopify and WooCommerce clients produce and the sync stores.

Amounts are Decimal in the order's `currency`: the shop's (Shopify shopMoney; a WooCommerce order in the
shop's currency, or converted with its WooPayments exchange rate), else the order's own. Timestamps are
tz-aware UTC. External ids are the platform's own (Shopify GIDs, Woo ids as strings). Statuses are
normalised as documented on each field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

Entity = Literal["products", "customers", "orders"]
ENTITIES: tuple[Entity, ...] = ("products", "customers", "orders")


@dataclass(frozen=True, slots=True)
class ShopInfo:
    name: str
    currency: str  # ISO 4217, the shop's own currency
    timezone: str  # IANA, e.g. "America/New_York"
    domain: str | None = None


@dataclass(frozen=True, slots=True)
class VariantRecord:
    external_id: str
    sku: str | None
    title: str | None
    price: Decimal
    compare_at_price: Decimal | None = None
    cost: Decimal | None = None  # unit cost; None when the platform does not know it
    inventory_quantity: int | None = None  # None when inventory is not tracked
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ProductRecord:
    external_id: str
    title: str
    # "active" | "draft" | "archived" (Woo: publish → active; draft/pending/private → draft); any other
    # platform status passes through lowercased.
    status: str
    handle: str | None = None
    vendor: str | None = None
    product_type: str | None = None
    tags: tuple[str, ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None
    variants: tuple[VariantRecord, ...] = ()  # a Woo simple product gets one variant with its own id


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    external_id: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    orders_count: int | None = None
    total_spent: Decimal | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OrderLineRecord:
    external_id: str
    quantity: int
    unit_price: Decimal  # list price per unit, before any discount
    # Discounts allocated to this line, for the whole line. Shopify: line-level only. Woo: every coupon,
    # since Woo spreads all coupons over the lines and its API cannot tell them apart.
    line_discount: Decimal = Decimal(0)
    product_external_id: str | None = None
    variant_external_id: str | None = None
    sku: str | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class RefundLineRecord:
    line_external_id: str  # the refunded OrderLineRecord's external_id
    quantity: int
    subtotal: Decimal  # refunded line value after line discounts (Shopify RefundLineItem.subtotalSet)
    tax: Decimal = Decimal(0)
    restock_type: str | None = None


@dataclass(frozen=True, slots=True)
class RefundRecord:
    external_id: str
    refunded_at: datetime  # Shopify Refund.createdAt (the order's updatedAt when Shopify has none)
    total: Decimal  # money returned, positive
    shipping: Decimal = Decimal(0)  # refunded shipping (reduces shipping, not returns)
    tax: Decimal = Decimal(0)  # refunded tax (reduces taxes, not returns)
    note: str | None = None
    lines: tuple[RefundLineRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class OrderRecord:
    external_id: str
    placed_at: datetime  # Shopify createdAt; Woo date_created_gmt
    # The currency the amounts below are in: Shopify the shop's (shopMoney); Woo the shop's when the order is
    # in it or says how to convert (WooPayments), else the order's own, which a multi-currency plugin can
    # make differ from the shop's: never summed with the rest (the analytics leave such orders out).
    currency: str
    name: str | None = None
    customer_external_id: str | None = None  # None for guest orders
    processed_at: datetime | None = None
    updated_at: datetime | None = None
    cancelled_at: datetime | None = None
    closed_at: datetime | None = None
    test: bool = False
    status: str | None = None  # Woo: its order status; Shopify: "cancelled" | "closed" | "open"
    financial_status: str | None = None  # lowercase, e.g. "paid", "partially_refunded"
    presentment_currency: str | None = None  # the currency the buyer paid in
    exchange_rate: Decimal | None = None  # shop units per presentment unit, when the amounts were converted
    # Line items after discounts, before shipping and tax. Shopify: subtotalPriceSet (after line and
    # order-level discounts). Woo: the sum of line totals (Woo spreads every coupon over the lines).
    subtotal: Decimal = Decimal(0)
    total_discounts: Decimal = Decimal(0)  # line + order-level discounts
    total_shipping: Decimal = Decimal(0)
    total_tax: Decimal = Decimal(0)
    total_price: Decimal = Decimal(0)
    total_fees: Decimal = Decimal(0)  # Woo fee lines (negative ones act as discounts); Shopify duties/fees
    lines: tuple[OrderLineRecord, ...] = ()
    refunds: tuple[RefundRecord, ...] = field(default_factory=tuple)


Record = ProductRecord | CustomerRecord | OrderRecord
