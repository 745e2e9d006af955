"""Daily demand forecast per product: interval, stock-out date, suggested reorder quantity (docs/metrics.md)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from functions.http_api.deps import UserConn
from shared.analytics import forecast as service

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])


@router.get("/forecast", summary="A product's daily demand forecast with an 80 % interval and a reorder suggestion")
async def get_forecast(
    conn: UserConn,
    product_id: uuid.UUID,
    horizon_days: Annotated[int, Query(description="days to forecast, from today (shop-local), 1..90")] = 30,
    lead_time_days: Annotated[int, Query(description="supplier lead time in days, 1..120")] = 14,
    service_level: Annotated[float, Query(description="chance of not running out during the lead time, "
                                                      "0.5..0.999")] = 0.95,
) -> service.ForecastPublic:
    return await service.forecast(conn, product_id, horizon_days, lead_time_days, service_level)
