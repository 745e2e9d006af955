"""Orders for the generated store: planted fates, lines, discounts, cancellations and refunds.

Rare cases (test orders, cancellations, refunds, unpaid checkouts) are planted by quota, not by
chance, so even a 200-order test store is guaranteed to contain each of them.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import accumulate
from typing import NamedTuple

from devhost.fakes.model import (
    Customer,
    LineItem,
    Order,
    PaymentState,
    Product,
    ProductStatus,
    Refund,
    RefundLine,
    RestockType,
    share,
)

_FX = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "CAD": 1.37, "AUD": 1.52}  # units per USD
_TAX_RATES = (0, 4000, 6000, 7250, 8875)  # per 100,000: 8875 is 8.875 %
_CANCEL_REASONS = ("CUSTOMER", "FRAUD", "INVENTORY", "DECLINED", "OTHER", "STAFF")
_DAY = 86400


class Fate(StrEnum):
    """The one rare thing that happens to an order (mutually exclusive, planted by quota)."""

    NORMAL = "normal"
    TEST = "test"
    CANCELLED = "cancelled"
    PARTIAL_REFUND = "partial_refund"
    FULL_REFUND = "full_refund"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    FAILED = "failed"
    DRAFT = "draft"
    DELETED = "deleted"


_PAYMENT = {
    Fate.PENDING: PaymentState.PENDING,
    Fate.ON_HOLD: PaymentState.ON_HOLD,
    Fate.FAILED: PaymentState.FAILED,
    Fate.DRAFT: PaymentState.DRAFT,
}


@dataclass(frozen=True, slots=True)
class OrderMix:
    """Shares of orders. Fates get at least one order each once a store has 50 orders."""

    test: float = 0.01
    cancelled: float = 0.025
    partial_refund: float = 0.05
    full_refund: float = 0.015
    pending: float = 0.02
    on_hold: float = 0.01
    failed: float = 0.01
    draft: float = 0.005
    deleted: float = 0.003
    guest: float = 0.12
    foreign_currency: float = 0.2
    order_discount: float = 0.1
    line_discount: float = 0.12

    def fate_shares(self) -> dict[Fate, float]:
        return {
            Fate.TEST: self.test,
            Fate.CANCELLED: self.cancelled,
            Fate.PARTIAL_REFUND: self.partial_refund,
            Fate.FULL_REFUND: self.full_refund,
            Fate.PENDING: self.pending,
            Fate.ON_HOLD: self.on_hold,
            Fate.FAILED: self.failed,
            Fate.DRAFT: self.draft,
            Fate.DELETED: self.deleted,
        }


def pick(rng: random.Random, cum_weights: tuple[int, ...] | list[float]) -> int:
    """Index drawn by cumulative weights: `random.choices` without its per-call overhead."""
    return bisect_right(cum_weights, rng.random() * cum_weights[-1])


def plant_fates(rng: random.Random, count: int, mix: OrderMix) -> list[Fate]:
    fates: list[Fate] = []
    for fate, share_of in mix.fate_shares().items():
        quota = round(share_of * count)
        if share_of > 0 and count >= 50:
            quota = max(1, quota)
        fates.extend([fate] * quota)
    fates = fates[:count] + [Fate.NORMAL] * max(0, count - len(fates))
    rng.shuffle(fates)
    return fates


class _LineDraft(NamedTuple):
    """A line before order-level discounts and tax are known (LineItem's fields, in its order)."""

    variant_id: int | None
    product_id: int | None
    title: str
    variant_title: str
    sku: str | None
    quantity: int
    unit_cents: int
    line_discount_cents: int

    @property
    def discounted_cents(self) -> int:
        return self.quantity * self.unit_cents - self.line_discount_cents


class OrderFactory:
    """Builds orders one at a time; owns the id sequences of lines, refunds and refund lines."""

    def __init__(
        self,
        rng: random.Random,
        mix: OrderMix,
        as_of: datetime,
        shop_currency: str,
        products: tuple[Product, ...],
        customers: tuple[Customer, ...],
    ) -> None:
        self._rng, self._mix, self._as_of, self._currency = rng, mix, as_of, shop_currency
        self._customers = customers
        self._titles = {p.id: p.title for p in products}
        sellable = [p for p in products if p.status is not ProductStatus.DRAFT]
        ranks = list(range(1, len(sellable) + 1))
        rng.shuffle(ranks)  # popularity is independent of id order
        self._variants = [v for p in sellable for v in p.variants]
        weights = [1 / ranks[i] ** 0.9 / len(p.variants) for i, p in enumerate(sellable) for _ in p.variants]
        self._cum = list(accumulate(weights))
        self._line_id = self._refund_id = self._refund_line_id = 0

    def build(self, order_id: int, created: datetime, fate: Fate) -> Order:
        rng = self._rng
        lines = self._lines()
        subtotal = sum(line.net_cents for line in lines)
        customer = None if rng.random() < self._mix.guest else self._customer()
        currency, rate = self._presentment()
        imported = rng.random() < 0.01  # imported orders were processed before they were created
        order = Order(
            id=order_id,
            number=1000 + order_id,
            customer_id=None if customer is None else customer.id,
            email=f"guest.{order_id}@example.net" if customer is None else customer.email,
            created_at=created,
            processed_at=created - timedelta(days=rng.randint(1, 10)) if imported else created,
            updated_at=created,
            closed_at=None,
            cancelled_at=None,
            cancel_reason=None,
            test=fate is Fate.TEST,
            payment=_PAYMENT.get(fate, PaymentState.PAID),
            fulfilled=False,
            deleted=fate is Fate.DELETED,
            presentment_currency=currency,
            rate_micros=rate,
            shipping_cents=0 if subtotal >= 7500 else rng.choice((595, 995)),
            line_items=lines,
            refunds=(),
        )
        self._settle(order, fate)
        return order

    def _lines(self) -> tuple[LineItem, ...]:
        rng = self._rng
        count = 1 + pick(rng, (55, 80, 92, 97, 100))
        picked = {v.id: v for v in (self._variants[pick(rng, self._cum)] for _ in range(count))}
        drafts: list[_LineDraft] = []
        for v in picked.values():
            qty = 1 + pick(rng, (72, 91, 97, 100))
            off = round(v.price_cents * qty * rng.choice((10, 15, 20, 25)) / 100)
            line_discount = off if rng.random() < self._mix.line_discount else 0
            title = self._titles[v.product_id]
            drafts.append(_LineDraft(v.id, v.product_id, title, v.title, v.sku, qty, v.price_cents, line_discount))
        if rng.random() < 0.005:  # a custom line item: no product, no SKU
            drafts.append(_LineDraft(None, None, "Gift wrapping", "", None, 1, 495, 0))
        allocations = self._order_discount([d.discounted_cents for d in drafts])
        tax_rate = rng.choice(_TAX_RATES)
        lines = []
        for draft, allocated in zip(drafts, allocations, strict=True):
            self._line_id += 1
            tax = ((draft.discounted_cents - allocated) * tax_rate + 50_000) // 100_000
            lines.append(LineItem(self._line_id, *draft, order_discount_cents=allocated, tax_cents=tax))
        return tuple(lines)

    def _order_discount(self, bases: list[int]) -> list[int]:
        """An order-level discount split over lines in proportion to their value."""
        rng, total = self._rng, sum(bases)
        if total <= 0 or rng.random() >= self._mix.order_discount:
            return [0] * len(bases)
        if rng.random() < 0.6:
            amount = total * rng.choice((5, 10, 15)) // 100  # a percentage code
        else:
            amount = min(rng.choice((500, 1000)), total // 2)  # a fixed-amount code
        shares = [amount * base // total for base in bases]
        shares[bases.index(max(bases))] += amount - sum(shares)  # rounding remainder to the largest line
        return shares

    def _customer(self) -> Customer:
        # Skewed towards low ids so some customers return many times.
        return self._customers[int(len(self._customers) * self._rng.random() ** 2.2)]

    def _presentment(self) -> tuple[str, int]:
        rng = self._rng
        if rng.random() >= self._mix.foreign_currency:
            return self._currency, 1_000_000
        currency = rng.choice([c for c in _FX if c != self._currency])
        cross = _FX[currency] / _FX.get(self._currency, 1.0)
        return currency, round(cross * 1_000_000 * rng.uniform(0.985, 1.015))

    def _settle(self, order: Order, fate: Fate) -> None:
        """What happened after checkout: cancellation, fulfilment, refunds; then updated_at."""
        rng = self._rng
        if fate is Fate.CANCELLED:
            order.cancelled_at = order.closed_at = self._after(order.created_at, 600, 3 * _DAY)
            order.cancel_reason = rng.choice(_CANCEL_REASONS)
            order.refunds = (self._full_refund(order, order.cancelled_at, RestockType.CANCEL, "Order cancelled"),)
        elif order.payment is PaymentState.PAID and rng.random() < 0.96:
            fulfilled_at = order.created_at + timedelta(seconds=rng.randint(6 * 3600, 4 * _DAY))
            if fulfilled_at < self._as_of:
                order.fulfilled, order.closed_at = True, fulfilled_at
        if fate is Fate.PARTIAL_REFUND:
            order.refunds = self._partial_refunds(order)
        elif fate is Fate.FULL_REFUND:
            at = self._after(order.created_at, 3 * _DAY, 40 * _DAY)
            order.refunds = (self._full_refund(order, at, RestockType.RETURN, "Returned"),)
        events = [order.created_at, order.processed_at, *(r.created_at for r in order.refunds)]
        events += [t for t in (order.closed_at, order.cancelled_at) if t is not None]
        order.updated_at = min(max(events) + timedelta(seconds=rng.randint(0, 300)), self._as_of)

    def _after(self, start: datetime, low: int, high: int) -> datetime:
        """A moment `low..high` seconds after `start`, pulled back before `as_of` if it would be later."""
        moment = start + timedelta(seconds=self._rng.randint(low, high))
        if moment < self._as_of:
            return moment
        # Whole seconds, as the model keeps them: a fraction would make filters and rendered dates disagree.
        return (start + (self._as_of - start) * self._rng.uniform(0.3, 0.9)).replace(microsecond=0)

    def _full_refund(self, order: Order, at: datetime, restock: RestockType, note: str) -> Refund:
        done = _refunded_so_far(order)
        picks = [(line, line.quantity - done.get(line.id, (0, 0, 0))[0]) for line in order.line_items]
        shipping = order.shipping_cents - order.refunded_shipping_cents
        return self._refund(order, at, [p for p in picks if p[1] > 0], shipping, restock, note)

    def _partial_refunds(self, order: Order) -> tuple[Refund, ...]:
        rng = self._rng
        line = rng.choice(order.line_items)
        units = line.quantity - 1 if line.quantity > 1 else 1
        first = self._refund(order, self._after(order.created_at, 2 * _DAY, 30 * _DAY),
                             [(line, rng.randint(1, units))], 0, RestockType.RETURN, "Partial return")
        order.refunds = (first,)
        others = [li for li in order.line_items if li.id != line.id]
        if others and rng.random() < 0.25:
            second = self._refund(order, self._after(first.created_at, _DAY, 10 * _DAY),
                                  [(rng.choice(others), 1)], 0, RestockType.NO_RESTOCK, "Goodwill refund")
            order.refunds = (first, second)
        return order.refunds

    def _refund(
        self, order: Order, at: datetime, picks: list[tuple[LineItem, int]], shipping: int,
        restock: RestockType, note: str,
    ) -> Refund:
        done = _refunded_so_far(order)
        lines = []
        for line, qty in picks:
            prev_qty, prev_sub, prev_tax = done.get(line.id, (0, 0, 0))
            last = prev_qty + qty == line.quantity  # the last units take the rounding remainder
            sub = line.net_cents - prev_sub if last else share(line.net_cents, qty, line.quantity)
            tax = line.tax_cents - prev_tax if last else share(line.tax_cents, qty, line.quantity)
            self._refund_line_id += 1
            lines.append(RefundLine(self._refund_line_id, line.id, qty, sub, tax, restock))
        self._refund_id += 1
        return Refund(self._refund_id, order.id, at, note, tuple(lines), shipping)


def _refunded_so_far(order: Order) -> dict[int, tuple[int, int, int]]:
    done: dict[int, tuple[int, int, int]] = {}
    for refund in order.refunds:
        for rl in refund.lines:
            q, s, t = done.get(rl.line_item_id, (0, 0, 0))
            done[rl.line_item_id] = (q + rl.quantity, s + rl.subtotal_cents, t + rl.tax_cents)
    return done
