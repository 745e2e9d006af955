"""The client's model of Shopify's cost bucket, and page sizing from observed costs (no server)."""

from __future__ import annotations

import math

import pytest

from shared.stores.shopify.pacing import MAX_QUERY_COST, PROBE_PAGE_SIZE, BucketModel, PacingState, shared_pacing


def _status(available: float, maximum: float = 1000.0, rate: float = 50.0) -> dict[str, float]:
    return {"maximumAvailable": maximum, "currentlyAvailable": available, "restoreRate": rate}


def _shopify_cost(first: int, per_node: int = 70) -> float:
    """Today's cost rule (reference §4): 2 + ⌊2 ln max(2, n)⌋ * per-node cost — a step function."""
    return 2 + int(2 * math.log(max(2, first))) * per_node


def test_an_unknown_bucket_never_waits() -> None:
    assert BucketModel().seconds_until(500, now=0.0) == 0.0


def test_the_wait_is_the_missing_points_over_the_restore_rate() -> None:
    bucket = BucketModel()
    bucket.observe(_status(100), now=10.0)
    assert bucket.seconds_until(300, now=10.0) == pytest.approx((300 + 1 - 100) / 50)  # one point of headroom
    assert bucket.seconds_until(300, now=12.0) == pytest.approx((300 + 1 - 200) / 50)  # refilled meanwhile
    assert bucket.seconds_until(300, now=100.0) == 0.0


def test_a_query_dearer_than_the_bucket_waits_only_for_a_full_bucket() -> None:
    bucket = BucketModel()
    bucket.observe(_status(0, maximum=100, rate=10), now=0.0)
    assert bucket.seconds_until(5000, now=0.0) == pytest.approx(10.0)


def test_a_status_without_numbers_leaves_the_model_alone() -> None:
    bucket = BucketModel()
    bucket.observe(_status(100), now=0.0)
    bucket.observe({"maximumAvailable": None}, now=5.0)
    assert (bucket.available, bucket.observed_at) == (100, 0.0)


def test_a_never_priced_query_probes_with_a_small_page() -> None:
    assert PacingState().page_size("orders", 100, 0.2) == PROBE_PAGE_SIZE
    assert PacingState().page_size("orders", 3, 0.2) == 3


def test_page_size_settles_on_the_largest_page_within_the_budget_without_oscillating() -> None:
    pacing = PacingState()
    pacing.observe(_status(2000, maximum=2000, rate=100), now=0.0)
    budget = 0.2 * 2000
    sizes = []
    for _ in range(25):
        first = pacing.page_size("orders", 250, 0.2)
        sizes.append(first)
        pacing.record("orders", first, _shopify_cost(first))
    assert _shopify_cost(sizes[-1]) <= budget
    assert _shopify_cost(sizes[-1] + 1) > budget or sizes[-1] == 250  # nothing bigger fits
    assert sizes[-5:] == [sizes[-1]] * 5
    assert sum(_shopify_cost(size) > budget for size in sizes) <= 1  # one overshoot while learning, at most


def test_page_size_never_exceeds_the_single_query_limit_on_a_huge_bucket() -> None:
    pacing = PacingState()
    pacing.observe(_status(20000, maximum=20000, rate=2000), now=0.0)
    pacing.record("orders", 10, 400.0)
    assert 400.0 * pacing.page_size("orders", 250, 0.2) / 10 <= MAX_QUERY_COST


def test_estimates_err_high() -> None:
    pacing = PacingState()
    pacing.observe(_status(1000), now=0.0)
    assert pacing.estimate("orders", 5, 0.2) == 200.0  # never priced: a page's budget
    pacing.record("orders", 4, 146.0)
    pacing.record("orders", 8, 290.0)
    assert pacing.estimate("orders", 4, 0.2) == 146.0
    assert pacing.estimate("orders", 6, 0.2) == 290.0  # bounded by the next larger size seen
    assert pacing.estimate("orders", 16, 0.2) > 2 * 290.0  # beyond what we saw: linear, with a margin


def test_clients_of_one_shop_share_a_state_and_other_tokens_do_not() -> None:
    endpoint = "https://a.myshopify.com/admin/api/2026-10/graphql.json"
    assert shared_pacing(endpoint, "shpat_1") is shared_pacing(endpoint, "shpat_1")
    assert shared_pacing(endpoint, "shpat_1") is not shared_pacing(endpoint, "shpat_2")
