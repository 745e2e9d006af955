"""Per-product analytics: units, net sales, ABC class, sell-through, days of inventory, trend (docs/metrics.md)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from functions.http_api.deps import DEFAULT_PAGE_SIZE, Cursor, Limit, UserConn
from shared.analytics import products as service

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])

From = Annotated[date, Query(alias="from", description="first shop-local day (inclusive)")]
To = Annotated[date, Query(alias="to", description="last shop-local day (inclusive)")]


@router.get("/products", summary="Every product's period figures, by net sales (desc)", response_model_by_alias=True)
async def get_product_metrics(conn: UserConn, store_id: uuid.UUID, date_from: From, date_to: To,
                              limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None) -> service.ProductsPage:
    return await service.product_metrics(conn, store_id=store_id, date_from=date_from, date_to=date_to,
                                         limit=limit, cursor=cursor)
