"""Store analytics: the period summary and chart-ready time series (docs/metrics.md)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from functions.http_api.deps import UserConn
from shared.analytics import funnel
from shared.analytics import summary as service
from shared.analytics.metrics import Interval

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])

From = Annotated[date, Query(alias="from", description="first shop-local day (inclusive)")]
To = Annotated[date, Query(alias="to", description="last shop-local day (inclusive)")]


@router.get("/summary", summary="A period's metrics beside the previous period of equal length",
            response_model_by_alias=True)
async def get_summary(conn: UserConn, store_id: uuid.UUID, date_from: From, date_to: To) -> service.SummaryPublic:
    return await service.summary(conn, store_id=store_id, date_from=date_from, date_to=date_to)


@router.get("/timeseries", summary="One metric per day, ISO week or month, ready for a chart",
            response_model_by_alias=True)
async def get_timeseries(conn: UserConn, store_id: uuid.UUID, metric: service.Metric, date_from: From,
                         date_to: To, interval: Interval = "day") -> service.TimeseriesPublic:
    return await service.timeseries(conn, store_id=store_id, metric=metric, interval=interval,
                                    date_from=date_from, date_to=date_to)


@router.get("/funnel", summary="Sessions → product views → add to cart → checkout → purchase, and conversion",
            response_model_by_alias=True)
async def get_funnel(conn: UserConn, store_id: uuid.UUID, date_from: From, date_to: To) -> funnel.FunnelPublic:
    return await funnel.funnel(conn, store_id=store_id, date_from=date_from, date_to=date_to)
