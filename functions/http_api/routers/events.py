"""Storefront events: batches of page views, product views, carts, checkouts and purchases."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from functions.http_api.deps import AccessDep, UserConn
from shared.events import MAX_BATCH, EventBatch, IngestResult, ingest_events

router = APIRouter(prefix="/api/v1", tags=["events"])


@router.post(
    "/events", status_code=202,
    summary=f"Store a batch of 1..{MAX_BATCH} storefront events; idempotent by event_id",
    responses={404: {"description": "a store that is not the caller's"},
               422: {"description": "an invalid event (nothing of the batch is stored)"}},
)
async def post_events(body: Annotated[EventBatch, Body()], conn: UserConn, access: AccessDep) -> IngestResult:
    return await ingest_events(conn, access, body)
