"""Stock detectors: stock-out risk (with the reorder), fast movers running low, overstock, dead stock.

Thresholds (why these numbers):
- Stock-out risk: the forecast stock-out date falls within the supplier lead time (default 14 days), so an
  order placed today arrives too late; the product must have sold at least MIN_UNITS in 28 days (a product
  nobody buys cannot "run out" in any way that matters). The reorder quantity is analytics.forecast's.
- Fast mover low stock: an A-class product (80 % of net sales) whose net sales grew ≥ 20 % from the first to
  the last half of 28 days and with less than two lead times of cover, when no stock-out is forecast yet.
- Overstock: more than 180 days of inventory at the last 28 days' pace and ≥ 20 units; the excess is what
  lies beyond 90 days of cover.
- Dead stock: an active product with stock and no unit sold in 90 days; its value at cost (price when a
  cost is missing) is the capital it ties up.
"""

from __future__ import annotations

import math
from decimal import Decimal

from shared.advice.detectors.common import (
    constant,
    figure,
    forecast_query,
    money,
    price_figure,
    products_query,
)
from shared.advice.evidence import Figure, Impact, RecommendationDraft, RecommendationKind
from shared.advice.facts import StoreFacts
from shared.analytics.forecast import ForecastPublic
from shared.analytics.products import ProductMetrics

MIN_UNITS = 3
FORECAST_HORIZON = 28
FAST_TREND_PCT = 20.0
OVERSTOCK_DOI = 180.0
OVERSTOCK_MIN_UNITS = 20
TARGET_COVER_DAYS = 90
# Scores are about money at stake: a stock-out loses the sales, dead stock ties up all of its value, overstock
# costs only the carrying of the excess (about 5 % of its value over the months it waits).
OVERSTOCK_WEIGHT = 0.05


def _base(p: ProductMetrics, facts: StoreFacts) -> list[Figure]:
    w = facts.windows.recent
    q = products_query(facts, w)
    return [figure("on_hand", "units on hand now", str(p.on_hand), "units", facts.as_of.isoformat(), q),
            figure("units_sold", f"units sold in the last {w.days} days", str(p.units_sold), "units", w.period, q)]


def needs_forecast(p: ProductMetrics, lead_time_days: int) -> bool:
    """Whether the stock-out check is worth a forecast: tracked stock, sales, and little cover."""
    if p.on_hand is None or p.units_sold < MIN_UNITS:
        return False
    return p.on_hand <= 0 or (p.days_of_inventory is not None and p.days_of_inventory <= 2 * lead_time_days)


def stockout_risk(p: ProductMetrics, fc: ForecastPublic, facts: StoreFacts) -> RecommendationDraft | None:
    if p.units_sold < MIN_UNITS or fc.stockout_date is None or fc.reorder is None or fc.reorder.quantity <= 0:
        return None
    days_left = (fc.stockout_date - facts.as_of).days
    if days_left >= facts.lead_time_days:
        return None
    fq = forecast_query(p.product_id, facts, FORECAST_HORIZON)
    qty = fc.reorder.quantity
    figures = [*_base(p, facts),
               figure("stockout_date", "first day forecast demand exceeds stock", fc.stockout_date.isoformat(),
                      "date", fc.stockout_date.isoformat(), fq),
               figure("days_to_stockout", "days until the stock-out", str(days_left), "days", facts.as_of.isoformat(),
                      fq),
               figure("lead_time_days", "supplier lead time", str(facts.lead_time_days), "days", "setting", fq),
               figure("reorder_quantity", "suggested order (lead-time demand + safety stock - on hand)", str(qty),
                      "units", facts.as_of.isoformat(), fq)]
    impact = None
    price = price_figure(p, facts, facts.windows.recent)
    if price is not None:
        figures.append(price)
        value = money(Decimal(qty) * Decimal(price.value))
        impact = Impact(metric="sales_protected", value=value, unit="money", currency=facts.currency,
                        arithmetic=f"{qty} units * {price.value} {facts.currency} = {value} {facts.currency}")
    confidence = 0.8 if fc.demand_class == "regular" else 0.6
    return RecommendationDraft(kind=RecommendationKind.STOCKOUT_RISK, store_id=facts.store_id, product_id=p.product_id,
                               subject=p.title, figures=figures, expected_impact=impact, confidence=confidence,
                               score=float(impact.value) if impact else float(qty),
                               dedupe_key=f"stockout_risk:{p.product_id}")


