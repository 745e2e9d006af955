"""Sync jobs as SPEC.md shows them at GET /syncs/{id}, and as a generic job at GET /jobs/{id}."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from pydantic import BaseModel, Field

from shared.errors import NotFound

SyncStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
ENTITIES = ("products", "variants", "customers", "orders", "refunds")


class ThrottleStats(BaseModel):
    waits: int = 0
    waited_seconds: float = 0.0


class SyncPublic(BaseModel):
    id: uuid.UUID
    store_id: uuid.UUID
    status: SyncStatus
    mode: Literal["full", "incremental"]
    counts: dict[str, int]
    progress: float = Field(ge=0, le=1)
    throttle: ThrottleStats
    errors: list[dict[str, Any]]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    status_url: str


def _public(row: dict[str, Any]) -> SyncPublic:
    counts = {entity: int(row["counts"].get(entity, 0)) for entity in ENTITIES}
    return SyncPublic(
        id=row["id"], store_id=row["store_id"], status=row["status"], mode=row["mode"], counts=counts,
        progress=row["progress"], throttle=ThrottleStats(**row["throttle"]), errors=row["errors"],
        created_at=row["created_at"], started_at=row["started_at"], finished_at=row["finished_at"],
        status_url=f"/api/v1/syncs/{row['id']}",
    )


async def get_sync(conn: AsyncConnection[DictRow], sync_id: uuid.UUID) -> SyncPublic:
    cur = await conn.execute("select * from sync_jobs where id = %s", (sync_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound("sync not found")
    return _public(row)
