"""Daily demand forecast per product (SPEC `GET /analytics/forecast`; docs/metrics.md "Forecast").

The pure pieces (stock-out date and reorder quantity here; stock-out correction, demand classification and
the model fit in `forecast_models`) have no I/O; `forecast` gathers the product's daily units with the same
counting rule and shop-local days as the other analytics (`app.order_counts`, orders dated on their placing
day) and calls them. Demand is units, so it also counts the orders the money figures leave out for want of an
exchange rate (docs/metrics.md "Currencies").

Models come from statsforecast, one per Syntetos-Boylan class (`forecast_models.MODEL_BY_CATEGORY`): AutoETS with
a weekly season for regular demand, ADIDA for intermittent and lumpy demand, with an 80 % interval. The choice
is measured by the rolling-origin backtest (`backtest`, `python -m tests.benchmarks forecast`).
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import NormalDist
from typing import Literal

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from pydantic import BaseModel, Field

from shared.analytics.forecast_models import (
    ADI_CUTOFF,
    CV2_CUTOFF,
    HISTORY_DAYS,
    LEVEL,
    SEASON,
    Category,
    DemandClass,
    DemandKind,
    SeriesForecast,
    correct_stockouts,
    demand_class,
    forecast_series,
    out_of_stock_mask,
    poisson_quantile,
)
from shared.analytics.summary import store_context
from shared.errors import FieldError, NotFound, ValidationFailed

HORIZON_RANGE = (1, 90)
LEAD_TIME_RANGE = (1, 120)
SERVICE_LEVEL_RANGE = (0.5, 0.999)

__all__ = [
    "ADI_CUTOFF", "CV2_CUTOFF", "LEVEL", "SEASON", "Category", "DemandClass", "DemandKind", "ForecastPublic",
    "Reorder", "SeriesForecast", "correct_stockouts", "demand_class", "forecast", "forecast_series",
    "out_of_stock_mask", "poisson_quantile", "reorder_quantity", "stockout_date", "validate_params",
]


# The pure pieces (the series, its class and the models are in forecast_models) -------------------------

def stockout_date(on_hand: int | None, daily_mean: float | Sequence[float], start: date) -> date | None:
    """The first day whose demand cannot be met: cumulative forecast demand from `start` (its first day)
    exceeds the stock on hand. Stock ≤ 0 → `start`. A constant rate stands for every day; a sequence of daily
    means covers only its own days (None when stock outlasts them). None without tracked stock or demand."""
    if on_hand is None:
        return None
    if on_hand <= 0:
        return start
    if isinstance(daily_mean, (int, float)):
        if daily_mean <= 0:
            return None
        return start + timedelta(days=math.floor(on_hand / daily_mean))
    cumulative = 0.0
    for i, m in enumerate(daily_mean):
        cumulative += max(float(m), 0.0)
        if cumulative > on_hand:
            return start + timedelta(days=i)
    return None


@dataclass(frozen=True)
class Reorder:
    quantity: int  # ⌈max(0, lead-time demand + safety stock - on hand)⌉
    lead_time_demand: float  # daily mean * lead time
    safety_stock: float  # z(service level) * sd * √lead time
    on_hand: int  # stock counted against it (negative stock counts as 0)
    z: float


def reorder_quantity(daily_mean: float, lead_time_days: int, service_level: float, residual_sd: float,
                     on_hand: int | None) -> Reorder:
    """Suggested order: demand over the lead time + z * sd * √LT - on hand, never below 0, rounded up to units."""
    z = NormalDist().inv_cdf(service_level)
    demand = max(daily_mean, 0.0) * lead_time_days
    safety = max(z * max(residual_sd, 0.0) * math.sqrt(lead_time_days), 0.0)
    stock = max(on_hand or 0, 0)
    need = demand + safety - stock
    return Reorder(max(0, math.ceil(round(need, 9))), demand, safety, stock, z)


# The API models ----------------------------------------------------------------------------------------

class ForecastPoint(BaseModel):
    date: dt.date
    mean: float = Field(description="expected units sold that shop-local day")
    lower: float = Field(description=f"lower bound of the {LEVEL} % interval")
    upper: float = Field(description=f"upper bound of the {LEVEL} % interval")


class ReorderPublic(BaseModel):
    quantity: int = Field(description="⌈lead-time demand + safety stock - on hand⌉, at least 0")
    lead_time_days: int
    service_level: float
    lead_time_demand: float = Field(description="forecast units over the lead time (from the first forecast day)")
    safety_stock: float = Field(description="z * residual sd * √lead time")
    z: float
    residual_sd: float
    on_hand: int = Field(description="stock counted against the order (negative stock counts as 0)")


class ForecastPublic(BaseModel):
    product_id: uuid.UUID
    store_id: uuid.UUID
    timezone: str
    horizon_days: int
    model: str = Field(description="the model of the demand category: AutoETS (smooth, erratic), ADIDA "
                                   "(intermittent, lumpy) or Zero (no sales)")
    demand_class: DemandKind
    demand_category: Category = Field(description="Syntetos-Boylan quadrant")
    adi: float | None
    cv2: float | None
    interval_level: int
    interval_method: Literal["model", "poisson", "none"]
    history: list[date] = Field(description="first and last shop-local day the model was fit on")
    out_of_stock_days: int = Field(description="trailing zero-sale days treated as missing (stock now ≤ 0)")
    points: list[ForecastPoint]
    on_hand: int | None = Field(description="Σ variants' inventory now; null when no variant tracks stock")
    stockout_date: date | None = Field(description="first day forecast demand exceeds stock; null when not "
                                                   "within the horizon or stock is not tracked")
    reorder: ReorderPublic | None = Field(description="null when stock is not tracked")
    as_of: datetime | None = Field(description="the store's last successful sync")
    syncs: list[uuid.UUID]


# Gathering ---------------------------------------------------------------------------------------------

_PRODUCT = """
select p.id, p.store_id,
       (select sum(v.inventory_quantity)::bigint from variants v where v.product_id = p.id) as on_hand
