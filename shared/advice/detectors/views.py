"""Products many look at and few buy (storefront events, where the store sends them).

Threshold (why): at least 100 sessions viewed the product in the last 28 days (fewer views make a rate of
noise), and its units sold per viewing session are at most half the store's rate over every viewed product —
a price, photo, description or stock problem on that page rather than a quiet week.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from shared.advice.detectors.common import figure, products_query, share_pct
from shared.advice.evidence import Impact, RecommendationDraft, RecommendationKind
from shared.advice.facts import StoreFacts
from shared.analytics.products import ProductMetrics

MIN_VIEWS = 100
RATE_RATIO = Decimal("0.5")


def store_view_rate(facts: StoreFacts) -> tuple[int, int, Decimal | None]:
    """(units sold, viewing sessions, units per 100 sessions) over the products with views."""
    units = sum(p.units_sold for pid, p in facts.recent.items() if facts.product_views.get(pid))
    views = sum(n for pid, n in facts.product_views.items() if pid in facts.recent)
    return units, views, share_pct(units, views)


def low_view_conversion(p: ProductMetrics, facts: StoreFacts) -> RecommendationDraft | None:
    views = facts.product_views.get(p.product_id, 0)
    all_units, all_views, store_rate = store_view_rate(facts)
    rate = share_pct(p.units_sold, views)
    if views < MIN_VIEWS or rate is None or store_rate is None or rate > store_rate * RATE_RATIO:
        return None
    w = facts.windows.recent
    eq = f"events(store={facts.store_id}, product_view, {w.span}): distinct sessions"
    missing = int(((store_rate - rate) / 100 * views).to_integral_value(rounding=ROUND_HALF_UP))
    figures = [figure("product_views", "sessions that viewed the product", str(views), "count", w.period,
                      f"{eq}, product={p.product_id}"),
               figure("units_sold", "units sold", str(p.units_sold), "units", w.period, products_query(facts, w)),
               figure("view_conversion_pct", "units sold per 100 viewing sessions", str(rate), "percent", w.period,
                      f"{p.units_sold} / {views} * 100"),
               figure("store_view_conversion_pct", "the same over every viewed product", str(store_rate), "percent",
                      w.period, f"{all_units} / {all_views} * 100 ({eq}; {products_query(facts, w)})")]
    impact = Impact(metric="units_sold", value=str(missing), unit="units",
                    arithmetic=f"({store_rate} % - {rate} %) * {views} = {missing}")
    return RecommendationDraft(kind=RecommendationKind.LOW_CONVERSION, store_id=facts.store_id,
                               product_id=p.product_id, subject=p.title, figures=figures, expected_impact=impact,
                               confidence=0.5, score=float(missing) * float(_price(p)),
                               dedupe_key=f"low_conversion:{p.product_id}")


def _price(p: ProductMetrics) -> Decimal:
    return Decimal(p.net_sales.amount) / p.units_sold if p.units_sold > 0 else Decimal(0)
