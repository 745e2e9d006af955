"""The platform-neutral store model both fakes serve.

Amounts are stored as integer cents, not Decimal: at benchmark size (200k orders, ~500k lines)
a Decimal per amount would cost hundreds of megabytes. Each `*_cents` field has a Decimal view
(2 dp) for callers that want one. Timestamps are timezone-aware UTC datetimes, second precision.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar
from zoneinfo import ZoneInfo


def to_decimal(cents: int) -> Decimal:
    """Cents as a 2-dp Decimal (exact: no float on the way)."""
    return Decimal(cents).scaleb(-2)


def share(cents: int, part: int, whole: int) -> int:
    """`cents * part / whole` rounded down, exact when `part == whole` (refunds of whole lines)."""
    return cents if part == whole else cents * part // whole


class ProductStatus(StrEnum):
    ACTIVE = "ACTIVE"
    DRAFT = "DRAFT"
    ARCHIVED = "ARCHIVED"


class PaymentState(StrEnum):
    """Where the checkout's payment stands. FAILED and DRAFT never become Shopify orders."""

    PAID = "paid"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    FAILED = "failed"
    DRAFT = "draft"


class RestockType(StrEnum):
    RETURN = "RETURN"
    CANCEL = "CANCEL"
    NO_RESTOCK = "NO_RESTOCK"


@dataclass(frozen=True, slots=True)
class Shop:
    name: str
    domain: str
    iana_timezone: str
    currency: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.iana_timezone)


@dataclass(slots=True)
class Variant:
    id: int
    product_id: int
    title: str
    sku: str | None
    price_cents: int
    compare_at_cents: int | None
    cost_cents: int | None
    inventory: int
    created_at: datetime
    updated_at: datetime

    @property
    def price(self) -> Decimal:
        return to_decimal(self.price_cents)

    @property
    def compare_at_price(self) -> Decimal | None:
        return None if self.compare_at_cents is None else to_decimal(self.compare_at_cents)

    @property
    def unit_cost(self) -> Decimal | None:
        return None if self.cost_cents is None else to_decimal(self.cost_cents)


@dataclass(slots=True)
class Product:
    id: int
    title: str
    handle: str
    vendor: str
    product_type: str
    tags: tuple[str, ...]
    status: ProductStatus
    created_at: datetime
    updated_at: datetime
    variants: tuple[Variant, ...]


@dataclass(slots=True)
class Customer:
    id: int
    first_name: str
    last_name: str
    email: str
    created_at: datetime
    updated_at: datetime
    orders_count: int = 0
    spent_cents: int = 0

    @property
    def amount_spent(self) -> Decimal:
        return to_decimal(self.spent_cents)


@dataclass(slots=True)
class LineItem:
    id: int
    variant_id: int | None  # None: a custom line item (no product behind it)
    product_id: int | None
    title: str
    variant_title: str
    sku: str | None
    quantity: int
    unit_cents: int
    line_discount_cents: int  # a discount applied to this line only
    order_discount_cents: int  # this line's share of order-level discounts
    tax_cents: int

    @property
    def original_total_cents(self) -> int:
        return self.unit_cents * self.quantity

    @property
    def discounted_total_cents(self) -> int:
        """Shopify's `discountedTotalSet`: line-level discounts only."""
        return self.original_total_cents - self.line_discount_cents

    @property
    def net_cents(self) -> int:
        """What the buyer paid for the line before tax: after every discount allocation."""
        return self.discounted_total_cents - self.order_discount_cents

    @property
    def unit_price(self) -> Decimal:
        return to_decimal(self.unit_cents)


@dataclass(slots=True)
class RefundLine:
    id: int
    line_item_id: int
    quantity: int
    subtotal_cents: int  # refunded line value after all discounts, before tax
    tax_cents: int
    restock_type: RestockType


