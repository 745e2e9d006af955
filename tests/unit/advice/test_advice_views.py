"""Products with many views and few sales, against the store's own rate over viewed products."""

from __future__ import annotations

from shared.advice.detectors import views
from tests.unit.advice.advice_support import assert_traceable, by_id, facts, product

GOOD = product("Good Tee", units=60, net="1500.00")
POOR = product("Poor Tee", units=4, net="100.00")


def test_a_much_viewed_rarely_bought_product_fires() -> None:
    f = facts(recent=by_id(GOOD, POOR), product_views={GOOD.product_id: 400, POOR.product_id: 200})
    assert views.store_view_rate(f)[2] is not None and str(views.store_view_rate(f)[2]) == "10.7"  # 64 / 600
    draft = views.low_view_conversion(POOR, f)
    assert draft is not None
    v = {x.metric: x.value for x in draft.figures}
    assert v["view_conversion_pct"] == "2.0" and v["store_view_conversion_pct"] == "10.7"
    assert draft.expected_impact is not None and draft.expected_impact.value == "17"  # (10.7 - 2.0) % * 200
    assert_traceable(draft)
    assert views.low_view_conversion(GOOD, f) is None


def test_few_views_or_no_events_do_not_fire() -> None:
    few = facts(recent=by_id(GOOD, POOR), product_views={GOOD.product_id: 400, POOR.product_id: 99})
    assert views.low_view_conversion(POOR, few) is None
    assert views.low_view_conversion(POOR, facts(recent=by_id(GOOD, POOR))) is None


def test_at_half_the_store_rate_it_fires_just_above_it_does_not() -> None:
    base = product("Base", units=100, net="100.00")
    half = product("Half", units=5, net="100.00")  # 5.0 per 100 views
    f = facts(recent=by_id(base, half), product_views={base.product_id: 900, half.product_id: 100})
    assert str(views.store_view_rate(f)[2]) == "10.5"  # 105 / 1000: half is 5.25
    assert views.low_view_conversion(half, f) is not None
    above = product("Above", units=6, net="100.00")  # 6.0 per 100 views
    g = facts(recent=by_id(base, above), product_views={base.product_id: 900, above.product_id: 100})
    assert views.low_view_conversion(above, g) is None  # store 10.6: half is 5.3
