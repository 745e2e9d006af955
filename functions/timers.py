"""Timer triggers: syncs that keep stores fresh, and housekeeping of stuck ones."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

from functions.http_api.durable_client import bound_client
from shared.analytics.drift import check_all
from shared.bootstrap import Container
from shared.ports import InstanceAlreadyRunning
from shared.runtime import container
from shared.stores.jobs import SYNC_ORCHESTRATION
from shared.stores.maintenance import create_due_syncs, fail_job, fail_stuck_syncs

bp = df.Blueprint()
log = logging.getLogger(__name__)


@bp.timer_trigger(arg_name="timer", schedule="0 */10 * * * *", run_on_startup=False)
def sweep_stuck_syncs(timer: func.TimerRequest) -> None:
    """Every 10 minutes: syncs with no heartbeat for too long end as failed, with the reason."""
    c = container()
    with c.db.service_sync() as conn:
        failed = fail_stuck_syncs(conn, stuck_after=timedelta(minutes=c.settings.sync_stuck_after_minutes))
    if failed:
        log.warning("marked stuck syncs failed", extra={"count": len(failed), "sync_ids": failed})


def _queue_due_syncs(c: Container) -> list[tuple[uuid.UUID, str]]:
    with c.db.service_sync() as conn:
        return list(create_due_syncs(conn))


@bp.timer_trigger(arg_name="timer", schedule="0 */15 * * * *", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def start_due_syncs(timer: func.TimerRequest, client: df.DurableOrchestrationClient | None) -> None:
    """Every 15 minutes: an incremental sync for each store whose data is older than its freshness setting."""
    c = container()
    # Blocking pool in a thread: this may run on another event loop than the API's async pool.
    jobs = await asyncio.to_thread(_queue_due_syncs, c)
    with bound_client(client):
        for job_id, instance_id in jobs:
            try:
                await c.orchestrations.start(SYNC_ORCHESTRATION, {"job_id": str(job_id)}, instance_id)
            except InstanceAlreadyRunning:
                with c.db.service_sync() as conn:
                    fail_job(conn, job_id, "an orchestration with this id was still running")
    if jobs:
        log.info("started due syncs", extra={"count": len(jobs)})


@bp.timer_trigger(arg_name="timer", schedule="0 30 3 * * *", run_on_startup=False)
def check_metric_drift(timer: func.TimerRequest) -> None:
    """Nightly: recompute the last weeks of every store's rollup from raw rows; drifted days are reported."""
    with container().db.service_sync() as conn:
        drifts = [d for d in check_all(conn) if d.days]
    for drift in drifts:
        log.warning("analytics rollup drift repaired", extra={"store_id": str(drift.store_id), "days": drift.days})
