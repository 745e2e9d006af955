"""Figures from the analytics services' answers: each number a tool returns, with its period and the call that
produced it. Values are formatted once here, exactly as they may be quoted."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from shared.advice.evidence import Figure, Unit
from shared.analytics.customers import CustomersAnalyticsPublic
from shared.analytics.forecast import ForecastPublic
from shared.analytics.funnel import FunnelPublic
from shared.analytics.products import ProductsPage
from shared.analytics.summary import SummaryPublic
from shared.money import Money


class CitedFigure(Figure):
    """A figure as an answer cites it: with the id the citations refer to."""

    id: str


def fmt(value: float | int | Decimal, places: int = 2) -> str:
    """A number as text: exact for integers, else half-up to `places` with trailing zeros dropped."""
    if isinstance(value, int):
        return str(value)
    q = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = f"{q:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def period(date_from: date, date_to: date) -> str:
    return f"{date_from.isoformat()}/{date_to.isoformat()}"


def _fig(metric: str, label: str, value: str, unit: Unit, per: str, query: str,
         currency: str | None = None) -> Figure:
    return Figure(metric=metric, label=label, value=value, unit=unit, currency=currency, period=per, query=query)


def _money(metric: str, label: str, money: Money, per: str, query: str) -> Figure:
    return _fig(metric, label, money.amount, "money", per, query, money.currency)


_SUMMARY_COUNTS: tuple[tuple[str, str, Unit], ...] = (
    ("orders", "orders placed", "count"), ("units_sold", "units sold", "units"),
    ("new_customers", "new customers (first order ever in the period)", "count"),
    ("returning_customers", "returning customers (ordered before the period, and in it)", "count"),
    ("refunds", "refunds", "count"),
)
_SUMMARY_MONEY = (("net_sales", "net sales"), ("gross_sales", "gross sales"), ("total_sales", "total sales"),
                  ("aov", "average order value"), ("returns", "returns"), ("discounts", "discounts"))


def summary_figures(s: SummaryPublic) -> list[Figure]:
    cur, prev = s.period, s.previous_period
    per, prev_per = period(cur.date_from, cur.date_to), period(prev.date_from, prev.date_to)
    q = f"analytics.summary(store_id={s.store_id}, from={cur.date_from}, to={cur.date_to})"
    out: list[Figure] = []
    for name, label in _SUMMARY_MONEY:
        out.append(_money(name, label, getattr(cur.metrics, name), per, f"{q}.period.{name}"))
    for name, label, unit in _SUMMARY_COUNTS:
        out.append(_fig(name, label, str(getattr(cur.metrics, name)), unit, per, f"{q}.period.{name}"))
    out.append(_money("net_sales", "net sales in the previous period of equal length", prev.metrics.net_sales,
                      prev_per, f"{q}.previous_period.net_sales"))
    out.append(_fig("orders", "orders in the previous period of equal length", str(prev.metrics.orders), "count",
                    prev_per, f"{q}.previous_period.orders"))
    for name in ("net_sales", "orders"):
        change = s.change.get(name)
        if change is not None:
            out.append(_fig(f"{name}_change_pct", f"change of {name.replace('_', ' ')} vs the previous period, %",
                            fmt(change, 1), "percent", per, f"{q}.change.{name}"))
    return out


def product_figures(page: ProductsPage) -> tuple[list[Figure], list[str | None]]:
    """Each product's figures, and beside each the product's title."""
    per = period(page.date_from, page.date_to)
    q = f"analytics.product_metrics(store_id={page.store_id}, from={page.date_from}, to={page.date_to})"
    out: list[Figure] = []
    titles: list[str | None] = []
    for item in page.items:
        start = len(out)
        pq = f"{q}[product_id={item.product_id}]"
        out.append(_fig("units_sold", f"units of {item.title!r} sold", str(item.units_sold), "units", per,
                        f"{pq}.units_sold"))
        out.append(_money("net_sales", f"net sales of {item.title!r}", item.net_sales, per, f"{pq}.net_sales"))
        if item.on_hand is not None:
            out.append(_fig("on_hand", f"units of {item.title!r} on hand now", str(item.on_hand), "units",
                            page.doi_window[1].isoformat(), f"{pq}.on_hand"))
        if item.days_of_inventory is not None:
            out.append(_fig("days_of_inventory", f"days of inventory of {item.title!r}",
                            fmt(item.days_of_inventory), "days", period(page.doi_window[0], page.doi_window[1]),
                            f"{pq}.days_of_inventory"))
        titles += [item.title] * (len(out) - start)
    return out, titles


def forecast_figures(fc: ForecastPublic, title: str) -> list[Figure]:
    start = fc.points[0].date if fc.points else date.today()
    end = start + timedelta(days=fc.horizon_days - 1)
    per = period(start, end)
    q = f"analytics.forecast(product_id={fc.product_id}, horizon_days={fc.horizon_days})"
    total = sum((Decimal(str(p.mean)) for p in fc.points), Decimal(0))
    out = [_fig("forecast_units", f"units of {title!r} expected to sell over the next {fc.horizon_days} days",
                fmt(total, 1), "units", per, f"{q}.sum(points.mean)")]
    if fc.on_hand is not None:
        out.append(_fig("on_hand", f"units of {title!r} on hand now", str(fc.on_hand), "units",
                        start.isoformat(), f"{q}.on_hand"))
    if fc.stockout_date is not None:
        out.append(_fig("stockout_date", f"day {title!r} is forecast to run out", fc.stockout_date.isoformat(),
                        "date", per, f"{q}.stockout_date"))
    if fc.reorder is not None:
        out.append(_fig("reorder_quantity", f"units of {title!r} to reorder now", str(fc.reorder.quantity),
                        "units", start.isoformat(), f"{q}.reorder.quantity"))
        out.append(_fig("lead_time_days", "supplier lead time assumed", str(fc.reorder.lead_time_days), "days",
                        start.isoformat(), f"{q}.reorder.lead_time_days"))
    return out


def segment_figures(c: CustomersAnalyticsPublic) -> list[Figure]:
    day = c.as_of_date.isoformat()
    q = f"analytics.customer_analytics(store_id={c.store_id}, as_of_date={c.as_of_date})"
    out = [_fig("customers", "customers with at least one counting order", str(c.rfm.customers), "count", day,
                f"{q}.rfm.customers")]
    for s in c.rfm.segments:
        if s.customers == 0:
            continue
        sq = f"{q}.rfm.segments[{s.segment}]"
        out.append(_fig(f"segment_{s.segment}_customers", f"customers in the segment {s.label}",
                        str(s.customers), "count", day, f"{sq}.customers"))
        out.append(_fig(f"segment_{s.segment}_share_pct", f"share of customers in the segment {s.label}, %",
                        fmt(s.share * 100, 2), "percent", day, f"{sq}.share*100"))
    return out


def funnel_figures(f: FunnelPublic) -> list[Figure]:
    if not f.events_present or f.conversion_rate is None:
        return []
    per = period(f.date_from, f.date_to)
    q = f"analytics.funnel(store_id={f.store_id}, from={f.date_from}, to={f.date_to})"
    out = [_fig("sessions", "storefront sessions", str(f.sessions), "count", per, f"{q}.sessions"),
           _fig("orders", "orders placed", str(f.orders), "count", per, f"{q}.orders"),
           _fig("conversion_rate_pct", "conversion rate (orders ÷ sessions), %", fmt(f.conversion_rate * 100, 2),
                "percent", per, f"{q}.conversion_rate*100")]
    for step in f.steps:
        out.append(_fig(f"sessions_{step.step}", f"sessions with a {step.step.replace('_', ' ')}",
                        str(step.sessions), "count", per, f"{q}.steps[{step.step}].sessions"))
    return out

