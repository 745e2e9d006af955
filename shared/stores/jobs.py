"""Starting and cancelling syncs from the API: one live sync per store, deterministic instance ids."""

from __future__ import annotations

import logging
import uuid
from typing import Literal

from psycopg import AsyncConnection, errors
from psycopg.rows import DictRow

from shared.auth.access import load_access
from shared.auth.tokens import Principal
from shared.db.pool import Database
from shared.errors import Conflict, NotFound
from shared.ports import InstanceAlreadyRunning, OrchestrationPort
from shared.stores.syncs import SyncPublic, get_sync

log = logging.getLogger(__name__)
SYNC_ORCHESTRATION = "store_sync"


async def _live_job(conn: AsyncConnection[DictRow], store_id: uuid.UUID) -> uuid.UUID | None:
    cur = await conn.execute("select id from sync_jobs where store_id = %s and status in ('queued', 'running')",
                             (store_id,))
    row = await cur.fetchone()
    return None if row is None else row["id"]


async def start_sync(db: Database, principal: Principal, *, store_id: uuid.UUID,
                     mode: Literal["full", "incremental"], orchestrations: OrchestrationPort) -> SyncPublic:
    """Record the job (committed, so the first activity finds it), then start its orchestration."""
    async with db.as_user(principal.claims) as conn:
        access = await load_access(conn, principal)
        cur = await conn.execute("select org_id from stores where id = %s and status = 'active'", (store_id,))
        store = await cur.fetchone()
        if store is None:
            raise NotFound("store not found")
        access.require_member(store["org_id"], "store")
        live = await _live_job(conn, store_id)
        if live is not None:
            raise Conflict(f"a sync is already running for this store: /api/v1/syncs/{live}")
        try:
            async with conn.transaction():
                cur = await conn.execute("select id, instance_id from app.create_sync_job(%s, %s, %s)",
                                         (store_id, mode, principal.user_id))
                created = await cur.fetchone()
        except errors.UniqueViolation:
            raise Conflict("a sync was started for this store at the same moment") from None
        assert created is not None
        job_id, instance_id = created["id"], created["instance_id"]
    try:
        await orchestrations.start(SYNC_ORCHESTRATION, {"job_id": str(job_id)}, instance_id)
    except InstanceAlreadyRunning:
        async with db.as_service() as conn:
            await conn.execute("update sync_jobs set status = 'failed', finished_at = now(), errors = "
                               "'[{\"message\": \"an orchestration with this id was still running\"}]' "
                               "where id = %s", (job_id,))
        raise Conflict("a sync is already running for this store") from None
    async with db.as_user(principal.claims) as conn:
        return await get_sync(conn, job_id)


async def cancel_sync(db: Database, principal: Principal, *, sync_id: uuid.UUID,
                      orchestrations: OrchestrationPort) -> SyncPublic:
    """Stop a live sync; what it saved stays, and a later incremental sync resumes from there."""
    async with db.as_user(principal.claims) as conn:
        job = await get_sync(conn, sync_id)  # 404 for another organization's sync
        if job.status not in ("queued", "running"):
            raise Conflict(f"the sync has already ended ({job.status})")
        cur = await conn.execute(
            "update sync_jobs set status = 'cancelled', finished_at = now() where id = %s "
            "and status in ('queued', 'running') returning instance_id", (sync_id,))
        row = await cur.fetchone()
    if row is not None:
        try:
            await orchestrations.terminate(row["instance_id"], "cancelled by the user")
        except Exception:
            # The activities see the cancelled status and stop on their own; terminate only makes it sooner.
            log.warning("could not terminate sync instance", extra={"instance_id": row["instance_id"]})
    async with db.as_user(principal.claims) as conn:
        return await get_sync(conn, sync_id)


async def resume_unfinished_syncs(db: Database, orchestrations: OrchestrationPort) -> list[str]:
    """Start again every sync the database says is live but no orchestration drives (e.g. after a restart).

    The orchestration resumes from the job's checkpoint; an instance that is in fact running is left alone.
    """
    async with db.as_service() as conn:
        cur = await conn.execute("select id, instance_id from sync_jobs where status in ('queued', 'running') "
                                 "order by created_at")
        rows = await cur.fetchall()
    resumed = []
    for row in rows:
        try:
            await orchestrations.start(SYNC_ORCHESTRATION, {"job_id": str(row["id"])}, row["instance_id"])
            resumed.append(row["instance_id"])
        except InstanceAlreadyRunning:
            continue
    return resumed
