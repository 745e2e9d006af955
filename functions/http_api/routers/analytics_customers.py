"""Customer analytics: RFM segments and first-order-month cohorts (docs/metrics.md "Customers")."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from functions.http_api.deps import UserConn
from shared.analytics import customers as service

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])

AsOfDate = Annotated[date | None, Query(description="shop-local day to compute at (inclusive); default today")]
CohortMonths = Annotated[int, Query(ge=1, le=service.MAX_COHORT_MONTHS,
                                    description="cohorts of the last n months, as_of_date's month included")]


@router.get("/customers", summary="RFM segments and first-order-month cohorts with retention and value")
async def get_customer_analytics(conn: UserConn, store_id: uuid.UUID, as_of_date: AsOfDate = None,
                                 cohort_months: CohortMonths = service.DEFAULT_COHORT_MONTHS,
                                 ) -> service.CustomersAnalyticsPublic:
    return await service.customer_analytics(conn, store_id=store_id, as_of_date=as_of_date,
                                            cohort_months=cohort_months)
