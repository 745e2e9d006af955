"""The pure pieces of the demand forecast: classification, stock-out correction, the fit, stock-out date, reorder."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from shared.analytics.forecast import (
    correct_stockouts,
    demand_class,
    forecast_series,
    out_of_stock_mask,
    poisson_quantile,
    reorder_quantity,
    stockout_date,
    validate_params,
)
from shared.errors import ValidationFailed

WEEK = np.array([2, 3, 3, 4, 6, 10, 8], dtype=float)


def seasonal(weeks: int, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(np.round(np.tile(WEEK, weeks) + rng.normal(0, 0.7, 7 * weeks)), 0, None)


def test_syntetos_boylan_classes() -> None:
    smooth = demand_class([5, 6, 5, 4, 6, 5, 5])
    assert (smooth.kind, smooth.category, smooth.adi) == ("regular", "smooth", 1.0)
    erratic = demand_class([1, 20, 1, 30, 2, 1, 25])
    assert (erratic.kind, erratic.category) == ("regular", "erratic") and erratic.cv2 is not None
    assert erratic.cv2 >= 0.49
    # 4 sales in 21 days: ADI 5.25
    sparse = demand_class([0, 0, 0, 3, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0])
    assert (sparse.kind, sparse.category, sparse.adi) == ("intermittent", "intermittent", 5.25)
    lumpy = demand_class([0, 0, 1, 0, 0, 40, 0, 0, 2, 0, 0, 30])
    assert (lumpy.kind, lumpy.category) == ("intermittent", "lumpy")
    assert demand_class([0, 0, 0]).kind == "none" and demand_class([]).kind == "none"


def test_adi_boundary_is_1_32_and_missing_days_do_not_count() -> None:
    # 33 observed days, 25 with demand: ADI 1.32 exactly -> intermittent; one more sale -> regular
    assert demand_class([1.0] * 25 + [0.0] * 8).kind == "intermittent"
    assert demand_class([1.0] * 26 + [0.0] * 7).kind == "regular"
    # out-of-stock days (NaN) are neither zeros nor demand
    assert demand_class([1.0, 1.0, math.nan, math.nan, math.nan]).adi == 1.0


def test_out_of_stock_is_only_the_trailing_zero_run_with_no_stock_now() -> None:
    units = [3.0, 0.0, 2.0, 0.0, 0.0, 0.0]
    assert out_of_stock_mask(units, 0) == [False, False, False, True, True, True]
    assert out_of_stock_mask(units, -2) == [False, False, False, True, True, True]  # oversold
    assert out_of_stock_mask(units, 5) == [False] * 6  # in stock: the zeros are real zero demand
    assert out_of_stock_mask(units, None) == [False] * 6  # stock not tracked: cannot tell
    assert out_of_stock_mask([1.0, 2.0], 0) == [False, False]  # sold yesterday: no run


def test_correct_stockouts_turns_out_of_stock_days_into_missing() -> None:
    got = correct_stockouts([4, 0, 3, 0, 0], [True, True, True, False, False])
    assert got[:3] == [4.0, 0.0, 3.0] and all(math.isnan(v) for v in got[3:])
    with pytest.raises(ValueError, match="length"):
        correct_stockouts([1, 2], [True])


def test_stockout_date() -> None:
    start = date(2026, 11, 25)
    assert stockout_date(10, 3.0, start) == date(2026, 11, 28)  # 3, 6, 9 met; day 4 (12 > 10) is not
    assert stockout_date(9, 3.0, start) == date(2026, 11, 28)  # 9 exactly met on day 3; out on day 4
    assert stockout_date(0, 3.0, start) == start and stockout_date(-4, 3.0, start) == start
    assert stockout_date(10, 0.0, start) is None  # no demand
    assert stockout_date(None, 3.0, start) is None  # not tracked
    assert stockout_date(5, [1.0, 2.0, 3.0], start) == date(2026, 11, 27)  # 1, 3, 6 > 5
    assert stockout_date(50, [1.0, 2.0, 3.0], start) is None  # beyond the forecast


def test_reorder_arithmetic() -> None:
    r = reorder_quantity(daily_mean=5.0, lead_time_days=9, service_level=0.95, residual_sd=2.0, on_hand=20)
    z = 1.6448536269514722
    assert r.z == pytest.approx(z)
    assert r.lead_time_demand == 45.0 and r.safety_stock == pytest.approx(z * 2.0 * 3.0)
    assert r.quantity == math.ceil(45 + z * 6 - 20) == 35  # 34.87 rounded up to whole units
    assert reorder_quantity(1.0, 10, 0.95, 0.0, 50).quantity == 0  # never below 0
    assert reorder_quantity(2.0, 7, 0.5, 3.0, 0).quantity == 14  # z = 0 at 50 %: no safety stock
    neg = reorder_quantity(2.0, 7, 0.5, 0.0, -3)
    assert (neg.on_hand, neg.quantity) == (0, 14)  # oversold stock counts as 0
    assert reorder_quantity(2.0, 5, 0.5, 0.0, None).quantity == 10  # 10.000000000 is not rounded up to 11


def test_poisson_quantiles() -> None:
    assert poisson_quantile(0.0, 0.9) == 0
    assert poisson_quantile(1.0, 0.1) == 0 and poisson_quantile(1.0, 0.9) == 2  # cdf(1)=.736, cdf(2)=.920
    assert poisson_quantile(10.0, 0.9) == 14  # cdf(13)=.864, cdf(14)=.917


def mase(actual: np.ndarray, predicted: np.ndarray, train: np.ndarray) -> float:
    scale = float(np.mean(np.abs(np.diff(train))))  # in-sample one-step naive error
    return float(np.mean(np.abs(actual - predicted))) / scale


def test_weekly_seasonal_series_autoets_beats_naive_on_mase() -> None:
    y = seasonal(12)
    train, test = y[:70], y[70:]
    fc = forecast_series(train.tolist(), 14)
    assert fc.model == "AutoETS" and fc.demand.kind == "regular" and fc.interval == "model"
    assert len(fc.mean) == len(fc.lower) == len(fc.upper) == 14
    assert all(lo <= m <= hi for lo, m, hi in zip(fc.lower, fc.mean, fc.upper, strict=True))
    assert min(fc.lower) >= 0
    ets = mase(test, np.array(fc.mean), train)
    naive = mase(test, np.full(14, train[-1]), train)
    assert ets < 0.6 * naive, (ets, naive)
    # the 80 % interval covers most of the held-out days
    inside = sum(lo <= a <= hi for lo, a, hi in zip(fc.lower, test, fc.upper, strict=True))
    assert inside >= 9


def test_trailing_out_of_stock_days_are_forecast_through() -> None:
    y = seasonal(10)
    full = forecast_series(y[:63].tolist(), 7)
    # the last 5 days out of stock: the model stops at day 58 and the forecast still starts at day 63
    cut = forecast_series([*y[:58].tolist(), *[math.nan] * 5], 7)
    weekday_peak = int(np.argmax(WEEK))
    assert int(np.argmax(full.mean)) == int(np.argmax(cut.mean)) == (weekday_peak - 63) % 7
    # zeros instead of missing would have dragged the level down
    zeros = forecast_series([*y[:58].tolist(), *[0.0] * 5], 7)
    assert sum(cut.mean) > sum(zeros.mean)


def test_intermittent_series_uses_adida_with_a_poisson_interval() -> None:
    y = [0, 0, 0, 3, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 5, 0, 0] * 3
    fc = forecast_series([float(v) for v in y], 5)
    assert fc.model == "ADIDA" and fc.interval == "poisson" and fc.demand.kind == "intermittent"
    assert 0 < fc.mean[0] < 2
    assert fc.lower[0] == poisson_quantile(fc.mean[0], 0.1) and fc.upper[0] == poisson_quantile(fc.mean[0], 0.9)
    assert fc.residual_sd == pytest.approx(math.sqrt(fc.mean[0]))


def test_no_sales_forecasts_zero() -> None:
    fc = forecast_series([0.0] * 30, 3)
    assert (fc.model, fc.mean, fc.upper, fc.residual_sd) == ("Zero", [0.0] * 3, [0.0] * 3, 0.0)


@pytest.mark.parametrize(("horizon", "lead", "level", "field"), [
    (0, 14, 0.95, "horizon_days"), (91, 14, 0.95, "horizon_days"), (30, 0, 0.95, "lead_time_days"),
    (30, 121, 0.95, "lead_time_days"), (30, 14, 1.0, "service_level"), (30, 14, 0.4, "service_level"),
])
def test_parameters_out_of_range(horizon: int, lead: int, level: float, field: str) -> None:
    with pytest.raises(ValidationFailed) as e:
        validate_params(horizon, lead, level)
    assert [err.loc for err in e.value.errors] == [["query", field]]
    validate_params(1, 1, 0.5)
    validate_params(90, 120, 0.999)