@dataclass(slots=True)
class Refund:
    id: int
    order_id: int
    created_at: datetime
    note: str
    lines: tuple[RefundLine, ...]
    shipping_cents: int

    @property
    def subtotal_cents(self) -> int:
        return sum(line.subtotal_cents for line in self.lines)

    @property
    def tax_cents(self) -> int:
        return sum(line.tax_cents for line in self.lines)

    @property
    def total_cents(self) -> int:
        return self.subtotal_cents + self.tax_cents + self.shipping_cents


@dataclass(slots=True)
class Order:
    id: int
    number: int
    customer_id: int | None  # None: guest checkout
    email: str
    created_at: datetime
    processed_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    test: bool
    payment: PaymentState
    fulfilled: bool
    deleted: bool  # Shopify: deleted (gone from the API); WooCommerce: in the trash
    presentment_currency: str
    rate_micros: int  # presentment units per shop unit, times 1e6
    shipping_cents: int
    line_items: tuple[LineItem, ...]
    refunds: tuple[Refund, ...]

    @property
    def exchange_rate(self) -> Decimal:
        return Decimal(self.rate_micros).scaleb(-6)

    def to_presentment(self, cents: int) -> int:
        """Shop cents in the buyer's currency, rounded half-up on the magnitude."""
        sign = -1 if cents < 0 else 1
        return sign * ((abs(cents) * self.rate_micros + 500_000) // 1_000_000)

    @property
    def gross_cents(self) -> int:
        return sum(line.original_total_cents for line in self.line_items)

    @property
    def subtotal_cents(self) -> int:
        return sum(line.net_cents for line in self.line_items)

    @property
    def discount_cents(self) -> int:
        return sum(li.line_discount_cents + li.order_discount_cents for li in self.line_items)

    @property
    def tax_cents(self) -> int:
        return sum(line.tax_cents for line in self.line_items)

    @property
    def total_cents(self) -> int:
        return self.subtotal_cents + self.tax_cents + self.shipping_cents

    @property
    def refunded_cents(self) -> int:
        return sum(refund.total_cents for refund in self.refunds)

    @property
    def refunded_shipping_cents(self) -> int:
        return sum(refund.shipping_cents for refund in self.refunds)

    def refunded_quantity(self, line_item_id: int) -> int:
        return sum(rl.quantity for r in self.refunds for rl in r.lines if rl.line_item_id == line_item_id)

    def line_item(self, line_item_id: int) -> LineItem:
        return next(line for line in self.line_items if line.id == line_item_id)

    @property
    def fully_refunded(self) -> bool:
        return bool(self.refunds) and all(
            self.refunded_quantity(line.id) >= line.quantity for line in self.line_items
        )


@dataclass(frozen=True, slots=True)
class Planted:
    """Product ids of the situations planted for the advisor (0: not planted, e.g. a store too small for it)."""

    stockout: int = 0
    healthy: int = 0
    dead_stock: int = 0
    refund_spike: int = 0


@dataclass(slots=True)
class StoreModel:
    """One store's data, ids sequential from 1 per kind so lookups are index arithmetic."""

    seed: int
    shop: Shop
    as_of: datetime  # the store's "now": nothing in it happens later
    products: tuple[Product, ...]
    variants: tuple[Variant, ...]
    customers: tuple[Customer, ...]
    orders: tuple[Order, ...]  # ascending by created_at (and id)
    planted: Planted = field(default_factory=lambda: Planted())

    def product(self, product_id: int) -> Product | None:
        return _by_id(self.products, product_id)

    def variant(self, variant_id: int) -> Variant | None:
        return _by_id(self.variants, variant_id)

    def customer(self, customer_id: int) -> Customer | None:
        return _by_id(self.customers, customer_id)

    def order(self, order_id: int) -> Order | None:
        return _by_id(self.orders, order_id)

    def refunds(self) -> Iterator[Refund]:
        for order in self.orders:
            yield from order.refunds


_T = TypeVar("_T", Product, Variant, Customer, Order)


def _by_id(items: tuple[_T, ...], item_id: int) -> _T | None:
    return items[item_id - 1] if 0 < item_id <= len(items) else None
