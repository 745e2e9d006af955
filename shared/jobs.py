"""Any long-running job by id, as GET /jobs/{id} shows it: a sync, or a video's analysis (the video's id)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from pydantic import BaseModel

from shared.errors import NotFound
from shared.stores.syncs import get_sync


class JobPublic(BaseModel):
    id: uuid.UUID
    kind: Literal["sync", "video"]
    status: str
    progress: float
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    errors: list[dict[str, Any]]
    resource_url: str


async def _video_job(conn: AsyncConnection[DictRow], job_id: uuid.UUID) -> JobPublic | None:
    cur = await conn.execute("select id, status, progress, failure_reason, created_at, started_at, finished_at "
                             "from videos where id = %s", (job_id,))
    row = await cur.fetchone()
    if row is None:
        return None
    errors = [{"message": row["failure_reason"]}] if row["failure_reason"] else []
    return JobPublic(id=row["id"], kind="video", status=row["status"], progress=row["progress"],
                     created_at=row["created_at"], started_at=row["started_at"], finished_at=row["finished_at"],
                     errors=errors, resource_url=f"/api/v1/videos/{row['id']}")


async def get_job(conn: AsyncConnection[DictRow], job_id: uuid.UUID) -> JobPublic:
    """404 when no job of any kind has that id (or it belongs to another organization)."""
    video = await _video_job(conn, job_id)
    if video is not None:
        return video
    try:
        sync = await get_sync(conn, job_id)
    except NotFound:
        raise NotFound("job not found") from None
    return JobPublic(id=sync.id, kind="sync", status=sync.status, progress=sync.progress,
                     created_at=sync.created_at, started_at=sync.started_at, finished_at=sync.finished_at,
                     errors=sync.errors, resource_url=sync.status_url)