def fast_mover_low_stock(p: ProductMetrics, facts: StoreFacts) -> RecommendationDraft | None:
    doi, trend = p.days_of_inventory, p.trend_pct
    if p.abc_class != "A" or doi is None or trend is None or p.on_hand is None:
        return None
    if trend < FAST_TREND_PCT or doi >= 2 * facts.lead_time_days or p.units_sold < MIN_UNITS:
        return None
    w = facts.windows.recent
    q = products_query(facts, w)
    figures = [*_base(p, facts),
               figure("days_of_inventory", "days of inventory at the last 28 days' pace", str(doi), "days",
                      facts.as_of.isoformat(), q),
               figure("trend_pct", "net sales, last half vs first half of the window", str(trend), "percent",
                      w.period, q),
               figure("net_sales", f"net sales in the last {w.days} days", p.net_sales.amount, "money", w.period, q,
                      facts.currency),
               figure("lead_time_days", "supplier lead time", str(facts.lead_time_days), "days", "setting", q)]
    return RecommendationDraft(kind=RecommendationKind.FAST_MOVER_LOW_STOCK, store_id=facts.store_id,
                               product_id=p.product_id, subject=p.title, figures=figures, confidence=0.6,
                               score=float(p.net_sales.amount) * 0.1, dedupe_key=f"fast_mover:{p.product_id}")


def overstock(p: ProductMetrics, facts: StoreFacts) -> RecommendationDraft | None:
    doi = p.days_of_inventory
    if doi is None or p.on_hand is None or doi <= OVERSTOCK_DOI or p.on_hand < OVERSTOCK_MIN_UNITS:
        return None
    w = facts.windows.recent
    cover = math.ceil(Decimal(p.units_sold) * TARGET_COVER_DAYS / w.days)
    excess = p.on_hand - cover
    if excess <= 0:
        return None
    q = products_query(facts, w)
    figures = [*_base(p, facts),
               figure("days_of_inventory", "days of inventory at the last 28 days' pace", str(doi), "days",
                      facts.as_of.isoformat(), q),
               constant("window_days", "days the pace is measured over", w.days),
               constant("target_cover_days", "days of cover to keep", TARGET_COVER_DAYS),
               figure("excess_units", "units beyond the cover to keep", str(excess), "units", facts.as_of.isoformat(),
                      q)]
    impact = Impact(metric="excess_units", value=str(excess), unit="units",
                    arithmetic=f"{p.on_hand} - ceil({p.units_sold} / {w.days} * {TARGET_COVER_DAYS}) = {excess}")
    price = p.net_sales.amount if p.units_sold else "0"
    return RecommendationDraft(kind=RecommendationKind.OVERSTOCK, store_id=facts.store_id, product_id=p.product_id,
                               subject=p.title, figures=figures, expected_impact=impact, confidence=0.6,
                               score=float(Decimal(price) / max(p.units_sold, 1) * excess) * OVERSTOCK_WEIGHT,
                               dedupe_key=f"overstock:{p.product_id}")


def dead_stock(p: ProductMetrics, facts: StoreFacts) -> RecommendationDraft | None:
    cat = facts.catalog.get(p.product_id)
    if p.units_sold != 0 or p.on_hand is None or p.on_hand <= 0 or cat is None or cat.status != "active":
        return None
    w = facts.windows.dead
    q = products_query(facts, w)
    at_cost = cat.stock_value_at_cost is not None
    value = money(cat.stock_value_at_cost if cat.stock_value_at_cost is not None else cat.stock_value_at_price)
    basis = "cost" if at_cost else "price"
    figures = [figure("on_hand", "units on hand now", str(p.on_hand), "units", facts.as_of.isoformat(), q),
               figure("units_sold", f"units sold in the last {w.days} days", "0", "units", w.period, q),
               constant("window_days", "days without a sale", w.days),
               figure(f"stock_value_at_{basis}", f"stock on hand valued at {basis}", value, "money",
                      facts.as_of.isoformat(), f"catalog.variants(product={p.product_id}): sum({basis} * on hand)",
                      facts.currency)]
    impact = Impact(metric="capital_tied_up", value=value, unit="money", currency=facts.currency,
                    arithmetic=f"stock value at {basis} = {value} {facts.currency}")
    return RecommendationDraft(kind=RecommendationKind.DEAD_STOCK, store_id=facts.store_id, product_id=p.product_id,
                               subject=p.title, figures=figures, expected_impact=impact, confidence=0.75,
                               score=float(value), dedupe_key=f"dead_stock:{p.product_id}")
