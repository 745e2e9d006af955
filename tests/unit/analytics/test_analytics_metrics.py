"""The pure pieces of the analytics: AOV rounding, change %, buckets and range validation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from shared.analytics.metrics import aov, bucket_start, buckets, change_pct
from shared.analytics.summary import MAX_RANGE_DAYS, validate_range
from shared.errors import ValidationFailed


def test_aov_rounds_half_up_to_the_cent() -> None:
    assert aov(Decimal("159.47"), Decimal("10.97"), 4) == Decimal("37.13")  # 37.125
    assert aov(Decimal("10.00"), Decimal("0"), 3) == Decimal("3.33")
    assert aov(Decimal("0.05"), Decimal("0"), 2) == Decimal("0.03")  # 0.025


def test_aov_without_orders_is_zero() -> None:
    assert aov(Decimal("0"), Decimal("0"), 0) == Decimal("0.00")


def test_change_is_null_when_the_previous_period_was_zero() -> None:
    assert change_pct(Decimal("5"), Decimal("0")) is None
    assert change_pct(0, 0) is None


def test_change_is_against_the_size_of_the_previous_value() -> None:
    assert change_pct(Decimal("159.47"), Decimal("140.01")) == 13.90
    assert change_pct(3, 4) == -25.0
    assert change_pct(Decimal("-5"), Decimal("-10")) == 50.0  # a smaller loss is a rise


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    assert bucket_start(date(2026, 10, 11), "week") == date(2026, 10, 5)  # Sunday -> Monday before
    assert bucket_start(date(2026, 10, 5), "week") == date(2026, 10, 5)
    assert bucket_start(date(2026, 2, 28), "month") == date(2026, 2, 1)
    assert list(buckets(date(2026, 9, 30), date(2026, 10, 6), "week")) == [date(2026, 9, 28), date(2026, 10, 5)]
    assert list(buckets(date(2026, 11, 15), date(2027, 2, 1), "month")) == [
        date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1)]
    assert len(list(buckets(date(2026, 1, 1), date(2026, 12, 31), "day"))) == 365


def test_ranges_must_be_ordered_and_at_most_three_years() -> None:
    validate_range(date(2026, 10, 5), date(2026, 10, 5))
    validate_range(date(2024, 1, 1), date(2026, 12, 31))  # 1096 days
    with pytest.raises(ValidationFailed):
        validate_range(date(2026, 10, 6), date(2026, 10, 5))
    with pytest.raises(ValidationFailed):
        validate_range(date(2023, 1, 1), date(2026, 1, 1))
    assert MAX_RANGE_DAYS == 1096
