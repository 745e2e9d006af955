"""The detectors: pure functions from a store's computed analytics (`StoreFacts`) to recommendation drafts.

Each module explains its thresholds; `detect` runs them all for one store. No detector computes a metric an
analytics service already computes, nor invents a number: every figure is a service output or arithmetic on
them, written out in the figure's query or the impact's arithmetic.
"""

from __future__ import annotations

from shared.advice.detectors import sales, stock, store, views
from shared.advice.evidence import RecommendationDraft
from shared.advice.facts import StoreFacts


def _product_drafts(facts: StoreFacts) -> list[RecommendationDraft | None]:
    out: list[RecommendationDraft | None] = []
    for pid, p in facts.recent.items():
        fc = facts.forecasts.get(pid)
        stockout = stock.stockout_risk(p, fc, facts) if fc is not None else None
        out.append(stockout)
        if stockout is None:
            out.append(stock.fast_mover_low_stock(p, facts))
        out.append(stock.overstock(p, facts))
        out.append(sales.price_anomaly(p, facts.baseline.get(pid), facts))
        out.append(views.low_view_conversion(p, facts))
    out.extend(stock.dead_stock(p, facts) for p in facts.dead.values())
    out.extend(sales.product_refund_spike(p, facts.baseline.get(pid), facts) for pid, p in facts.short.items())
    return out


def detect(facts: StoreFacts) -> list[RecommendationDraft]:
    """Every finding for the store on `facts.as_of`, unranked."""
    found = _product_drafts(facts)
    found += [sales.discount_anomaly(facts), sales.store_refund_spike(facts), store.revenue_anomaly(facts),
              store.falling_repeat_rate(facts), store.falling_conversion(facts), store.missing_costs(facts),
              store.stale_sync(facts), store.unconverted_orders(facts)]
    return [d for d in found if d is not None]
