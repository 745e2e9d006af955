"""Builders of the analytics outputs the detectors read, for unit tests (no database)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from shared.advice.evidence import RecommendationDraft
from shared.advice.facts import CatalogFacts, StoreFacts, SyncFacts, Windows
from shared.advice.numbers import untraceable_numbers
from shared.analytics.forecast import ForecastPublic, ReorderPublic
from shared.analytics.funnel import FunnelPublic
from shared.analytics.products import ProductMetrics
from shared.analytics.summary import SummaryPublic
from shared.money import Money

AS_OF = date(2026, 11, 25)
STORE = uuid.UUID("00000000-0000-0000-0000-0000000000aa")
CUR = "EUR"


def product(
    title: str = "Blue Hoodie",
    *,
    units: int = 10,
    net: str = "250.00",
    returns: str = "0.00",
    on_hand: int | None = 20,
    doi: float | None = None,
    abc: str = "B",
    trend: float | None = 0.0,
    pid: uuid.UUID | None = None,
) -> ProductMetrics:
    return ProductMetrics(
        product_id=pid or uuid.uuid5(uuid.NAMESPACE_DNS, title),
        external_id="1",
        title=title,
        units_sold=units,
        net_sales=Money.of(Decimal(net), CUR),
        returns=Money.of(Decimal(returns), CUR),
        abc_class=abc,
        on_hand=on_hand,  # type: ignore[arg-type]
        sell_through_pct=None,
        days_of_inventory=doi,
        trend_pct=trend,
    )


def forecast(
    p: ProductMetrics, *, stockout_in: int | None, reorder: int = 40, demand: str = "regular"
) -> ForecastPublic:
    return ForecastPublic(
        product_id=p.product_id,
        store_id=STORE,
        timezone="Europe/Berlin",
        horizon_days=28,
        model="AutoETS",
        demand_class=demand,
        demand_category="smooth",
        adi=1.0,
        cv2=0.1,
        interval_level=80,  # type: ignore[arg-type]
        interval_method="model",
        history=[AS_OF - timedelta(days=180), AS_OF - timedelta(days=1)],
        out_of_stock_days=0,
        points=[],
        on_hand=p.on_hand,
        stockout_date=None if stockout_in is None else AS_OF + timedelta(days=stockout_in),
        reorder=ReorderPublic(
            quantity=reorder,
            lead_time_days=14,
            service_level=0.95,
            lead_time_demand=30.0,
            safety_stock=10.0,
            z=1.645,
            residual_sd=1.0,
            on_hand=max(p.on_hand or 0, 0),
        ),
        as_of=None,
        syncs=[],
    )


def metrics(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "gross_sales": "1000.00",
        "discounts": "50.00",
        "returns": "0.00",
        "net_sales": "950.00",
        "shipping": "0.00",
        "taxes": "0.00",
        "fees": "0.00",
        "total_sales": "950.00",
        "aov": "25.00",
        "orders": 40,
        "units_sold": 60,
        "refunds": 2,
        "new_customers": 30,
        "returning_customers": 20,
    }
    base.update(kw)
    return {k: {"amount": v, "currency": CUR} if isinstance(v, str) else v for k, v in base.items()}


def summary(start: date, days: int, now: dict[str, Any], before: dict[str, Any], *,
            unconverted: tuple[int, list[str]] = (0, [])) -> SummaryPublic:
    end = start + timedelta(days=days - 1)
    return SummaryPublic.model_validate(
        {
            "store_id": STORE,
            "currency": CUR,
            "timezone": "Europe/Berlin",
            "period": {"from": start, "to": end, "metrics": now,
                       "unconverted": {"orders": unconverted[0], "currencies": unconverted[1]}},
            "previous_period": {
                "from": start - timedelta(days=days),
                "to": start - timedelta(days=1),
                "metrics": before,
                "unconverted": {"orders": 0, "currencies": []},
            },
            "change": {},
            "as_of": None,
            "syncs": [],
        }
    )


def funnel(start: date, days: int, sessions: int, orders: int) -> FunnelPublic:
    return FunnelPublic.model_validate(
        {
            "store_id": STORE,
            "timezone": "Europe/Berlin",
            "from": start,
            "to": start + timedelta(days=days - 1),
            "events_present": sessions > 0,
            "sessions": sessions,
            "orders": orders,
            "conversion_rate": None,
            "steps": [],
            "as_of": None,
            "syncs": [],
        }
    )


def facts(**kw: Any) -> StoreFacts:
    base: dict[str, Any] = {
        "store_id": STORE,
        "name": "Store",
        "currency": CUR,
        "as_of": AS_OF,
        "now": datetime(2026, 11, 25, 6, tzinfo=UTC),
        "windows": Windows.for_day(AS_OF),
        "lead_time_days": 14,
        "recent": {},
        "short": {},
        "dead": {},
        "baseline": {},
        "sync": SyncFacts(datetime(2026, 11, 25, 3, tzinfo=UTC), "succeeded", None, 360),
    }
    base.update(kw)
    return StoreFacts(**base)


def catalog(
    p: ProductMetrics,
    *,
    status: str = "active",
    variants: int = 2,
    missing: int = 0,
    at_cost: str | None = "120.00",
    at_price: str = "300.00",
) -> CatalogFacts:
    return CatalogFacts(
        p.product_id, status, variants, missing, None if at_cost is None else Decimal(at_cost), Decimal(at_price)
    )


def by_id(*items: ProductMetrics) -> dict[uuid.UUID, ProductMetrics]:
    return {p.product_id: p for p in items}


def assert_traceable(draft: RecommendationDraft) -> None:
    """Every number in the impact arithmetic is a figure value or the impact's own value."""
    if draft.expected_impact is not None:
        assert untraceable_numbers(draft.expected_impact.arithmetic, draft.figures, draft.expected_impact) == []
