"""Demand classes at their thresholds (ADI 1.32, CV² 0.49) and the model each class gets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shared.analytics.forecast_models import (
    MODEL_BY_CATEGORY,
    Category,
    DemandClass,
    ModelName,
    choose_model,
    demand_class,
    forecast_series,
)


def sizes_at(sizes: list[float], zeros_after_each: int) -> list[float]:
    """Each size followed by `zeros_after_each` zero days: ADI = 1 + zeros_after_each."""
    return [v for s in sizes for v in [s, *[0.0] * zeros_after_each]]


def test_cv2_boundary_is_0_49_inclusive() -> None:
    # sizes 3 and 17: mean 10, population sd 7, CV² = 49 / 100 = 0.49 exactly
    at = demand_class([3.0, 17.0] * 5)
    assert at.cv2 == 0.49 and (at.kind, at.category) == ("regular", "erratic")
    below = demand_class([3.01, 16.99] * 5)  # CV² 0.4886
    assert below.cv2 is not None and below.cv2 < 0.49 and below.category == "smooth"
    lumpy = demand_class(sizes_at([3.0, 17.0] * 3, 1))  # ADI 2, CV² 0.49
    assert (lumpy.kind, lumpy.category, lumpy.adi, lumpy.cv2) == ("intermittent", "lumpy", 2.0, 0.49)
    intermittent = demand_class(sizes_at([4.0, 16.0] * 3, 1))  # CV² 0.36
    assert (intermittent.category, intermittent.cv2) == ("intermittent", 0.36)


def test_adi_boundary_is_1_32_inclusive() -> None:
    # 33 observed days with 25 sales: ADI = 1.32 exactly -> intermittent; 26 sales (1.27) -> regular
    assert demand_class([2.0] * 25 + [0.0] * 8).category == "intermittent"
    assert demand_class([2.0] * 26 + [0.0] * 7).category == "smooth"
    # missing days (out of stock) are not observed days: 25 sales in 33 observed days, 10 missing
    assert demand_class([2.0] * 25 + [0.0] * 8 + [math.nan] * 10).adi == 1.32


@pytest.mark.parametrize(("category", "model"), [
    ("smooth", "AutoETS"), ("erratic", "AutoETS"), ("intermittent", "ADIDA"), ("lumpy", "ADIDA"), ("none", "Zero"),
])
def test_model_per_class(category: Category, model: ModelName) -> None:
    assert MODEL_BY_CATEGORY[category] == model
    assert choose_model(DemandClass("regular", category, 1.0, 0.1)) == model


RNG = np.random.default_rng(11)
WEEK = np.array([4, 5, 5, 6, 8, 12, 10], dtype=float)
SERIES: dict[str, list[float]] = {
    "smooth": np.round(np.tile(WEEK, 6) + RNG.normal(0, 0.8, 42)).tolist(),
    "erratic": np.tile([1.0, 20.0, 2.0, 30.0, 1.0, 3.0, 25.0], 6).tolist(),
    "intermittent": sizes_at([2.0, 3.0, 2.0, 4.0, 3.0, 2.0], 4),
    "lumpy": sizes_at([1.0, 15.0, 2.0, 30.0, 1.0, 12.0], 4),
    "none": [0.0] * 20,
}


@pytest.mark.parametrize("category", list(SERIES))
def test_forecast_series_names_the_model_of_its_class(category: Category) -> None:
    fc = forecast_series(SERIES[category], 7)
    assert fc.demand.category == category
    assert fc.model == MODEL_BY_CATEGORY[category]
    assert fc.interval == {"AutoETS": "model", "ADIDA": "poisson", "Zero": "none"}[fc.model]
    assert len(fc.mean) == 7 and all(0 <= lo <= m <= hi for lo, m, hi in zip(fc.lower, fc.mean, fc.upper,
                                                                               strict=True))


@pytest.mark.parametrize("model", ["AutoTheta", "CrostonClassic", "CrostonOptimized", "CrostonSBA", "TSB", "ADIDA"])
def test_any_model_can_be_asked_for_by_name(model: ModelName) -> None:
    fc = forecast_series(SERIES["intermittent"], 5, model=model)
    assert fc.model == model and len(fc.mean) == 5
    rate = sum(SERIES["intermittent"]) / len(SERIES["intermittent"])  # 16 units / 30 days
    assert 0 < fc.mean[0] < 3 * rate


@pytest.mark.parametrize("series", [[3.0], [1.0, 2.0, 1.0], [2.0, math.nan], [4.0, 5.0, 3.0, 6.0, 4.0, 5.0]])
def test_a_history_shorter_than_a_week_gets_adida(series: list[float]) -> None:
    fc = forecast_series(series, 3)
    assert fc.demand.kind == "regular" and fc.model == "ADIDA" and fc.interval == "poisson"
    assert len(fc.mean) == 3 and fc.mean[0] > 0
    assert forecast_series([*series, 4.0, 5.0, 6.0, 5.0, 4.0, 6.0], 3).model == "AutoETS"
