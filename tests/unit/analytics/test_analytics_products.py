"""The pure pieces of per-product analytics: ABC classes, sell-through, days of inventory, halves, trend."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from shared.analytics.products import (
    abc_classes,
    days_of_inventory,
    doi_window,
    halves,
    sell_through_pct,
    trend_pct,
)

D = Decimal


def test_abc_class_is_decided_by_the_share_before_the_product() -> None:
    # 80 % exactly: the first product alone makes 80 %, the next starts at 80 % -> B; then 95 % -> C.
    assert abc_classes({"a": D("80"), "b": D("15"), "c": D("5")}) == {"a": "A", "b": "B", "c": "C"}
    # Just under the boundaries: the product that crosses 80 % (95 %) is still A (B).
    assert abc_classes({"a": D("79.99"), "b": D("15.00"), "c": D("5.01")}) == {"a": "A", "b": "A", "c": "B"}
    assert abc_classes({"a": D("60"), "b": D("20"), "c": D("15"), "d": D("5")}) == {
        "a": "A", "b": "A", "c": "B", "d": "C"}


def test_the_first_product_is_always_a_when_there_are_sales() -> None:
    assert abc_classes({"x": D("100")}) == {"x": "A"}
    assert abc_classes({"x": D("100"), "y": D("0")}) == {"x": "A", "y": "C"}


def test_ties_are_ordered_by_key_and_without_sales_everything_is_c() -> None:
    assert abc_classes({"b": D("50"), "a": D("50")}) == {"a": "A", "b": "A"}  # a: 0 %, b: 50 % before
    assert abc_classes({"b": D("85"), "a": D("10"), "c": D("5")}) == {"b": "A", "a": "B", "c": "C"}
    assert abc_classes({"a": D("0"), "b": D("0")}) == {"a": "C", "b": "C"}
    assert abc_classes({}) == {}


def test_negative_net_sales_add_nothing_to_the_shares_and_come_last() -> None:
    got = abc_classes({"a": D("80"), "b": D("20"), "r": D("-30")})
    assert got == {"a": "A", "b": "B", "r": "C"}  # shares of 100, not of 70


def test_sell_through() -> None:
    assert sell_through_pct(3, 1) == 75.0
    assert sell_through_pct(1, 2) == 33.33
    assert sell_through_pct(2, 1) == 66.67  # half-up
    assert sell_through_pct(0, 10) == 0.0
    assert sell_through_pct(5, 0) == 100.0
    assert sell_through_pct(0, 0) is None
    assert sell_through_pct(4, -3) == 100.0  # oversold: nothing on hand
    assert sell_through_pct(4, None) is None  # stock not tracked


def test_days_of_inventory() -> None:
    assert days_of_inventory(14, 28) == 14.0  # one a day
    assert days_of_inventory(10, 3) == 93.33
    assert days_of_inventory(0, 5) == 0.0
    assert days_of_inventory(10, 0) is None  # no sales
    assert days_of_inventory(None, 5) is None
    assert days_of_inventory(-2, 5) == 0.0


def test_the_doi_window_is_28_days_ending_at_to_or_today() -> None:
    assert doi_window(date(2026, 10, 28), date(2026, 11, 25)) == (date(2026, 10, 1), date(2026, 10, 28))
    assert doi_window(date(2026, 12, 31), date(2026, 11, 25)) == (date(2026, 10, 29), date(2026, 11, 25))


def test_halves_are_equal_and_skip_the_middle_day_of_odd_periods() -> None:
    assert halves(date(2026, 10, 1), date(2026, 10, 10)) == (
        (date(2026, 10, 1), date(2026, 10, 5)), (date(2026, 10, 6), date(2026, 10, 10)))
    assert halves(date(2026, 10, 1), date(2026, 10, 7)) == (
        (date(2026, 10, 1), date(2026, 10, 3)), (date(2026, 10, 5), date(2026, 10, 7)))
    (a, b), (c, d) = halves(date(2026, 10, 1), date(2026, 10, 1))
    assert a > b and c > d  # a single day has two empty halves


def test_trend_is_the_last_half_against_the_first() -> None:
    assert trend_pct(D("100.00"), D("150.00")) == 50.0
    assert trend_pct(D("30.00"), D("10.00")) == -66.67
    assert trend_pct(D("0"), D("10.00")) is None
    assert trend_pct(D("-10.00"), D("10.00")) == 200.0
