"""Long-running work: syncs by id, and any job by id."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from functions.http_api.deps import ContainerDep, CurrentPrincipal, UserConn
from shared import jobs as shared_jobs
from shared.stores import jobs, syncs

router = APIRouter(prefix="/api/v1", tags=["jobs"])


@router.get("/syncs/{sync_id}", summary="A sync's status, counts, progress, throttle waits and errors")
async def get_sync(sync_id: uuid.UUID, conn: UserConn) -> syncs.SyncPublic:
    return await syncs.get_sync(conn, sync_id)


@router.get("/jobs/{job_id}", summary="Any long-running job's status")
async def get_job(job_id: uuid.UUID, conn: UserConn) -> shared_jobs.JobPublic:
    return await shared_jobs.get_job(conn, job_id)


@router.post("/syncs/{sync_id}/cancel", summary="Cancel a running sync (what it saved stays)",
             responses={409: {"description": "the sync has already ended"}})
async def cancel_sync(sync_id: uuid.UUID, container: ContainerDep, principal: CurrentPrincipal) -> syncs.SyncPublic:
    return await jobs.cancel_sync(container.db, principal, sync_id=sync_id, orchestrations=container.orchestrations)
