"""Housekeeping of sync jobs that no worker is driving any more."""

from __future__ import annotations

from datetime import timedelta

from psycopg import Connection
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
