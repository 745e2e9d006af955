"""Housekeeping of sync jobs that no worker is driving any more."""

from __future__ import annotations

import uuid
from datetime import timedelta

from psycopg import Connection, errors
from psycopg.rows import DictRow


def fail_stuck_syncs(conn: Connection[DictRow], *, stuck_after: timedelta) -> list[str]:
    """Mark live syncs with no heartbeat for `stuck_after` as failed, with the reason; return their ids."""
    rows = conn.execute(
        """
        update sync_jobs
        set status = 'failed', finished_at = now(),
            errors = errors || jsonb_build_array(jsonb_build_object(
              'message', 'no progress for ' || %s::text || ' minutes; marked failed (a new sync resumes from '
                         || 'the last checkpoint)',
              'at', to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')))
        where status in ('queued', 'running')
          and coalesce(heartbeat_at, started_at, created_at) < now() - %s::interval
        returning id
        """,
        (int(stuck_after.total_seconds() // 60), stuck_after),
    ).fetchall()
    return [str(r["id"]) for r in rows]


def create_due_syncs(conn: Connection[DictRow]) -> list[tuple[uuid.UUID, str]]:
    """Queue an incremental sync for each connected store whose data is older than its freshness setting, or
    for which a webhook requested one (`stores.sync_requested_at`: a change only a sync can read).

    Returns (job id, instance id) pairs to start. A store with a live sync is skipped, and a race with
    the API ends in the unique index, so each store gets at most one live sync.
    """
    due = conn.execute(
        "select s.id from stores s where s.status = 'active' and s.credentials_secret is not null "
        "and (s.last_synced_at is null or s.last_synced_at < now() - make_interval(mins => s.freshness_minutes) "
        "or s.sync_requested_at is not null) "
        "and not exists (select 1 from sync_jobs j where j.store_id = s.id and j.status in ('queued', 'running')) "
        "order by s.last_synced_at nulls first").fetchall()
    created: list[tuple[uuid.UUID, str]] = []
    for store in due:
        try:
            with conn.transaction():
                row = conn.execute("select id, instance_id from app.create_sync_job(%s, 'incremental', null)",
                                   (store["id"],)).fetchone()
        except errors.UniqueViolation:
            continue
        if row is not None:
            created.append((row["id"], row["instance_id"]))
    return created


def fail_job(conn: Connection[DictRow], job_id: uuid.UUID, reason: str) -> None:
    conn.execute(
        "update sync_jobs set status = 'failed', finished_at = now(), errors = errors || jsonb_build_array("
        "jsonb_build_object('message', %s::text)) where id = %s and status in ('queued', 'running')",
        (reason, job_id))
