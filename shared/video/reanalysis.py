"""Analyzing a finished video again from a given step: the stored results from there on are cleared and a new
orchestration instance runs the rest (the earlier steps return their stored results).

Why: a model pass that failed (refusal, timeout, rate limit) is stored as `failed` and a re-drive reuses it;
after a model change, the insights may be worth recomputing too. Only a video that is analyzed or failed can
be analyzed again: while one is processing or awaiting its upload the request is a conflict (409).

Each reanalysis runs under a new instance id, video-<id>-r<n> (like sync-<store>-<n>): the previous instance
keeps its history, and no provider's rule about reusing a finished instance id (Durable Task Scheduler, the
Azure Storage provider's overridable states, the local engine's reuse policy) comes into play.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Literal

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from shared.auth.access import Access
from shared.db.pool import Database
from shared.errors import Conflict, NotFound
from shared.ports import InstanceAlreadyRunning, OrchestrationPort
from shared.video.pipeline import PROGRESS_AFTER, STEPS
from shared.video.service import VIDEO_ORCHESTRATION, instance_id_for

log = logging.getLogger(__name__)
ReanalyzeFrom = Literal["transcript", "vision", "insights"]
_RERUN = re.compile(r"-r(\d+)$")


def next_instance_id(video_id: uuid.UUID, current: str) -> str:
    """video-<id>-r1 after video-<id>, then -r2, -r3 …"""
    match = _RERUN.search(current)
    return f"{instance_id_for(video_id)}-r{int(match.group(1)) + 1 if match else 1}"


def steps_from(step: ReanalyzeFrom) -> list[str]:
    """`step` and every step after it, in pipeline order."""
    return list(STEPS[STEPS.index(step):])


async def reanalyze_video(conn: AsyncConnection[DictRow], db: Database, *, access: Access, video_id: uuid.UUID,
                          from_step: ReanalyzeFrom, orchestrations: OrchestrationPort) -> str:
    """Clear the results of `from_step` onwards and start the analysis again; the new instance id.

    `conn` is the caller's RLS-scoped transaction (another organization's video is 404); the writes run as the
    service (members may not update videos) and are committed before the orchestration starts, so its first
    activity finds the video processing and the cleared steps gone.
    """
    cur = await conn.execute("select org_id from videos where id = %s", (video_id,))
    visible = await cur.fetchone()
    if visible is None:
        raise NotFound("video not found")
    access.require_member(visible["org_id"], "video")
    cleared = steps_from(from_step)
    previous = STEPS[STEPS.index(from_step) - 1]
    async with db.as_service() as service:
        cur = await service.execute("select status, instance_id from videos where id = %s for update", (video_id,))
        row = await cur.fetchone()
        if row is None:
            raise NotFound("video not found")
        if row["status"] in ("processing", "awaiting_upload"):
            raise Conflict(f"the video is {row['status'].replace('_', ' ')}; it can be analyzed again once it ends")
        instance_id = next_instance_id(video_id, row["instance_id"])
        await service.execute("delete from video_steps where video_id = %s and step = any(%s)", (video_id, cleared))
        await service.execute(
            "update videos set status = 'processing', failure_reason = null, insights = null, analyzed_at = null, "
            "finished_at = null, progress = least(progress, %s), instance_id = %s, updated_at = now() "
            "where id = %s", (PROGRESS_AFTER[previous], instance_id, video_id))
    try:
        await orchestrations.start(VIDEO_ORCHESTRATION, {"video_id": str(video_id)}, instance_id)
    except InstanceAlreadyRunning:
        pass  # a fresh id: only a run that is already doing this work can hold it
    except Exception:
        # The video stays processing under the new id: resume_video_analyses starts it within 5 minutes.
        log.warning("could not start the reanalysis now; the resume timer will", extra={"instance_id": instance_id},
                    exc_info=True)
    return instance_id
