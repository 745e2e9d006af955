"""The bookkeeping of an analysis: each step's result kept in video_steps, progress, the final status.

A step that finds its result stored returns it without working again, so a re-driven orchestration (a
restarted worker, a redelivered activity) resumes where the last one stopped. The work itself runs
outside any transaction (it downloads and decodes); its result is stored with the progress in one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from psycopg import Connection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from shared.db.pool import Database

Step = Literal["probe", "scan", "transcript", "vision", "insights"]
STEPS: tuple[Step, ...] = ("probe", "scan", "transcript", "vision", "insights")
# Probing is quick; decoding every frame is most of the work; the model pass waits on the model.
PROGRESS_AFTER: dict[Step, float] = {"probe": 0.15, "scan": 0.7, "transcript": 0.8, "vision": 0.9, "insights": 0.95}


class VideoGone(Exception):
    """The video was deleted while it was being analyzed: stop quietly."""


class Unanalyzable(Exception):
    """The upload cannot be analyzed (not a video, truncated, too large, missing): the video fails with `reason`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class VideoRow:
    id: uuid.UUID
    org_id: uuid.UUID
    store_id: uuid.UUID
    blob_name: str
    content_type: str
    status: str
    created_at: Any


def _load(conn: Connection[DictRow], video_id: uuid.UUID, *, lock: bool = False) -> VideoRow:
    row = conn.execute("select id, org_id, store_id, blob_name, content_type, status, created_at from videos "
                       f"where id = %s{' for update' if lock else ''}", (video_id,)).fetchone()
    if row is None:
        raise VideoGone(str(video_id))
    return VideoRow(**row)


def stored_result(conn: Connection[DictRow], video_id: uuid.UUID, step: Step) -> dict[str, Any] | None:
    row = conn.execute("select result from video_steps where video_id = %s and step = %s and finished_at is not null",
                       (video_id, step)).fetchone()
    return None if row is None else dict(row["result"])


def run_step(db: Database, video_id: uuid.UUID, step: Step,
             work: Callable[[VideoRow], dict[str, Any]]) -> dict[str, Any]:
    """The step's stored result, or run `work` once and store what it returns (with the progress)."""
    with db.service_sync() as conn:
        video = _load(conn, video_id, lock=True)
        done = stored_result(conn, video_id, step)
        if done is not None:
            return done
        conn.execute("update videos set status = 'processing', started_at = coalesce(started_at, now()), "
                     "updated_at = now() where id = %s and status in ('awaiting_upload', 'processing')", (video_id,))
        conn.execute(
            "insert into video_steps (video_id, org_id, step, runs) values (%s, %s, %s, 1) "
            "on conflict (video_id, step) do update set runs = video_steps.runs + 1, started_at = now()",
            (video_id, video.org_id, step))
    result = work(video)
    with db.service_sync() as conn:
        _load(conn, video_id, lock=True)
        conn.execute("update video_steps set result = %s, finished_at = now() where video_id = %s and step = %s",
                     (Jsonb(result), video_id, step))
        probe = Jsonb(result) if step == "probe" else None
        conn.execute("update videos set progress = greatest(progress, %s), probe = coalesce(%s, probe), "
                     "updated_at = now() where id = %s", (PROGRESS_AFTER[step], probe, video_id))
    return result


def finish(db: Database, video_id: uuid.UUID, reason: str | None) -> str:
    """analyzed (insights copied from the insights step) or failed with `reason`; the status it ends in."""
    with db.service_sync() as conn:
        video = _load(conn, video_id, lock=True)
        if video.status in ("analyzed", "failed"):
            return video.status
        insights = None if reason is not None else stored_result(conn, video_id, "insights")
        if reason is None and insights is None:
            reason = "the analysis ended before its insights were computed"
        if reason is not None:
            conn.execute("update videos set status = 'failed', failure_reason = %s, finished_at = now(), "
                         "updated_at = now() where id = %s", (reason[:500], video_id))
            return "failed"
        conn.execute("update videos set status = 'analyzed', insights = %s, progress = 1, failure_reason = null, "
                     "analyzed_at = now(), finished_at = now(), updated_at = now() where id = %s",
                     (Jsonb(insights), video_id))
        return "analyzed"
