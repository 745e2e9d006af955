"""The pure forecasting core: demand classification, the model per class, the fit (no I/O).

Models come from statsforecast. Which one a series gets depends on its Syntetos-Boylan class (ADI 1.32, CV² 0.49):
`MODEL_BY_CATEGORY`, chosen by the rolling-origin backtest on the demo data (docs/decisions/0010-forecasting.md):
AutoETS with a weekly season for regular demand (smooth, erratic), ADIDA for intermittent and lumpy demand.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Literal

import numpy as np

DemandKind = Literal["regular", "intermittent", "none"]
Category = Literal["smooth", "erratic", "intermittent", "lumpy", "none"]
ModelName = Literal["AutoETS", "AutoTheta", "ADIDA", "CrostonClassic", "CrostonOptimized", "CrostonSBA", "TSB", "Zero"]
IntervalMethod = Literal["model", "poisson", "none"]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]

ADI_CUTOFF = 1.32  # Syntetos & Boylan (2005)
CV2_CUTOFF = 0.49
SEASON = 7  # weekly pattern of daily sales
MIN_SEASONAL_DAYS = 2 * SEASON  # AutoETS needs two full seasons to estimate a weekly one
MIN_REGULAR_DAYS = 7  # statsforecast's ETS refuses fewer days ("tiny datasets"): shorter histories get ADIDA
LEVEL = 80  # percent, the interval of every point
HISTORY_DAYS = 180  # the most recent complete days a model is fit on
TSB_ALPHAS = (0.1, 0.1)  # TSB smoothing of demand size and probability (statsforecast has no optimised TSB)

# Decided by `python -m tests.benchmarks forecast` (MASE vs seasonal naive per class; see ADR 0010).
MODEL_BY_CATEGORY: dict[Category, ModelName] = {
    "smooth": "AutoETS",
    "erratic": "AutoETS",
    "intermittent": "ADIDA",
    "lumpy": "ADIDA",
    "none": "Zero",
}
REGULAR_MODELS: frozenset[str] = frozenset({"AutoETS", "AutoTheta"})  # have their own interval


@dataclass(frozen=True)
class DemandClass:
    kind: DemandKind  # ADI < 1.32 regular, else intermittent; no sales at all: none
    category: Category  # the Syntetos-Boylan quadrant (ADI 1.32, CV² 0.49): picks the model
    adi: float | None  # average demand interval: observed days ÷ days with demand
    cv2: float | None  # squared coefficient of variation of the non-zero demand sizes


def demand_class(series: Sequence[float]) -> DemandClass:
    """Syntetos-Boylan classification of a daily series; missing days (NaN, e.g. out of stock) are ignored.

    ADI = observed days ÷ days with demand; CV² = (population sd ÷ mean)² of the non-zero sizes.
    ADI ≥ 1.32 → intermittent (lumpy when CV² ≥ 0.49 as well), else regular (erratic when CV² ≥ 0.49, else smooth).
    """
    y = np.asarray(series, dtype=float)
    y = y[~np.isnan(y)]
    sizes = y[y > 0]
    if sizes.size == 0:
        return DemandClass("none", "none", None, None)
    adi = float(y.size / sizes.size)
    cv2 = float(sizes.var() / sizes.mean() ** 2)  # (sd ÷ mean)², without rounding sd first: 0.49 stays 0.49
    if adi >= ADI_CUTOFF:
        return DemandClass("intermittent", "lumpy" if cv2 >= CV2_CUTOFF else "intermittent", adi, cv2)
    return DemandClass("regular", "erratic" if cv2 >= CV2_CUTOFF else "smooth", adi, cv2)


def choose_model(demand: DemandClass) -> ModelName:
    """The model of a demand class (`MODEL_BY_CATEGORY`)."""
    return MODEL_BY_CATEGORY[demand.category]


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


def fill_interior(y: FloatArray) -> FloatArray:
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
    interval: IntervalMethod


@dataclass(frozen=True)
class _Fit:
    mean: FloatArray
    lower: FloatArray
    upper: FloatArray
    residual_sd: float
    interval: IntervalMethod


def _fit_regular(name: str, y: FloatArray, steps: int, level: int) -> _Fit:
    """AutoETS / AutoTheta with a weekly season once there are two weeks, and their own `level` % interval."""
    from statsforecast.models import AutoETS, AutoTheta  # heavy import (~2 s), only when forecasting

    season = SEASON if y.size >= MIN_SEASONAL_DAYS else 1
    model = AutoETS(season_length=season) if name == "AutoETS" else AutoTheta(season_length=season)
    # AutoETS scores candidate models whose variance divides by zero on very short series; it drops them.
    with np.errstate(divide="ignore", invalid="ignore"):
        out = model.forecast(y=y, h=steps, level=[level], fitted=True)
    fitted = np.asarray(out["fitted"], dtype=float)
    errors = (y - fitted)[~np.isnan(fitted)]
    sd = float(errors.std(ddof=1)) if errors.size > 1 else 0.0
    return _Fit(np.maximum(np.asarray(out["mean"], dtype=float), 0.0),
                np.maximum(np.asarray(out[f"lo-{level}"], dtype=float), 0.0),
                np.maximum(np.asarray(out[f"hi-{level}"], dtype=float), 0.0), sd, "model")


def _fit_intermittent(name: str, y: FloatArray, steps: int, level: int) -> _Fit:
    """A Croston-family / ADIDA / TSB rate. None has an interval of its own: each day's is the Poisson one around
    the rate (a documented approximation), and the sd is the Poisson √rate."""
    from statsforecast import models as sf  # heavy import (~2 s), only when forecasting

    if name == "TSB":
        model: Any = sf.TSB(alpha_d=TSB_ALPHAS[0], alpha_p=TSB_ALPHAS[1])
    else:
        model = {"ADIDA": sf.ADIDA, "CrostonClassic": sf.CrostonClassic, "CrostonOptimized": sf.CrostonOptimized,
                 "CrostonSBA": sf.CrostonSBA}[name]()
    mean = np.maximum(np.asarray(model.forecast(y=y, h=steps)["mean"], dtype=float), 0.0)
    tail = (1 - level / 100) / 2
    lower = np.array([poisson_quantile(float(m), tail) for m in mean], dtype=float)
    upper = np.array([poisson_quantile(float(m), 1 - tail) for m in mean], dtype=float)
    return _Fit(mean, lower, upper, math.sqrt(float(mean[0])), "poisson")


def forecast_series(series: Sequence[float], horizon: int, level: int = LEVEL,
                    model: ModelName | None = None) -> SeriesForecast:
    """Forecast `horizon` days after the last day of `series` (daily units; NaN = missing, out of stock).

    - The model is `choose_model(demand class)` unless `model` names one (for comparisons); a history shorter
      than a week gets ADIDA whatever the class (too short for ETS).
    - Trailing missing days are dropped and the model forecasts from the last observed day, so the first
      forecast point is still the day after the series' last day; missing days inside are filled per weekday.
    - No demand at all: zeros ("Zero"). Means and lower bounds are clipped at 0.
    """
    if horizon < 1:
        raise ValueError("horizon must be at least 1")
    y = np.asarray(series, dtype=float)
    observed = np.flatnonzero(~np.isnan(y))
    demand = demand_class(y.tolist())
    name = model or choose_model(demand)
    if demand.kind == "none" or observed.size == 0 or name == "Zero":
        zeros = [0.0] * horizon
        return SeriesForecast("Zero", demand, zeros, zeros, zeros, 0.0, "none")
    trailing = y.size - 1 - int(observed[-1])  # missing days at the end: forecast through them
    y = fill_interior(y[: int(observed[-1]) + 1])
    if name in REGULAR_MODELS and y.size < MIN_REGULAR_DAYS:
        name = "ADIDA"
    fit = (_fit_regular if name in REGULAR_MODELS else _fit_intermittent)(name, y, horizon + trailing, level)
    cut = slice(trailing, trailing + horizon)
    return SeriesForecast(name, demand, [float(v) for v in fit.mean[cut]], [float(v) for v in fit.lower[cut]],
                          [float(v) for v in fit.upper[cut]], fit.residual_sd, fit.interval)
