"""Daily demand forecast per product (SPEC `GET /analytics/forecast`; docs/metrics.md "Forecast").

The pure pieces (demand classification, stock-out correction, the model fit, stock-out date, reorder quantity)
have no I/O; `forecast` gathers the product's daily units with the same counting rule and shop-local days as
the other analytics (`app.order_counts`, orders dated on their placing day) and calls them.

Models come from statsforecast: AutoETS with a weekly season for regular demand, CrostonOptimized for
intermittent demand (Syntetos-Boylan: ADI >= 1.32), with an 80 % interval.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
from psycopg import AsyncConnection
from psycopg.rows import DictRow
from pydantic import BaseModel, Field

from shared.analytics.summary import store_context
from shared.errors import FieldError, NotFound, ValidationFailed

DemandKind = Literal["regular", "intermittent", "none"]
Category = Literal["smooth", "erratic", "intermittent", "lumpy", "none"]

ADI_CUTOFF = 1.32  # Syntetos & Boylan (2005)
CV2_CUTOFF = 0.49
SEASON = 7  # weekly pattern of daily sales
MIN_SEASONAL_DAYS = 2 * SEASON  # AutoETS needs two full seasons to estimate a weekly one
LEVEL = 80  # percent, the interval of every point
HISTORY_DAYS = 180  # the most recent complete days a model is fit on
HORIZON_RANGE = (1, 90)
LEAD_TIME_RANGE = (1, 120)
SERVICE_LEVEL_RANGE = (0.5, 0.999)


# The pure pieces ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DemandClass:
    kind: DemandKind  # what picks the model: ADI < 1.32 regular, else intermittent; no sales at all: none
    category: Category  # the Syntetos-Boylan quadrant (ADI 1.32, CV² 0.49)
    adi: float | None  # average demand interval: observed days ÷ days with demand
    cv2: float | None  # squared coefficient of variation of the non-zero demand sizes


def demand_class(series: Sequence[float]) -> DemandClass:
    """Syntetos-Boylan classification of a daily series; missing days (NaN, e.g. out of stock) are ignored.

    ADI = observed days ÷ days with demand; CV² = (population sd ÷ mean)² of the non-zero sizes.
    ADI ≥ 1.32 → intermittent (lumpy when CV² ≥ 0.49 as well), else regular (smooth or erratic).
    """
    y = np.asarray(series, dtype=float)
    y = y[~np.isnan(y)]
    sizes = y[y > 0]
    if sizes.size == 0:
        return DemandClass("none", "none", None, None)
    adi = float(y.size / sizes.size)
    cv2 = float((sizes.std() / sizes.mean()) ** 2)
    if adi >= ADI_CUTOFF:
        return DemandClass("intermittent", "lumpy" if cv2 >= CV2_CUTOFF else "intermittent", adi, cv2)
    return DemandClass("regular", "erratic" if cv2 >= CV2_CUTOFF else "smooth", adi, cv2)


def out_of_stock_mask(units: Sequence[float], on_hand: int | None) -> list[bool]:
    """Which days were out of stock, as far as our data can tell.

    There is no inventory history (only today's `inventory_quantity` is synced), so the only days we can call
    out of stock are the trailing run of zero-sale days, and only when the product's stock now is ≤ 0 (tracked):
    it sold nothing because there was nothing to sell. Earlier stock-outs cannot be seen and stay zeros.
    """
    mask = [False] * len(units)
    if on_hand is None or on_hand > 0:
        return mask
    for i in range(len(units) - 1, -1, -1):
        if units[i] != 0:
            break
        mask[i] = True
    return mask


def correct_stockouts(units: Sequence[float], in_stock_mask: Sequence[bool]) -> list[float]:
    """Days out of stock (mask False) become missing (NaN): no sales then is not zero demand."""
    if len(units) != len(in_stock_mask):
        raise ValueError("units and in_stock_mask differ in length")
    return [float(u) if ok else math.nan for u, ok in zip(units, in_stock_mask, strict=True)]


def _fill_interior(y: np.ndarray[Any, np.dtype[np.float64]]) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Missing days inside the series take the mean of the observed days on the same weekday (same position
    mod 7), so the weekly pattern survives; the overall mean when that weekday was never observed."""
    out = y.copy()
    missing = np.isnan(out)
    if not missing.any():
        return out
    overall = float(np.nanmean(out))
    for i in np.flatnonzero(missing):
        same = y[i % SEASON::SEASON]
        same = same[~np.isnan(same)]
        out[i] = float(same.mean()) if same.size else overall
    return out


def poisson_quantile(mean: float, p: float) -> int:
    """The smallest k with P(X ≤ k) ≥ p for X ~ Poisson(mean)."""
    if mean <= 0:
        return 0
    k, term = 0, math.exp(-mean)
    cdf = term
    while cdf < p:
        k += 1
        term *= mean / k
        cdf += term
        if term == 0.0 and cdf < p:  # exp underflow for huge means: fall back to the normal approximation
            return max(0, math.ceil(mean + NormalDist().inv_cdf(p) * math.sqrt(mean)))
    return k


@dataclass(frozen=True)
class SeriesForecast:
    model: str
    demand: DemandClass
    mean: list[float]
    lower: list[float]
    upper: list[float]
    residual_sd: float  # sd of the in-sample one-step errors (Poisson sd √mean for intermittent demand)
    interval: Literal["model", "poisson", "none"]


def forecast_series(series: Sequence[float], horizon: int, level: int = LEVEL) -> SeriesForecast:
    """Forecast `horizon` days after the last day of `series` (daily units; NaN = missing, out of stock).

    - Trailing missing days are dropped and the model forecasts from the last observed day, so the first
      forecast point is still the day after the series' last day; missing days inside are filled per weekday.
    - Regular demand: AutoETS, weekly season when there are ≥ 14 observed days (else non-seasonal), with its
      own `level` % interval. Intermittent demand: CrostonOptimized; it has no interval of its own, so each
      day's interval is the Poisson one around the forecast rate (a documented approximation).
    - No demand at all: zeros ("Zero"). Lower bounds are clipped at 0.
    """
    from statsforecast.models import AutoETS, CrostonOptimized  # heavy import (~2 s), only when forecasting

    if horizon < 1:
        raise ValueError("horizon must be at least 1")
    y = np.asarray(series, dtype=float)
    observed = np.flatnonzero(~np.isnan(y))
    demand = demand_class(y.tolist())
    if demand.kind == "none" or observed.size == 0:
        zeros = [0.0] * horizon
        return SeriesForecast("Zero", demand, zeros, zeros, zeros, 0.0, "none")
    trailing = y.size - 1 - int(observed[-1])  # missing days at the end: forecast through them
    steps = horizon + trailing
    y = _fill_interior(y[: int(observed[-1]) + 1])
    if demand.kind == "regular":
        season = SEASON if y.size >= MIN_SEASONAL_DAYS else 1
        out = AutoETS(season_length=season).forecast(y=y, h=steps, level=[level], fitted=True)
        mean = np.maximum(np.asarray(out["mean"], dtype=float), 0.0)
        lower = np.maximum(np.asarray(out[f"lo-{level}"], dtype=float), 0.0)
        upper = np.maximum(np.asarray(out[f"hi-{level}"], dtype=float), 0.0)
        fitted = np.asarray(out["fitted"], dtype=float)
        errors = (y - fitted)[~np.isnan(fitted)]
        sd = float(errors.std(ddof=1)) if errors.size > 1 else 0.0
        model = "AutoETS"
        interval: Literal["model", "poisson"] = "model"
    else:
        out = CrostonOptimized().forecast(y=y, h=steps)
        mean = np.maximum(np.asarray(out["mean"], dtype=float), 0.0)
        tail = (1 - level / 100) / 2
        lower = np.array([poisson_quantile(float(m), tail) for m in mean], dtype=float)
        upper = np.array([poisson_quantile(float(m), 1 - tail) for m in mean], dtype=float)
        sd = math.sqrt(float(mean[0]))
        model, interval = "CrostonOptimized", "poisson"
    cut = slice(trailing, trailing + horizon)
    return SeriesForecast(model, demand, [float(v) for v in mean[cut]], [float(v) for v in lower[cut]],
                          [float(v) for v in upper[cut]], sd, interval)


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
    model: str = Field(description="AutoETS (regular), CrostonOptimized (intermittent) or Zero (no sales)")
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
