"""Forecast accuracy benchmark: rolling-origin backtest over every product of the seeded demo store.

Builds each product's daily units straight from the in-memory store model (`devhost.fakes.generate_store`) with
the endpoint's counting rules: orders Shopify returns (not deleted, not failed payments or abandoned checkouts),
test orders excluded, cancelled orders counted as placed, units by order date in the shop's time zone. Stock now
≤ 0 turns the trailing zero-sale run into missing days, as the endpoint does. Then `shared.analytics.backtest`
scores our forecast, the seasonal naive forecast (m = 7) and an all-zero forecast by MASE, per demand class.

The demo store (3,000 orders) has a single regular product, so a busier store from the same generator
(30,000 orders, same seed) is scored as well: the regular classes need items to say anything.

    python -m tests.benchmarks forecast
    BENCH_FORECAST_ORDERS=3000 python -m tests.benchmarks forecast   # the demo store only
    BENCH_FORECAST_COMPARE=1 python -m tests.benchmarks forecast     # + every candidate model on every class
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from devhost.fakes import CatalogConfig, generate_store
from devhost.fakes.model import PaymentState, StoreModel
from shared.analytics.backtest import ClassScore, WindowScore, backtest_series, summarize
from shared.analytics.forecast_models import ModelName, SeriesForecast, forecast_series, out_of_stock_mask

RUNS = ((28, 6), (14, 8))  # (horizon days, origins): test spans back to back over the last 168 / 112 days
CANDIDATES: tuple[ModelName, ...] = ("AutoETS", "AutoTheta", "ADIDA", "CrostonClassic", "CrostonOptimized",
                                     "CrostonSBA", "TSB")


@dataclass(frozen=True)
class ProductSeries:
    product_id: int
    units: list[float]  # first..last shop-local day, oldest first
    on_hand: int | None


def daily_units(store: StoreModel) -> tuple[date, list[ProductSeries]]:
    """Units per product per shop-local day over the store's history up to the day before `as_of`."""
    zone = store.shop.zone
    last = store.as_of.astimezone(zone).date() - timedelta(days=1)
    by_day: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for order in store.orders:
        if order.test or order.deleted or order.payment in (PaymentState.FAILED, PaymentState.DRAFT):
            continue  # never a (counting) Shopify order; cancelled ones still count as placed
        day = order.created_at.astimezone(zone).date()
        for line in order.line_items:
            if line.product_id is not None:
                by_day[line.product_id][day] += line.quantity
    first = min((min(days) for days in by_day.values() if days), default=last)
    n = (last - first).days + 1
    out = [ProductSeries(p.id, [float(by_day[p.id].get(first + timedelta(days=i), 0)) for i in range(n)],
                         sum(v.inventory for v in p.variants)) for p in store.products]
    return last, out


class TimedForecaster:
    """`forecast_series` (with `model` if given), with the wall time of each fit by model (the endpoint pays one
    fit per request)."""

    def __init__(self, model: ModelName | None = None) -> None:
        self.model = model
        self.seconds: dict[str, list[float]] = defaultdict(list)

    def __call__(self, series: list[float], horizon: int) -> SeriesForecast:
        start = time.perf_counter()
        fc = forecast_series(series, horizon, model=self.model)
        self.seconds[fc.model].append(time.perf_counter() - start)
        return fc


def _table(rows: Sequence[ClassScore]) -> None:
    print(f"  {'class':<13}{'items':>6}{'windows':>8}{'MASE ours':>11}{'MASE snaive':>13}{'ratio':>7}"
          f"{'MASE zero':>11}  models")
    for r in rows:
        models = ", ".join(f"{m} {k}" for m, k in sorted(r.models.items()))
        print(f"  {r.category:<13}{r.items:>6}{r.windows:>8}{r.mase:>11.3f}{r.naive_mase:>13.3f}{r.ratio:>7.3f}"
              f"{r.zero_mase:>11.3f}  {models}")


def _backtest(products: Sequence[ProductSeries], horizon: int, origins: int,
              forecaster: TimedForecaster) -> dict[int, list[WindowScore]]:
    return {p.product_id: backtest_series(p.units, horizon, origins, forecaster=forecaster,
                                          in_stock=[not m for m in out_of_stock_mask(p.units, p.on_hand)])
            for p in products}


def _compare(products: Sequence[ProductSeries], horizon: int, origins: int) -> None:
    """Every candidate forced on every class: MASE ratio to seasonal naive (the evidence for the choice)."""
    print("  every candidate on every class, MASE ÷ seasonal naive (mean fit ms)")
    for model in CANDIDATES:
        timed = TimedForecaster(model)
        rows = summarize(_backtest(products, horizon, origins, timed))
        fits = [t for ts in timed.seconds.values() for t in ts]
        cells = "  ".join(f"{r.category} {r.ratio:.3f}" for r in rows)
        print(f"    {model:<17}{cells}  ({1000 * sum(fits) / max(len(fits), 1):.1f} ms)")


def run_store(orders: int, compare: bool) -> None:
    store = generate_store(CatalogConfig(orders=orders))
    last, products = daily_units(store)
    sold = [p for p in products if sum(p.units) > 0]
    stocked_out = sum(any(out_of_stock_mask(p.units, p.on_hand)) for p in products)
    print(f"-- store seed {store.seed}, {orders} orders, {len(products)} products ({len(sold)} with sales), "
          f"{len(products[0].units)} days to {last}, {stocked_out} with stock-out days (missing, not zeros)")
    for horizon, origins in RUNS:
        timed = TimedForecaster()
        print(f" horizon {horizon} days, {origins} origins {horizon} days apart")
        _table(summarize(_backtest(sold, horizon, origins, timed)))
        fits = ", ".join(f"{m} {1000 * sum(s) / len(s):.1f} ms x{len(s)}" for m, s in sorted(timed.seconds.items()))
        print(f"  mean fit time: {fits}")
        if compare:
            _compare(sold, horizon, origins)


def main() -> None:
    start = time.perf_counter()
    for name in ("AutoETS", "ADIDA"):  # the statsforecast import and first fits: paid once per worker
        forecast_series([float(i % 7) for i in range(28)], 7, model=name)
    print(f"-- first forecast (statsforecast import, warm-up): {time.perf_counter() - start:.2f} s")
    wanted = os.environ.get("BENCH_FORECAST_ORDERS")
    compare = os.environ.get("BENCH_FORECAST_COMPARE", "") not in ("", "0")
    for orders in ([int(wanted)] if wanted else [3000, 30000]):
        run_store(orders, compare)


if __name__ == "__main__":
    main()
