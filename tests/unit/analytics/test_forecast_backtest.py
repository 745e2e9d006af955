"""The rolling-origin backtest: seasonal naive, MASE on hand-computed series, origins, synthetic series with a
known answer, and stock-out days that stay missing (not zero demand) in the backtest as in the endpoint."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shared.analytics.backtest import (
    WindowScore,
    backtest_series,
    history_window,
    mase,
    mase_scale,
    rolling_origins,
    seasonal_naive,
    summarize,
)
from shared.analytics.forecast_models import SeriesForecast, forecast_series

NAN = math.nan
WEEK = np.array([4, 5, 5, 6, 8, 12, 10], dtype=float)


def test_seasonal_naive_repeats_the_last_observed_same_weekday() -> None:
    train = [float(v) for v in range(1, 11)]  # 1..10
    assert seasonal_naive(train, 9).tolist() == [4, 5, 6, 7, 8, 9, 10, 4, 5]
    # day 10 (index 9 -> value 10) out of stock: its weekday falls back one week, to index 2
    gappy = [*train[:9], NAN]
    assert seasonal_naive(gappy, 7).tolist() == [4, 5, 6, 7, 8, 9, 3]
    assert np.isnan(seasonal_naive([NAN, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], 1)[0])  # that weekday never observed


def test_mase_arithmetic() -> None:
    train = [1, 2, 3, 4, 5, 6, 7, 3, 2, 3, 4, 5, 6, 9]
    assert mase_scale(train) == pytest.approx(4 / 7)  # |3-1| + |9-7| over 7 pairs
    assert mase_scale([1, 2, 3, 4, 5, 6, 7, NAN, 2, 3, 4, 5, 6, 9]) == pytest.approx(2 / 6)  # pair with NaN left out
    assert mase_scale([5.0] * 20) is None  # a flat history: MASE undefined
    assert mase_scale([1.0] * 7) is None  # no pair a week apart
    assert mase([2, 4, NAN], [1, 1, 1], 2.0) == pytest.approx(1.0)  # (1 + 3) / 2 / 2; the missing day not scored
    assert mase([NAN, NAN], [1, 1], 2.0) is None


def test_history_window_is_the_endpoints() -> None:
    y = [0.0, 0.0, 3.0, 0.0, 1.0, 2.0]
    assert history_window(y).tolist() == [3.0, 0.0, 1.0, 2.0]  # from the first sale
    assert history_window(y, days=3).tolist() == [1.0, 2.0]  # the last 3 days, then from the first sale
    assert history_window([0.0, NAN, 0.0]).size == 0


def test_rolling_origins() -> None:
    assert rolling_origins(100, 28, 3) == [16, 44, 72]  # the last test span is days 72..99
    assert rolling_origins(100, 14, 3, step=7) == [72, 79, 86]
    assert rolling_origins(50, 28, 3) == [22]  # -6 would leave no history; 22 - 28 < 14 too


def seasonal_with_shift(days: int, seed: int) -> list[float]:
    """Weekly pattern, a level shift up by half two thirds of the way, Poisson noise."""
    rng = np.random.default_rng(seed)
    level = np.where(np.arange(days) < 2 * days // 3, 1.0, 1.5)
    return [float(v) for v in rng.poisson(np.resize(WEEK, days) * level)]


def test_weekly_seasonal_series_beats_seasonal_naive() -> None:
    scores = backtest_series(seasonal_with_shift(126, seed=3), horizon=14, origins=4)
    assert [s.origin for s in scores] == [70, 84, 98, 112]
    assert {s.model for s in scores} == {"AutoETS"} and {s.category for s in scores} == {"smooth"}
    (smooth, _all) = summarize({"p": scores})
    assert smooth.ratio < 0.9, smooth


def test_pure_seasonal_series_ties_with_seasonal_naive() -> None:
    scores = backtest_series(np.tile(WEEK, 12).tolist(), horizon=7, origins=1, forecaster=_ets)
    assert scores == []  # a noiseless weekly series: seasonal naive has no in-sample error, MASE undefined


def _ets(series: list[float], horizon: int) -> SeriesForecast:
    return forecast_series(series, horizon, model="AutoETS")


def test_intermittent_series_beats_seasonal_naive_with_adida() -> None:
    rng = np.random.default_rng(5)
    y = (rng.random(200) < 0.2) * rng.poisson(3, 200) * 1.0
    scores = backtest_series(y.tolist(), horizon=28, origins=4)
    (row, _all) = summarize({"p": scores})
    assert row.category == "intermittent" and row.models == {"ADIDA": 4}
    assert row.ratio < 1, row


def test_out_of_stock_days_stay_missing_in_the_backtest() -> None:
    y = np.random.default_rng(8).poisson(np.resize(WEEK, 84)).astype(float)
    units = [*y[:70].tolist(), *[0.0] * 7, *y[77:].tolist()]  # days 70..76 sold out: zero sales
    in_stock = [not 70 <= i < 77 for i in range(84)]
    seen: list[list[float]] = []

    def recording(series: list[float], horizon: int) -> SeriesForecast:
        seen.append(series)
        return _ets(series, horizon)

    corrected = backtest_series(units, horizon=7, origins=1, in_stock=in_stock, forecaster=recording)
    raw = backtest_series(units, horizon=7, origins=1, forecaster=_ets)
    assert corrected[0].origin == raw[0].origin == 77
    assert all(math.isnan(v) for v in seen[0][-7:])  # the model sees the sold-out run as missing days...
    assert corrected[0].mase < raw[0].mase  # ...and forecasts through it instead of from a level dragged to 0

    def oracle(series: list[float], horizon: int) -> SeriesForecast:  # knows the demand of days 70..83
        truth = y[70:70 + horizon].tolist()
        return SeriesForecast("Oracle", forecast_series(series, 1, model="ADIDA").demand, truth, truth, truth, 0.0,
                              "none")

    # in the test span, sold-out days are not scored: the demand forecast is right, the zero sales are not demand
    assert backtest_series(units, horizon=14, origins=1, in_stock=in_stock, forecaster=oracle)[0].mase == 0
    assert backtest_series(units, horizon=14, origins=1, forecaster=oracle)[0].mase > 0


def test_summary_per_class() -> None:
    scores = {
        "a": [WindowScore(10, "smooth", "AutoETS", 0.5, 1.0, 2.0), WindowScore(20, "smooth", "AutoETS", 0.7, 1.0, 2.0)],
        "b": [WindowScore(10, "lumpy", "ADIDA", 1.2, 1.5, 0.9), WindowScore(20, "smooth", "AutoETS", 0.9, 1.3, 2.0)],
    }
    smooth, lumpy, everything = summarize(scores)
    assert (smooth.category, smooth.items, smooth.windows) == ("smooth", 2, 3)
    assert smooth.mase == pytest.approx(0.7) and smooth.naive_mase == pytest.approx(1.1)
    assert smooth.ratio == pytest.approx(0.7 / 1.1) and smooth.models == {"AutoETS": 3}
    assert (lumpy.items, lumpy.mase, lumpy.zero_mase) == (1, 1.2, 0.9) and lumpy.ratio == pytest.approx(0.8)
    assert (everything.category, everything.items, everything.windows) == ("all", 2, 4)
    assert everything.models == {"AutoETS": 3, "ADIDA": 1}
    assert summarize({}) == []
