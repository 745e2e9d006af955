"""Stock detectors: fire on the situation, stay quiet on healthy products, thresholds at their edges."""

from __future__ import annotations

from shared.advice.detectors import detect, stock
from shared.advice.evidence import RecommendationKind
from tests.unit.advice.advice_support import assert_traceable, by_id, catalog, facts, forecast, product


def _values(draft: object) -> dict[str, str]:
    return {f.metric: f.value for f in draft.figures}  # type: ignore[attr-defined]


def test_stockout_within_lead_time_fires_with_the_forecasts_reorder() -> None:
    p = product(units=28, net="700.00", on_hand=5, doi=5.0)
    draft = stock.stockout_risk(p, forecast(p, stockout_in=5, reorder=40), facts())
    assert draft is not None and draft.kind is RecommendationKind.STOCKOUT_RISK
    v = _values(draft)
    assert v["reorder_quantity"] == "40" and v["on_hand"] == "5" and v["days_to_stockout"] == "5"
    assert v["avg_selling_price"] == "25.00"  # 700.00 / 28
    assert draft.expected_impact is not None and draft.expected_impact.value == "1000.00"  # 40 * 25.00
    assert draft.expected_impact.arithmetic == "40 units * 25.00 EUR = 1000.00 EUR"
    assert draft.dedupe_key == f"stockout_risk:{p.product_id}"
    assert_traceable(draft)


def test_stockout_edges_lead_time_and_minimum_sales() -> None:
    p = product(units=28, on_hand=5, doi=5.0)
    assert stock.stockout_risk(p, forecast(p, stockout_in=13), facts()) is not None
    assert stock.stockout_risk(p, forecast(p, stockout_in=14), facts()) is None  # arrives in time
    assert stock.stockout_risk(p, forecast(p, stockout_in=None), facts()) is None
    assert stock.stockout_risk(p, forecast(p, stockout_in=3, reorder=0), facts()) is None
    slow = product(units=2, on_hand=1, doi=14.0)
    assert stock.stockout_risk(slow, forecast(slow, stockout_in=3), facts()) is None


def test_only_short_stock_is_forecast() -> None:
    assert stock.needs_forecast(product(units=28, on_hand=5, doi=5.0), 14)
    assert stock.needs_forecast(product(units=28, on_hand=0, doi=None), 14)
    assert stock.needs_forecast(product(units=28, on_hand=28, doi=28.0), 14)
    assert not stock.needs_forecast(product(units=28, on_hand=29, doi=29.0), 14)
    assert not stock.needs_forecast(product(units=28, on_hand=None, doi=None), 14)
    assert not stock.needs_forecast(product(units=2, on_hand=0, doi=None), 14)


def test_fast_mover_low_stock() -> None:
    hot = product(units=40, net="1000.00", on_hand=30, doi=21.0, abc="A", trend=35.0)
    draft = stock.fast_mover_low_stock(hot, facts())
    assert draft is not None and _values(draft)["trend_pct"] == "35.0"
    assert stock.fast_mover_low_stock(product(units=40, on_hand=30, doi=21.0, abc="B", trend=35.0), facts()) is None
    assert stock.fast_mover_low_stock(product(units=40, on_hand=30, doi=21.0, abc="A", trend=19.9), facts()) is None
    assert stock.fast_mover_low_stock(product(units=40, on_hand=40, doi=28.0, abc="A", trend=35.0), facts()) is None


def test_overstock_beyond_180_days() -> None:
    p = product(units=10, net="250.00", on_hand=200, doi=560.0)
    draft = stock.overstock(p, facts())
    assert draft is not None
    assert draft.expected_impact is not None and draft.expected_impact.value == "167"  # 200 - ceil(10/28*90)=33
    assert draft.expected_impact.arithmetic == "200 - ceil(10 / 28 * 90) = 167"
    assert_traceable(draft)
    assert stock.overstock(product(units=10, on_hand=64, doi=180.0), facts()) is None  # at the edge: not yet
    assert stock.overstock(product(units=1, on_hand=19, doi=532.0), facts()) is None  # too few units to matter


def test_dead_stock_active_with_stock_and_no_sale() -> None:
    p = product("Old Lamp", units=0, net="0.00", on_hand=12)
    f = facts(dead=by_id(p), catalog={p.product_id: catalog(p)})
    draft = stock.dead_stock(p, f)
    assert draft is not None and _values(draft)["stock_value_at_cost"] == "120.00"
    assert _values(draft)["window_days"] == "90"
    assert draft.expected_impact is not None and draft.expected_impact.value == "120.00"
    no_cost = facts(dead=by_id(p), catalog={p.product_id: catalog(p, at_cost=None)})
    assert _values(stock.dead_stock(p, no_cost))["stock_value_at_price"] == "300.00"  # type: ignore[arg-type]
    assert stock.dead_stock(p, facts(catalog={p.product_id: catalog(p, status="draft")})) is None
    assert stock.dead_stock(product("Sold", units=1, on_hand=12), f) is None
    assert stock.dead_stock(product("Empty", units=0, on_hand=0), f) is None


def test_healthy_products_fire_nothing() -> None:
    healthy = product("Steady Tee", units=30, net="750.00", on_hand=50, doi=46.67, abc="A", trend=3.0)
    f = facts(
        recent=by_id(healthy),
        short=by_id(product("Steady Tee", units=15, net="375.00")),
        dead=by_id(product("Steady Tee", units=90, net="2250.00")),
        baseline=by_id(product("Steady Tee", units=90, net="2200.00")),
        catalog={healthy.product_id: catalog(healthy)},
    )
    assert [d for d in detect(f) if d.product_id == healthy.product_id] == []
