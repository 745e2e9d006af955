"""Sales detectors: a product's selling price against its own history, the store's discount share, refund
spikes (store and product), and net sales outside the forecast interval.

Thresholds (why these numbers):
- Price anomaly: the average selling price of the last 28 days is ≥ 25 % away from the 84 days before, with
  ≥ 5 units in each window (fewer units make an average of a handful of orders).
- Discount anomaly: discounts ÷ gross sales rose by ≥ 5 points and to ≥ 1.5 times the previous 28 days,
  with ≥ 20 orders (a promotion nobody planned shows as both).
- Refund spike (store): refunds ÷ orders of the last 14 days is ≥ 2 times the 84-day baseline and ≥ 3 points
  above it, with ≥ 5 refunds. (Product): returns ÷ sales of the last 14 days ≥ 30 % and ≥ 2 times the
  product's baseline share, with ≥ 5 units sold and ≥ 3 units' worth returned.
- Revenue anomaly: the last 7 days' net sales fall below the sum of the daily lower bounds (or above the sum of
  the upper bounds) of the 80 % forecast interval — wider than the week's own interval, so it fires rarely.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from shared.advice.detectors.common import (
    figure,
    money,
    pct,
    price_figure,
    products_query,
    selling_price,
    share_pct,
    summary_query,
)
from shared.advice.evidence import Impact, RecommendationDraft, RecommendationKind
from shared.advice.facts import StoreFacts
from shared.analytics.products import ProductMetrics

PRICE_CHANGE_PCT = Decimal(25)
PRICE_MIN_UNITS = 5
DISCOUNT_POINTS = Decimal(5)
DISCOUNT_RATIO = Decimal("1.5")
DISCOUNT_MIN_ORDERS = 20
REFUND_RATIO = Decimal(2)
REFUND_POINTS = Decimal(3)
REFUND_MIN = 5
PRODUCT_REFUND_SHARE = Decimal(30)
PRODUCT_REFUND_MIN_UNITS = 5
PRODUCT_REFUND_MIN_PRICES = 3  # returns worth at least three units: not one unlucky order


def price_anomaly(now: ProductMetrics, before: ProductMetrics | None, facts: StoreFacts) -> RecommendationDraft | None:
    if before is None or now.units_sold < PRICE_MIN_UNITS or before.units_sold < PRICE_MIN_UNITS:
        return None
    p_now, p_before = selling_price(now), selling_price(before)
    if p_now is None or p_before is None or p_before <= 0:
        return None
    change = Decimal(pct((p_now - p_before) * 100 / p_before))
    if abs(change) < PRICE_CHANGE_PCT:
        return None
    f_now = price_figure(now, facts, facts.windows.recent)
    f_before = price_figure(before, facts, facts.windows.baseline, "avg_selling_price_baseline",
                            "average selling price before")
    assert f_now is not None and f_before is not None
    f_change = figure("price_change_pct", "change of the average selling price", str(change), "percent",
                      facts.windows.recent.period, f"({f_now.value} - {f_before.value}) / {f_before.value} * 100")
    units = figure("units_sold", "units sold in the last 28 days", str(now.units_sold), "units",
                   facts.windows.recent.period, products_query(facts, facts.windows.recent))
    return RecommendationDraft(kind=RecommendationKind.PRICE_ANOMALY, store_id=facts.store_id,
                               product_id=now.product_id, subject=now.title,
                               figures=[f_now, f_before, f_change, units], confidence=0.55,
                               score=float(abs(p_now - p_before) * now.units_sold) * 0.5,
                               dedupe_key=f"price_anomaly:{now.product_id}")


def discount_anomaly(facts: StoreFacts) -> RecommendationDraft | None:
    s = facts.summary_recent
    if s is None or s.period.metrics.orders < DISCOUNT_MIN_ORDERS:
        return None
    cur, prev = s.period.metrics, s.previous_period.metrics
    now = share_pct(Decimal(cur.discounts.amount), Decimal(cur.gross_sales.amount))
    before = share_pct(Decimal(prev.discounts.amount), Decimal(prev.gross_sales.amount))
    if now is None or before is None or now - before < DISCOUNT_POINTS or now < before * DISCOUNT_RATIO:
        return None
    w, q = facts.windows.recent, summary_query(facts, facts.windows.recent)
    prev_period = f"{s.previous_period.date_from.isoformat()}/{s.previous_period.date_to.isoformat()}"
    gross = cur.gross_sales.amount
    value = money((now - before) / 100 * Decimal(gross))
    figures = [figure("discount_share_pct", "discounts / gross sales", str(now), "percent", w.period, q),
               figure("discount_share_pct_before", "discounts / gross sales, previous period", str(before), "percent",
                      prev_period, q),
               figure("gross_sales", "gross sales", gross, "money", w.period, q, facts.currency),
               figure("discounts", "discounts", cur.discounts.amount, "money", w.period, q, facts.currency)]
    impact = Impact(metric="extra_discounts", value=value, unit="money", currency=facts.currency,
                    arithmetic=f"({now} % - {before} %) * {gross} {facts.currency} = {value} {facts.currency}")
    return RecommendationDraft(kind=RecommendationKind.DISCOUNT_ANOMALY, store_id=facts.store_id, subject="the store",
                               figures=figures, expected_impact=impact, confidence=0.6, score=float(value),
                               dedupe_key="discount_anomaly")


def store_refund_spike(facts: StoreFacts) -> RecommendationDraft | None:
    s, b = facts.summary_short, facts.summary_baseline
    if s is None or b is None:
        return None
    refunds, orders = s.period.metrics.refunds, s.period.metrics.orders
    now = share_pct(refunds, orders)
    base = share_pct(b.period.metrics.refunds, b.period.metrics.orders)
    if refunds < REFUND_MIN or now is None or base is None:
        return None
    if now < base * REFUND_RATIO or now - base < REFUND_POINTS:
        return None
    ws, wb = facts.windows.short, facts.windows.baseline
    extra = int((refunds - base / 100 * orders).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    figures = [figure("refunds", f"refunds in the last {ws.days} days", str(refunds), "count", ws.period,
                      summary_query(facts, ws)),
               figure("orders", f"orders in the last {ws.days} days", str(orders), "count", ws.period,
                      summary_query(facts, ws)),
               figure("refund_rate_pct", "refunds / orders", str(now), "percent", ws.period, summary_query(facts, ws)),
               figure("refund_rate_pct_baseline", "refunds / orders before", str(base), "percent", wb.period,
                      summary_query(facts, wb)),
               figure("extra_refunds", "refunds above the usual rate", str(extra), "count", ws.period,
                      f"{refunds} - {base} % * {orders}")]
    impact = Impact(metric="extra_refunds", value=str(extra), unit="count",
                    arithmetic=f"{refunds} - {base} % * {orders} = {extra}")
    return RecommendationDraft(kind=RecommendationKind.REFUND_SPIKE, store_id=facts.store_id, subject="the store",
                               figures=figures, expected_impact=impact, confidence=0.7,
                               score=float(extra) * float(s.period.metrics.aov.amount),
                               dedupe_key="refund_spike:store")


def product_refund_spike(now: ProductMetrics, before: ProductMetrics | None,
                         facts: StoreFacts) -> RecommendationDraft | None:
    returns, net = Decimal(now.returns.amount), Decimal(now.net_sales.amount)
    price = selling_price(now)
    if now.units_sold < PRODUCT_REFUND_MIN_UNITS or price is None or returns < PRODUCT_REFUND_MIN_PRICES * price:
        return None
    share = share_pct(returns, net + returns)
    base = Decimal(0)
    if before is not None:
        base = share_pct(Decimal(before.returns.amount), Decimal(before.net_sales.amount)
                         + Decimal(before.returns.amount)) or Decimal(0)
    if share is None or share < PRODUCT_REFUND_SHARE or share < base * REFUND_RATIO:
        return None
    ws, wb = facts.windows.short, facts.windows.baseline
    sales = money(net + returns)
    extra = money(returns - base / 100 * (net + returns))
    qs = products_query(facts, ws)
    figures = [figure("returns", f"returns in the last {ws.days} days", now.returns.amount, "money", ws.period, qs,
                      facts.currency),
               figure("sales", f"sales in the last {ws.days} days (net sales + returns)", sales, "money", ws.period, qs,
                      facts.currency),
               figure("return_share_pct", "returns / sales", str(share), "percent", ws.period, qs),
               figure("return_share_pct_baseline", "returns / sales before", str(base), "percent", wb.period,
                      products_query(facts, wb))]
    impact = Impact(metric="extra_returns", value=extra, unit="money", currency=facts.currency,
                    arithmetic=f"{now.returns.amount} - {base} % * {sales} = {extra} {facts.currency}")
    return RecommendationDraft(kind=RecommendationKind.REFUND_SPIKE, store_id=facts.store_id, product_id=now.product_id,
                               subject=now.title, figures=figures, expected_impact=impact, confidence=0.65,
                               score=float(extra), dedupe_key=f"refund_spike:{now.product_id}")