from products p where p.id = %s
"""

_DAILY = """
with s as (
  select st.id, st.platform, st.timezone from stores st where st.id = %(store)s
)
select (o.placed_at at time zone s.timezone)::date as day, sum(ol.quantity)::bigint as units
from s
join orders o on o.store_id = s.id
join order_lines ol on ol.order_id = o.id
where ol.product_id = %(product)s and app.order_counts(s.platform, o.status, o.test)
  and o.placed_at >= (%(lo)s::date::timestamp at time zone s.timezone)
  and o.placed_at < ((%(hi)s::date + 1)::timestamp at time zone s.timezone)
group by 1
"""


def _check(name: str, value: float, bounds: tuple[float, float]) -> list[FieldError]:
    lo, hi = bounds
    if lo <= value <= hi:
        return []
    return [FieldError(["query", name], f"must be between {lo} and {hi}")]


def validate_params(horizon_days: int, lead_time_days: int, service_level: float) -> None:
    errors = (_check("horizon_days", horizon_days, HORIZON_RANGE)
              + _check("lead_time_days", lead_time_days, LEAD_TIME_RANGE)
              + _check("service_level", service_level, SERVICE_LEVEL_RANGE))
    if errors:
        raise ValidationFailed("invalid forecast parameters", errors)


async def forecast(conn: AsyncConnection[DictRow], product_id: uuid.UUID, horizon_days: int,
                   lead_time_days: int = 14, service_level: float = 0.95) -> ForecastPublic:
    """The product's daily demand forecast from today (shop-local) for `horizon_days` days.

    Fit on the complete shop-local days up to yesterday, from the product's first sale in the last 180 days.
    Another organization's (or an unknown) product → NotFound.
    """
    validate_params(horizon_days, lead_time_days, service_level)
    cur = await conn.execute(_PRODUCT, (product_id,))
    product = await cur.fetchone()
    if product is None:
        raise NotFound("product not found")
    on_hand = None if product["on_hand"] is None else int(product["on_hand"])
    store = await store_context(conn, product["store_id"])
    last = store.today - timedelta(days=1)
    first = last - timedelta(days=HISTORY_DAYS - 1)
    cur = await conn.execute(_DAILY, {"store": store.id, "product": product_id, "lo": first, "hi": last})
    by_day = {r["day"]: int(r["units"]) for r in await cur.fetchall()}
    start = min(by_day, default=last)
    units = [float(by_day.get(start + timedelta(days=i), 0)) for i in range((last - start).days + 1)]
    mask = out_of_stock_mask(units, on_hand)
    series = correct_stockouts(units, [not m for m in mask])
    steps = max(horizon_days, lead_time_days)
    fc = forecast_series(series, steps)
    points = [ForecastPoint(date=store.today + timedelta(days=i), mean=round(fc.mean[i], 4),
                            lower=round(fc.lower[i], 4), upper=round(fc.upper[i], 4)) for i in range(horizon_days)]
    reorder = None
    if on_hand is not None:
        lt_mean = sum(fc.mean[:lead_time_days]) / lead_time_days
        r = reorder_quantity(lt_mean, lead_time_days, service_level, fc.residual_sd, on_hand)
        reorder = ReorderPublic(quantity=r.quantity, lead_time_days=lead_time_days, service_level=service_level,
                                lead_time_demand=round(r.lead_time_demand, 4), safety_stock=round(r.safety_stock, 4),
                                z=round(r.z, 4), residual_sd=round(fc.residual_sd, 4), on_hand=r.on_hand)
    return ForecastPublic(
        product_id=product_id, store_id=store.id, timezone=store.timezone, horizon_days=horizon_days,
        model=fc.model, demand_class=fc.demand.kind, demand_category=fc.demand.category,
        adi=None if fc.demand.adi is None else round(fc.demand.adi, 4),
        cv2=None if fc.demand.cv2 is None else round(fc.demand.cv2, 4), interval_level=LEVEL,
        interval_method=fc.interval, history=[start, last], out_of_stock_days=sum(mask), points=points,
        on_hand=on_hand, stockout_date=stockout_date(on_hand, fc.mean[:horizon_days], store.today),
        reorder=reorder, as_of=store.as_of, syncs=store.syncs,
    )
