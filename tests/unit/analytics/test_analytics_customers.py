"""The pure pieces of customer analytics: quintile scores, the segment grid, RFM and the cohort matrix."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest

from shared.analytics.customers import (
    SEGMENT_GRID,
    SEGMENT_LABELS,
    CustomerFacts,
    MonthValue,
    add_months,
    cents,
    cohort_matrix,
    cohort_window,
    per_customer_cents,
    quintile_scores,
    ratio,
    rfm,
    segment_of,
    segment_totals,
    validate_params,
)
from shared.errors import ValidationFailed


def test_quintiles_of_ten_distinct_values_are_two_per_score() -> None:
    values = {f"c{i}": i for i in range(10)}
    assert quintile_scores(values) == {f"c{i}": 1 + i // 2 for i in range(10)}
    assert quintile_scores(values, higher_is_better=False) == {f"c{i}": 5 - i // 2 for i in range(10)}


def test_ties_share_the_lowest_score_of_their_group_whatever_the_order() -> None:
    values = {"a": 1, "b": 1, "c": 1, "d": 1, "e": 2, "f": 3}
    # worse-than counts: 1 -> 0, 2 -> 4, 3 -> 5; score = 1 + 5 * worse // 6
    assert quintile_scores(values) == {"a": 1, "b": 1, "c": 1, "d": 1, "e": 4, "f": 5}
    items = list(values.items())
    for seed in range(5):
        random.Random(seed).shuffle(items)
        assert quintile_scores(dict(items)) == quintile_scores(values)
    # lower is better (recency): worse = strictly greater
    assert quintile_scores(values, higher_is_better=False) == {"a": 2, "b": 2, "c": 2, "d": 2, "e": 1, "f": 1}


def test_quintiles_corner_cases() -> None:
    assert quintile_scores({}) == {}
    assert quintile_scores({"x": 7}) == {"x": 1}
    assert set(quintile_scores({i: 5 for i in range(8)}).values()) == {1}
    scores = quintile_scores({i: i * i - 40 for i in range(23)})  # negatives too
    assert min(scores.values()) == 1 and max(scores.values()) == 5
    assert all(scores[i] <= scores[i + 1] for i in range(22))


def test_segment_grid_covers_every_cell_with_the_common_names() -> None:
    assert {segment_of(r, f) for r in range(1, 6) for f in range(1, 6)} == set(SEGMENT_LABELS)
    assert len(SEGMENT_GRID) == 5 and all(len(row) == 5 for row in SEGMENT_GRID)
    assert segment_of(5, 5) == "champions" and segment_of(5, 1) == "new" and segment_of(4, 1) == "promising"
    assert segment_of(3, 3) == "need_attention" and segment_of(3, 1) == "about_to_sleep"
    assert segment_of(1, 5) == "cant_lose_them" and segment_of(2, 4) == "at_risk"
    assert segment_of(2, 1) == "hibernating" and segment_of(1, 1) == "lost" and segment_of(4, 4) == "loyal"
    assert segment_of(5, 3) == "potential_loyalist"
    with pytest.raises(ValueError, match=r"1\.\.5"):
        segment_of(0, 3)


def test_rfm_recency_frequency_monetary() -> None:
    as_of = date(2026, 10, 31)
    facts = [CustomerFacts(f"c{i}", date(2026, 1, 1), date(2026, 10, 31 - 3 * i), 10 - i, 1000 * (10 - i), 100 * i)
             for i in range(10)]
    rows = {r.key: r for r in rfm(facts, as_of)}
    assert rows["c0"].recency_days == 0 and rows["c9"].recency_days == 27
    assert rows["c0"].frequency == 10 and rows["c0"].monetary_cents == 10_000
    assert rows["c9"].monetary_cents == 1000 - 900
    assert (rows["c0"].r, rows["c0"].f, rows["c0"].m, rows["c0"].segment) == (5, 5, 5, "champions")
    assert (rows["c9"].r, rows["c9"].f, rows["c9"].m, rows["c9"].segment) == (1, 1, 1, "lost")
    assert [r.key for r in rfm(reversed(facts), as_of)] == sorted(rows)


def test_segment_totals_list_every_segment_with_shares() -> None:
    facts = [CustomerFacts(f"c{i}", date(2026, 1, 1), date(2026, 10, 1 + i), 1, 500, 0) for i in range(3)]
    totals = segment_totals(rfm(facts, date(2026, 10, 31)))
    assert [t.segment for t in totals] == list(SEGMENT_LABELS)
    assert sum(t.customers for t in totals) == 3 and sum(t.value_cents for t in totals) == 1500
    assert sum(t.share for t in totals) == pytest.approx(1.0, abs=1e-3)
    assert all(t.share == 0.0 for t in segment_totals([]))


def test_ratio_and_per_customer_round_half_up() -> None:
    assert ratio(1, 3) == 0.3333 and ratio(2, 3) == 0.6667 and ratio(1, 8) == 0.125 and ratio(0, 0) is None
    assert per_customer_cents(1001, 2) == 501 and per_customer_cents(-1001, 2) == -501
    assert per_customer_cents(1000, 3) == 333 and per_customer_cents(5, 0) is None
    assert cents(None) == 0 and cents(12) == 1200
    assert cents(Decimal("-12.34")) == -1234


def test_months() -> None:
    assert add_months(date(2026, 11, 1), 2) == date(2027, 1, 1)
    assert add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)
    assert cohort_window(date(2026, 2, 17), 3) == [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]


def test_cohort_matrix_retention_and_cumulative_value() -> None:
    firsts = {"a": date(2026, 8, 3), "b": date(2026, 8, 20), "c": date(2026, 9, 9), "old": date(2025, 1, 1)}
    monthly = [
        MonthValue("a", date(2026, 8, 1), 1, 1000), MonthValue("b", date(2026, 8, 1), 2, 3000),
        MonthValue("a", date(2026, 9, 1), 0, -400),  # a refund only: value but not active
        MonthValue("b", date(2026, 10, 1), 1, 250),
        MonthValue("c", date(2026, 9, 1), 1, 999), MonthValue("c", date(2026, 10, 1), 1, 1),
        MonthValue("old", date(2026, 9, 1), 1, 77777), MonthValue("stranger", date(2026, 9, 1), 1, 5),
    ]
    out = cohort_matrix(firsts, monthly, date(2026, 10, 15), 3)
    assert [(c.month, c.size, len(c.cells)) for c in out] == [
        (date(2026, 8, 1), 2, 3), (date(2026, 9, 1), 1, 2), (date(2026, 10, 1), 0, 1)]
    aug = out[0].cells
    assert [(x.offset, x.month, x.active_customers, x.retention) for x in aug] == [
        (0, date(2026, 8, 1), 2, 1.0), (1, date(2026, 9, 1), 0, 0.0), (2, date(2026, 10, 1), 1, 0.5)]
    assert [x.cumulative_value_cents for x in aug] == [4000, 3600, 3850]
    assert [x.cumulative_value_per_customer_cents for x in aug] == [2000, 1800, 1925]
    assert [(x.active_customers, x.cumulative_value_cents) for x in out[1].cells] == [(1, 999), (1, 1000)]
    empty = out[2].cells[0]
    assert (empty.active_customers, empty.retention, empty.cumulative_value_per_customer_cents) == (0, None, None)


def test_parameters() -> None:
    validate_params(date(2026, 10, 1), date(2026, 10, 1), 36)
    with pytest.raises(ValidationFailed) as e:
        validate_params(date(2026, 10, 2), date(2026, 10, 1), 37)
    assert [err.loc[-1] for err in e.value.errors] == ["as_of_date", "cohort_months"]
