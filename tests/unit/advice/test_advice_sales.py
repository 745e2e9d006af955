"""Sales and store detectors: prices, discounts, refunds, revenue, repeat rate, conversion, data quality."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from shared.advice.detectors import sales, store
from shared.advice.evidence import RecommendationDraft
from shared.advice.facts import RevenueFacts, SyncFacts
from shared.advice.numbers import untraceable_numbers
from shared.advice.templates import TemplatePhraser
from tests.unit.advice.advice_support import (
    AS_OF,
    assert_traceable,
    by_id,
    catalog,
    facts,
    funnel,
    metrics,
    product,
    summary,
)


def _v(draft: RecommendationDraft | None) -> dict[str, str]:
    assert draft is not None
    return {f.metric: f.value for f in draft.figures}


def test_price_anomaly_at_25_percent() -> None:
    before = product(units=20, net="500.00")  # 25.00 a unit
    assert sales.price_anomaly(product(units=10, net="187.50"), before, facts()) is not None  # 18.75: -25.0 %
    assert sales.price_anomaly(product(units=10, net="188.00"), before, facts()) is None  # 18.80: -24.8 %
    v = _v(sales.price_anomaly(product(units=10, net="320.00"), before, facts()))
    assert v["price_change_pct"] == "28.0" and v["avg_selling_price_baseline"] == "25.00"
    assert sales.price_anomaly(product(units=4, net="40.00"), before, facts()) is None  # too few units


def test_discount_anomaly() -> None:
    w = facts().windows.recent
    f = facts(summary_recent=summary(w.date_from, 28, metrics(discounts="150.00"), metrics(discounts="50.00")))
    draft = sales.discount_anomaly(f)
    v = _v(draft)
    assert v["discount_share_pct"] == "15.0" and v["discount_share_pct_before"] == "5.0"
    assert draft is not None and draft.expected_impact is not None
    assert draft.expected_impact.value == "100.00"  # (15.0 % - 5.0 %) * 1000.00
    assert_traceable(draft)
    small = facts(summary_recent=summary(w.date_from, 28, metrics(discounts="99.00"), metrics(discounts="50.00")))
    assert sales.discount_anomaly(small) is None  # 9.9 % vs 5.0 %: +4.9 points


def test_store_refund_spike_needs_ratio_points_and_counts() -> None:
    w = facts().windows
    base = summary(w.baseline.date_from, 84, metrics(orders=300, refunds=9), metrics())  # 3.0 %
    f = facts(
        summary_short=summary(w.short.date_from, 14, metrics(orders=100, refunds=8), metrics()), summary_baseline=base
    )
    draft = sales.store_refund_spike(f)
    v = _v(draft)
    assert v["refund_rate_pct"] == "8.0" and v["refund_rate_pct_baseline"] == "3.0" and v["extra_refunds"] == "5"
    assert_traceable(draft)  # type: ignore[arg-type]
    few = facts(
        summary_short=summary(w.short.date_from, 14, metrics(orders=40, refunds=4), metrics()), summary_baseline=base
    )
    assert sales.store_refund_spike(few) is None  # 10 % but only 4 refunds
    mild = facts(
        summary_short=summary(w.short.date_from, 14, metrics(orders=100, refunds=5), metrics()), summary_baseline=base
    )
    assert sales.store_refund_spike(mild) is None  # 5.0 % is under 2 x 3.0 %


def test_product_refund_spike() -> None:
    now = product(units=10, net="150.00", returns="100.00")  # 40.0 % of 250.00 sales
    before = product(units=40, net="950.00", returns="50.00")  # 5.0 %
    draft = sales.product_refund_spike(now, before, facts())
    v = _v(draft)
    assert v["return_share_pct"] == "40.0" and v["return_share_pct_baseline"] == "5.0" and v["sales"] == "250.00"
    assert draft is not None and draft.expected_impact is not None
    assert draft.expected_impact.value == "87.50"  # 100.00 - 5.0 % * 250.00
    assert_traceable(draft)
    assert sales.product_refund_spike(product(units=10, net="210.00", returns="40.00"), before, facts()) is None
    assert sales.product_refund_spike(product(units=2, net="10.00", returns="40.00"), before, facts()) is None
    assert sales.product_refund_spike(product(units=10, net="175.00", returns="75.00"), before, facts()) is not None
    assert sales.product_refund_spike(product(units=10, net="176.00", returns="74.00"), before, facts()) is None
    assert sales.product_refund_spike(product(units=4, net="50.00", returns="50.00"), before, facts()) is None


def test_revenue_below_the_forecast_interval() -> None:
    low = RevenueFacts([Decimal("50.00")] * 7, [100.0] * 7, [80.0] * 7, [120.0] * 7, "AutoETS")
    draft = store.revenue_anomaly(facts(revenue=low))
    v = _v(draft)
    assert v["net_sales"] == "350.00" and v["net_sales_lower"] == "560.00" and v["net_sales_expected"] == "700.00"
    assert draft is not None and draft.dedupe_key == "revenue_anomaly:low"
    assert_traceable(draft)
    inside = RevenueFacts([Decimal("80.00")] * 7, [100.0] * 7, [80.0] * 7, [120.0] * 7, "AutoETS")
    assert store.revenue_anomaly(facts(revenue=inside)) is None  # exactly the lower bound: inside


def test_falling_repeat_rate() -> None:
    w = facts().windows.recent
    f = facts(
        summary_recent=summary(
            w.date_from,
            28,
            metrics(new_customers=70, returning_customers=30),
            metrics(new_customers=50, returning_customers=50),
        )
    )
    draft = store.falling_repeat_rate(f)
    assert _v(draft)["returning_share_pct"] == "30.0"
    assert draft is not None and draft.expected_impact is not None and draft.expected_impact.value == "20"
    assert_traceable(draft)
    few = facts(
        summary_recent=summary(
            w.date_from,
            28,
            metrics(new_customers=20, returning_customers=5),
            metrics(new_customers=50, returning_customers=50),
        )
    )
    assert store.falling_repeat_rate(few) is None


def test_falling_conversion_only_with_events() -> None:
    w = facts().windows.recent
    f = facts(
        funnel_recent=funnel(w.date_from, 28, 1000, 15),
        funnel_previous=funnel(w.date_from - timedelta(days=28), 28, 1000, 30),
    )
    assert _v(store.falling_conversion(f))["conversion_pct"] == "1.5"
    assert store.falling_conversion(facts(funnel_recent=funnel(w.date_from, 28, 0, 15))) is None


def test_data_quality_missing_costs_and_stale_sync() -> None:
    a, b = product("A"), product("B")
    f = facts(catalog={a.product_id: catalog(a, variants=10, missing=1), b.product_id: catalog(b, variants=10)})
    assert _v(store.missing_costs(f))["missing_cost_pct"] == "5.0"
    g = facts(catalog={a.product_id: catalog(a, variants=21, missing=1)})
    assert store.missing_costs(g) is None  # 4.8 %
    assert store.stale_sync(facts()) is None
    failed = facts(sync=SyncFacts(datetime(2026, 11, 25, 3, tzinfo=UTC), "failed", None, 360))
    assert _v(store.stale_sync(failed))["last_sync_status"] == "failed"
    old = facts(sync=SyncFacts(datetime(2026, 11, 23, 3, tzinfo=UTC), "succeeded", None, 360))
    assert _v(store.stale_sync(old))["hours_since_sync"] == "51.0"
    assert by_id(a) and AS_OF


def test_data_quality_orders_left_out_for_want_of_an_exchange_rate() -> None:
    w = facts().windows.recent
    assert store.unconverted_orders(facts(summary_recent=summary(w.date_from, 28, metrics(), metrics()))) is None
    draft = store.unconverted_orders(
        facts(summary_recent=summary(w.date_from, 28, metrics(orders=180), metrics(), unconverted=(7, ["EUR", "GBP"]))))
    assert draft is not None and draft.dedupe_key == "data_quality:unconverted_orders"
    assert _v(draft) == {"unconverted_orders": "7", "unconverted_currencies": "EUR, GBP", "orders": "180"}
    text = TemplatePhraser().phrase_sync(draft)
    assert text.title == "7 orders are missing from the figures" and "EUR, GBP" in text.rationale
    assert untraceable_numbers(f"{text.title} {text.rationale}", draft.figures) == []
