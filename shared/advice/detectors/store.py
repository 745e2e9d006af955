"""Store-wide detectors: net sales against the forecast, falling repeat rate, falling conversion, data quality.

Thresholds (why these numbers):
- Revenue anomaly: see `shared.advice.detectors.sales` (the holdout week against the sum of daily bounds).
- Falling repeat rate: returning ÷ (new + returning) customers of the last 28 days fell by ≥ 5 points and by
  ≥ 15 % against the previous 28 days, with ≥ 30 customers in each period.
- Falling conversion (events present): orders ÷ sessions fell by ≥ 25 % against the previous 28 days with
  ≥ 200 sessions in each (the storefront funnel has no per-product orders, so this is store-wide).
- Data quality: ≥ 5 % of the active products' variants have no cost (margins and dead-stock value need it);
  the last sync failed, or no successful sync for more than twice the store's freshness (at least a day);
  any order of the last 28 days left out of the figures for want of an exchange rate (docs/metrics.md
  "Currencies": one is enough, the merchant's figures are short by it).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from shared.advice.detectors.common import figure, money, pct, share_pct, summary_query
from shared.advice.evidence import Impact, RecommendationDraft, RecommendationKind
from shared.advice.facts import StoreFacts

REPEAT_POINTS = Decimal(5)
REPEAT_RELATIVE = Decimal("0.85")
REPEAT_MIN_CUSTOMERS = 30
CONVERSION_RELATIVE = Decimal("0.75")
CONVERSION_MIN_SESSIONS = 200
MISSING_COST_PCT = Decimal(5)
STALE_MIN = timedelta(days=1)


def revenue_anomaly(facts: StoreFacts) -> RecommendationDraft | None:
    r = facts.revenue
    if r is None or not r.actual or r.model == "Zero":
        return None
    actual, expected = money(sum(r.actual, Decimal(0))), money(Decimal(str(sum(r.mean))))
    lower, upper = money(Decimal(str(sum(r.lower)))), money(Decimal(str(sum(r.upper))))
    low = Decimal(actual) < Decimal(lower)
    if not low and Decimal(actual) <= Decimal(upper):
        return None
    w, h = facts.windows.revenue_holdout, facts.windows.revenue_history
    q = (f"analytics.forecast.forecast_series(analytics.timeseries(store={facts.store_id}, net_sales, day, "
         f"{h.span}), horizon={w.days})")
    c = facts.currency
    gap = money(Decimal(expected) - Decimal(actual))
    figures = [figure("net_sales", f"net sales in the last {w.days} days", actual, "money", w.period,
                      f"analytics.timeseries(store={facts.store_id}, net_sales, day, {w.span})", c),
               figure("net_sales_expected", "forecast net sales", expected, "money", w.period, q, c),
               figure("net_sales_lower", "sum of the daily lower bounds (80 %)", lower, "money", w.period, q, c),
               figure("net_sales_upper", "sum of the daily upper bounds (80 %)", upper, "money", w.period, q, c)]
    impact = Impact(metric="net_sales_gap", value=gap, unit="money", currency=c,
                    arithmetic=f"{expected} {c} - {actual} {c} = {gap} {c}")
    return RecommendationDraft(kind=RecommendationKind.REVENUE_ANOMALY, store_id=facts.store_id, subject="the store",
                               figures=figures, expected_impact=impact, confidence=0.5, score=abs(float(gap)),
                               dedupe_key=f"revenue_anomaly:{'low' if low else 'high'}")


def falling_repeat_rate(facts: StoreFacts) -> RecommendationDraft | None:
    s = facts.summary_recent
    if s is None:
        return None
    cur, prev = s.period.metrics, s.previous_period.metrics
    n_now, n_before = cur.new_customers + cur.returning_customers, prev.new_customers + prev.returning_customers
    if n_now < REPEAT_MIN_CUSTOMERS or n_before < REPEAT_MIN_CUSTOMERS:
        return None
    now, before = share_pct(cur.returning_customers, n_now), share_pct(prev.returning_customers, n_before)
    if now is None or before is None or before - now < REPEAT_POINTS or now > before * REPEAT_RELATIVE:
        return None
    w, q = facts.windows.recent, summary_query(facts, facts.windows.recent)
    prev_period = f"{s.previous_period.date_from.isoformat()}/{s.previous_period.date_to.isoformat()}"
    lost = int(((before - now) / 100 * n_now).to_integral_value(rounding=ROUND_HALF_UP))
    figures = [figure("returning_share_pct", "returning customers / all customers", str(now), "percent", w.period, q),
               figure("returning_share_pct_before", "the same, previous period", str(before), "percent", prev_period,
                      q),
               figure("customers", "customers with an order", str(n_now), "count", w.period, q),
               figure("returning_customers", "returning customers", str(cur.returning_customers), "count", w.period,
                      q)]
    impact = Impact(metric="returning_customers", value=str(lost), unit="count",
                    arithmetic=f"({before} % - {now} %) * {n_now} = {lost}")
    return RecommendationDraft(kind=RecommendationKind.FALLING_REPEAT_RATE, store_id=facts.store_id,
                               subject="the store", figures=figures, expected_impact=impact, confidence=0.55,
                               score=float(lost) * float(cur.aov.amount), dedupe_key="falling_repeat_rate")


def falling_conversion(facts: StoreFacts) -> RecommendationDraft | None:
    f, p = facts.funnel_recent, facts.funnel_previous
    if f is None or p is None or not f.events_present or not p.events_present:
        return None
    if f.sessions < CONVERSION_MIN_SESSIONS or p.sessions < CONVERSION_MIN_SESSIONS:
        return None
    now, before = share_pct(f.orders, f.sessions), share_pct(p.orders, p.sessions)
    if now is None or before is None or before <= 0 or now > before * CONVERSION_RELATIVE:
        return None
    lost = int(((before - now) / 100 * f.sessions).to_integral_value(rounding=ROUND_HALF_UP))
    w = facts.windows.recent
    q = f"analytics.funnel(store={facts.store_id}, {w.span})"
    qp = f"analytics.funnel(store={facts.store_id}, {p.date_from.isoformat()}..{p.date_to.isoformat()})"
    figures = [figure("conversion_pct", "orders / sessions", str(now), "percent", w.period, q),
               figure("conversion_pct_before", "orders / sessions before", str(before), "percent",
                      f"{p.date_from.isoformat()}/{p.date_to.isoformat()}", qp),
               figure("sessions", "storefront sessions", str(f.sessions), "count", w.period, q)]
    impact = Impact(metric="orders", value=str(lost), unit="count",
                    arithmetic=f"({before} % - {now} %) * {f.sessions} = {lost}")
    return RecommendationDraft(kind=RecommendationKind.LOW_CONVERSION, store_id=facts.store_id, subject="the store",
                               figures=figures, expected_impact=impact, confidence=0.5, score=float(lost) * 10,
                               dedupe_key="low_conversion:store")


def missing_costs(facts: StoreFacts) -> RecommendationDraft | None:
    active = [c for c in facts.catalog.values() if c.status == "active"]
    total, missing = sum(c.variants for c in active), sum(c.variants_missing_cost for c in active)
    share = share_pct(missing, total)
    if share is None or share < MISSING_COST_PCT:
        return None
    q, day = f"catalog.variants(store={facts.store_id}, active products)", facts.as_of.isoformat()
    figures = [figure("variants_missing_cost", "variants without a cost", str(missing), "count", day, q),
               figure("variants", "variants of active products", str(total), "count", day, q),
               figure("missing_cost_pct", "variants without a cost / variants", str(share), "percent", day, q)]
    return RecommendationDraft(kind=RecommendationKind.DATA_QUALITY, store_id=facts.store_id, subject="the store",
                               figures=figures, confidence=0.9, score=float(missing),
                               dedupe_key="data_quality:missing_costs")


def stale_sync(facts: StoreFacts) -> RecommendationDraft | None:
    s = facts.sync
    if s is None:
        return None
    limit = max(timedelta(minutes=2 * s.freshness_minutes), STALE_MIN)
    failed = s.last_status == "failed"
    stale = s.last_synced_at is None or facts.now - s.last_synced_at > limit
    if not failed and not stale:
        return None
    q = f"stores.get(store={facts.store_id}) and sync_jobs (newest finished)"
    synced = s.last_synced_at.date().isoformat() if s.last_synced_at else "never"
    hours = "" if s.last_synced_at is None else pct((facts.now - s.last_synced_at).total_seconds() / 3600)
    figures = [figure("last_synced_at", "last successful sync", synced, "date", facts.as_of.isoformat(), q),
               figure("last_sync_status", "status of the newest finished sync", s.last_status or "none", "text",
                      facts.as_of.isoformat(), q)]
    if hours:
        figures.append(figure("hours_since_sync", "hours since the last successful sync", hours, "count",
                              facts.as_of.isoformat(), q))
    return RecommendationDraft(kind=RecommendationKind.DATA_QUALITY, store_id=facts.store_id, subject="the store",
                               figures=figures, confidence=0.95, score=500.0 if failed else 200.0,
                               dedupe_key="data_quality:sync")


def unconverted_orders(facts: StoreFacts) -> RecommendationDraft | None:
    s = facts.summary_recent
    if s is None or s.period.unconverted.orders == 0:
        return None
    w, q = facts.windows.recent, summary_query(facts, facts.windows.recent)
    left_out = s.period.unconverted
    figures = [figure("unconverted_orders", "orders in another currency without an exchange rate",
                      str(left_out.orders), "count", w.period, q),
               figure("unconverted_currencies", "their currencies", ", ".join(left_out.currencies), "text",
                      w.period, q),
               figure("orders", "orders in the figures", str(s.period.metrics.orders), "count", w.period, q)]
    return RecommendationDraft(kind=RecommendationKind.DATA_QUALITY, store_id=facts.store_id, subject="the store",
                               figures=figures, confidence=0.95, score=300.0 + left_out.orders,
                               dedupe_key="data_quality:unconverted_orders")
