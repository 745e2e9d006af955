"""Timer triggers: periodic housekeeping."""

from __future__ import annotations

import logging
from datetime import timedelta

import azure.functions as func

from shared.runtime import container
from shared.stores.maintenance import fail_stuck_syncs

bp = func.Blueprint()
log = logging.getLogger(__name__)


@bp.timer_trigger(arg_name="timer", schedule="0 */10 * * * *", run_on_startup=False)
def sweep_stuck_syncs(timer: func.TimerRequest) -> None:
    """Every 10 minutes: syncs with no heartbeat for too long end as failed, with the reason."""
    c = container()
    with c.db.service_sync() as conn:
        failed = fail_stuck_syncs(conn, stuck_after=timedelta(minutes=c.settings.sync_stuck_after_minutes))
    if failed:
        log.warning("marked stuck syncs failed", extra={"count": len(failed), "sync_ids": failed})
