"""Rolling-origin backtest of the demand forecast (pure: daily series in, MASE out; docs/decisions/0010).

For each origin the model sees what the endpoint would have seen that day: the last `HISTORY_DAYS` days before
it, from the first sale on, with out-of-stock days missing (NaN), and forecasts the next `horizon` days. Each
window is scored by MASE (mean absolute error ÷ the in-sample MAE of the seasonal naive forecast, m = 7) for our
forecast, the seasonal naive forecast itself and an all-zero forecast (a reminder that MAE rewards the median,
which is 0 for intermittent demand). Days missing in the test span (out of stock) are not scored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

import numpy as np

from shared.analytics.forecast_models import (
    HISTORY_DAYS,
    SEASON,
    Category,
    FloatArray,
    SeriesForecast,
    correct_stockouts,
    forecast_series,
)

Forecaster = Callable[[list[float], int], SeriesForecast]
Key = TypeVar("Key", bound=Hashable)
CATEGORY_ORDER: tuple[Category, ...] = ("smooth", "erratic", "intermittent", "lumpy")


def seasonal_naive(train: Sequence[float], horizon: int, m: int = SEASON) -> FloatArray:
    """Each forecast day repeats the most recent observed day a whole number of seasons before it (the same
    weekday for m = 7); NaN when that weekday was never observed."""
    y = np.asarray(train, dtype=float)
    out = np.full(horizon, np.nan)
    for i in range(horizon):
        j = y.size - m + i % m
        while j >= 0 and np.isnan(y[j]):
            j -= m
        if j >= 0:
            out[i] = y[j]
    return out


def mase_scale(train: Sequence[float], m: int = SEASON) -> float | None:
    """In-sample MAE of the seasonal naive forecast: mean |y[t] - y[t-m]| over pairs with both days observed.
    None when there is no such pair or it is 0 (MASE undefined)."""
    y = np.asarray(train, dtype=float)
    if y.size <= m:
        return None
    diffs = np.abs(y[m:] - y[:-m])
    diffs = diffs[~np.isnan(diffs)]
    if diffs.size == 0 or float(diffs.mean()) == 0.0:
        return None
    return float(diffs.mean())


def mase(actual: Sequence[float], predicted: Sequence[float], scale: float) -> float | None:
    """Mean absolute error over the days both observed and forecast, ÷ `scale`; None when there is none."""
    a, p = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    errors = np.abs(a - p)
    errors = errors[~np.isnan(errors)]
    return float(errors.mean()) / scale if errors.size else None


def history_window(before_origin: Sequence[float] | FloatArray, days: int = HISTORY_DAYS) -> FloatArray:
    """What the endpoint fits on: the last `days` days, from the first day with a sale (earlier days are not
    zeros, the product may not have been sold yet); empty when nothing sold."""
    y = np.asarray(before_origin, dtype=float)[-days:]
    sold = np.flatnonzero(y > 0)
    return y[int(sold[0]):] if sold.size else y[:0]


def rolling_origins(n: int, horizon: int, origins: int, step: int | None = None, min_train: int = 2 * SEASON
                    ) -> list[int]:
    """Up to `origins` forecast origins (index of the first forecast day), `step` days apart (default: the
    horizon, so test spans do not overlap), the last one leaving exactly `horizon` days; ascending."""
    step = step or horizon
    found = (n - horizon - k * step for k in range(origins))
    return sorted(o for o in found if o >= min_train)


@dataclass(frozen=True)
class WindowScore:
    origin: int
    category: Category  # the series' class at the origin, over its history window: it picks the model
    model: str
    mase: float
    naive_mase: float
    zero_mase: float


def score_window(y: FloatArray, origin: int, horizon: int, forecaster: Forecaster = forecast_series,
                 history_days: int = HISTORY_DAYS) -> WindowScore | None:
    """One origin: fit on the history window before it, score the next `horizon` days; None when MASE is
    undefined (no sale in the window, a flat history, no observed test day)."""
    train = history_window(y[:origin], history_days)
    actual = y[origin:origin + horizon]
    scale = mase_scale(train.tolist())
    if scale is None or train.size == 0:
        return None
    fc = forecaster(train.tolist(), horizon)
    ours = mase(actual.tolist(), fc.mean, scale)
    naive = mase(actual.tolist(), seasonal_naive(train.tolist(), horizon).tolist(), scale)
    zero = mase(actual.tolist(), [0.0] * horizon, scale)
    if ours is None or naive is None or zero is None:
        return None
    return WindowScore(origin, fc.demand.category, fc.model, ours, naive, zero)


def backtest_series(units: Sequence[float], horizon: int = 28, origins: int = 6, *,
                    in_stock: Sequence[bool] | None = None, step: int | None = None,
                    forecaster: Forecaster = forecast_series, history_days: int = HISTORY_DAYS) -> list[WindowScore]:
    """Rolling-origin backtest of one daily series. `in_stock` (False = out of stock) turns those days into
    missing before anything else, as the endpoint does: zero sales while out of stock are not zero demand."""
    series = correct_stockouts(units, in_stock) if in_stock is not None else [float(u) for u in units]
    y = np.asarray(series, dtype=float)
    scores = (score_window(y, o, horizon, forecaster, history_days)
              for o in rolling_origins(y.size, horizon, origins, step))
    return [s for s in scores if s is not None]


@dataclass(frozen=True)
class ClassScore:
    category: Category | Literal["all"]
    items: int  # series with at least one window in the class
    windows: int
    mase: float  # mean over windows
    naive_mase: float
    zero_mase: float
    models: dict[str, int] = field(default_factory=dict)  # windows per model chosen

    @property
    def ratio(self) -> float:
        """MASE ours ÷ MASE seasonal naive: below 1 beats the baseline."""
        return self.mase / self.naive_mase if self.naive_mase else float("nan")


def _class_score(category: Category | Literal["all"], rows: Sequence[tuple[Hashable, WindowScore]]) -> ClassScore:
    return ClassScore(
        category=category, items=len({key for key, _ in rows}), windows=len(rows),
        mase=float(np.mean([s.mase for _, s in rows])), naive_mase=float(np.mean([s.naive_mase for _, s in rows])),
        zero_mase=float(np.mean([s.zero_mase for _, s in rows])), models=dict(Counter(s.model for _, s in rows)),
    )


def summarize(scores: Mapping[Key, Sequence[WindowScore]]) -> list[ClassScore]:
    """Per demand class (in `CATEGORY_ORDER`, classes without windows left out), then "all"."""
    rows = [(key, s) for key, windows in scores.items() for s in windows]
    groups = {c: [r for r in rows if r[1].category == c] for c in CATEGORY_ORDER}
    out = [_class_score(c, group) for c, group in groups.items() if group]
    return [*out, _class_score("all", rows)] if rows else out
