"""The seeded store generator: deterministic, sized as asked, and containing every planted case."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal

from devhost.fakes import CatalogConfig, StoreModel, generate_store
from devhost.fakes.model import PaymentState, ProductStatus, RestockType
from tests.unit.fakes.fake_support import SMALL


def test_same_seed_gives_identical_store(store: StoreModel) -> None:
    assert generate_store(SMALL) == store


def test_another_seed_gives_another_store(store: StoreModel) -> None:
    other = generate_store(CatalogConfig(seed=SMALL.seed + 1, products=SMALL.products, customers=SMALL.customers,
                                         orders=SMALL.orders))
    assert [o.total_cents for o in other.orders] != [o.total_cents for o in store.orders]


def test_sizes_follow_the_config(store: StoreModel) -> None:
    assert len(store.products) == SMALL.products
    assert len(store.variants) == round(SMALL.products * SMALL.variants_per_product)
    assert len(store.customers) == SMALL.customers
    assert len(store.orders) == SMALL.orders
    assert [o.id for o in store.orders] == list(range(1, SMALL.orders + 1))
    assert all(a.created_at <= b.created_at for a, b in zip(store.orders, store.orders[1:], strict=False))


def test_orders_span_the_days_before_as_of(store: StoreModel) -> None:
    first, last = store.orders[0].created_at, store.orders[-1].created_at
    assert last < store.as_of
    assert store.as_of - first <= timedelta(days=SMALL.days + 1)
    assert store.as_of - first > timedelta(days=SMALL.days - 20)


def test_catalog_has_drafts_archived_missing_costs_and_stockouts(store: StoreModel) -> None:
    statuses = Counter(p.status for p in store.products)
    assert statuses[ProductStatus.DRAFT] >= 1 and statuses[ProductStatus.ARCHIVED] >= 1
    assert any(v.cost_cents is None for v in store.variants)
    assert any(v.inventory == 0 for v in store.variants)
    assert any(v.compare_at_cents and v.compare_at_cents > v.price_cents for v in store.variants)
    assert any(len(p.variants) == 1 for p in store.products) and any(len(p.variants) > 1 for p in store.products)
    assert store.variants[0].price == Decimal(store.variants[0].price_cents) / 100
    assert store.variants[0].price.as_tuple().exponent == -2


def test_draft_products_are_never_sold(store: StoreModel) -> None:
    drafts = {p.id for p in store.products if p.status is ProductStatus.DRAFT}
    assert not any(line.product_id in drafts for o in store.orders for line in o.line_items)


def test_planted_order_cases_are_present(store: StoreModel) -> None:
    orders = store.orders
    assert any(o.test for o in orders)
    assert any(o.customer_id is None for o in orders)
    assert any(o.presentment_currency != store.shop.currency and o.rate_micros != 1_000_000 for o in orders)
    assert any(o.deleted for o in orders)
    assert {o.payment for o in orders} == set(PaymentState)
    assert any(line.line_discount_cents for o in orders for line in o.line_items)
    assert any(line.order_discount_cents for o in orders for line in o.line_items)
    assert any(o.processed_at < o.created_at for o in orders)  # imported orders


def test_every_cancellation_comes_with_a_full_refund_on_that_day(store: StoreModel) -> None:
    cancelled = [o for o in store.orders if o.cancelled_at is not None]
    assert cancelled
    for order in cancelled:
        assert len(order.refunds) == 1
        refund = order.refunds[0]
        assert refund.created_at == order.cancelled_at
        assert refund.total_cents == order.total_cents
        assert all(rl.restock_type is RestockType.CANCEL for rl in refund.lines)


def test_refunds_come_after_their_order_and_bump_updated_at(store: StoreModel) -> None:
    refunded = [o for o in store.orders if o.refunds]
    assert any(not o.fully_refunded for o in refunded)  # partial
    assert any(o.fully_refunded and o.cancelled_at is None for o in refunded)  # full, not a cancellation
    assert any(r.shipping_cents for o in refunded for r in o.refunds)
    assert any(len(o.refunds) > 1 for o in refunded)
    for order in refunded:
        for refund in order.refunds:
            assert order.created_at < refund.created_at < store.as_of
            assert order.updated_at >= refund.created_at
            assert refund.lines and all(rl.line_item_id in {li.id for li in order.line_items} for rl in refund.lines)
        for line in order.line_items:
            assert order.refunded_quantity(line.id) <= line.quantity
        assert order.refunded_cents <= order.total_cents


def test_money_adds_up(store: StoreModel) -> None:
    for order in store.orders:
        assert order.total_cents == order.subtotal_cents + order.tax_cents + order.shipping_cents
        assert order.gross_cents - order.discount_cents == order.subtotal_cents
        assert all(line.net_cents >= 0 for line in order.line_items)


def test_sales_have_weekly_and_yearly_seasonality() -> None:
    big = generate_store(CatalogConfig(seed=3, orders=20_000, customers=500))
    zone = big.shop.zone
    weekday = Counter(o.created_at.astimezone(zone).weekday() for o in big.orders)
    assert weekday[5] > weekday[1] * 1.2  # Saturday beats Tuesday
    month = Counter(o.created_at.astimezone(zone).month for o in big.orders)
    assert month[12] > month[6] * 1.5  # holiday peak
    assert any(line.variant_id is None for o in big.orders for line in o.line_items)  # custom line items


def test_customers_sign_up_before_their_first_order(store: StoreModel) -> None:
    first: dict[int, object] = {}
    for order in store.orders:
        if order.customer_id is not None and order.customer_id not in first:
            first[order.customer_id] = order.created_at
    for customer_id, created in first.items():
        assert store.customers[customer_id - 1].created_at < created  # type: ignore[operator]
    assert sum(c.orders_count for c in store.customers) > 0


def test_generation_is_fast_enough_for_benchmarks() -> None:
    started = time.perf_counter()
    generate_store(CatalogConfig(products=2_000, variants_per_product=3, customers=10_000, orders=20_000))
    assert time.perf_counter() - started < 5.0
