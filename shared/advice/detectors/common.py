"""Small pieces every detector uses: numbers as quoted, figures with their source call, shares."""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal

from shared.advice.evidence import Figure, Unit
from shared.advice.facts import StoreFacts, Window
from shared.analytics.products import ProductMetrics

CENT = Decimal("0.01")
TENTH = Decimal("0.1")


def money(value: Decimal | int | str) -> str:
    return f"{Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP):.2f}"


def pct(value: Decimal | float) -> str:
    """Percent with one decimal, half-up: '12.5'."""
    return f"{Decimal(str(value)).quantize(TENTH, rounding=ROUND_HALF_UP):.1f}"


def share_pct(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    """part / whole * 100 as quoted (one decimal); None without a whole."""
    if Decimal(whole) <= 0:
        return None
    return Decimal(pct(Decimal(part) * 100 / Decimal(whole)))


def products_query(facts: StoreFacts, window: Window) -> str:
    return f"analytics.products(store={facts.store_id}, {window.span})"


def summary_query(facts: StoreFacts, window: Window) -> str:
    return f"analytics.summary(store={facts.store_id}, {window.span})"


def forecast_query(product_id: uuid.UUID, facts: StoreFacts, horizon: int) -> str:
    return f"analytics.forecast(product={product_id}, horizon={horizon}, lead_time={facts.lead_time_days})"


def figure(metric: str, label: str, value: str, unit: Unit, period: str, query: str,
           currency: str | None = None) -> Figure:
    return Figure(metric=metric, label=label, value=value, unit=unit, currency=currency, period=period, query=query)


def constant(metric: str, label: str, value: int, unit: Unit = "days") -> Figure:
    """A setting of the detector that its arithmetic uses (quoted, so it must be a figure too)."""
    return Figure(metric=metric, label=label, value=str(value), unit=unit, period="setting",
                  query="shared.advice.detectors (threshold)")


def selling_price(p: ProductMetrics) -> Decimal | None:
    """Average selling price: (net sales + returns) ÷ units = line value after line discounts per unit."""
    if p.units_sold <= 0:
        return None
    sales = Decimal(p.net_sales.amount) + Decimal(p.returns.amount)
    return Decimal(money(sales / p.units_sold))


def price_figure(p: ProductMetrics, facts: StoreFacts, window: Window, metric: str = "avg_selling_price",
                 label: str = "average selling price") -> Figure | None:
    price = selling_price(p)
    if price is None:
        return None
    return figure(metric, f"{label}: (net sales + returns) / units sold", money(price), "money", window.period,
                  products_query(facts, window), facts.currency)
