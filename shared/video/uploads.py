"""From an uploaded blob to a running analysis, and re-driving analyses no orchestration drives any more.

The instance id is video-<id>: a second upload event for the same video (a re-upload, a redelivered
trigger) finds the instance live and starts nothing. A blob that matches no video awaiting it is ignored.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass

from shared.db.pool import Database
from shared.ports import InstanceAlreadyRunning, OrchestrationPort
from shared.video.service import VIDEO_ORCHESTRATION

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    video_id: uuid.UUID
    instance_id: str


def blob_name_in(container: str, trigger_name: str) -> str | None:
    """The blob's name inside `container`, from a trigger's "<container>/<name>"; None for another container."""
    prefix = f"{container}/"
    return trigger_name[len(prefix):] if trigger_name.startswith(prefix) else None


def claim_upload(db: Database, blob_name: str) -> Claim | None:
    """The video this blob is the upload of, now processing; None if no video awaits it."""
    with db.service_sync() as conn:
        row = conn.execute("select id, status, instance_id from videos where blob_name = %s for update",
                           (blob_name,)).fetchone()
        if row is None or row["status"] not in ("awaiting_upload", "processing"):
            return None
        conn.execute("update videos set status = 'processing', uploaded_at = coalesce(uploaded_at, now()), "
                     "updated_at = now() where id = %s and status = 'awaiting_upload'", (row["id"],))
        return Claim(row["id"], row["instance_id"])


async def start_analysis(db: Database, orchestrations: OrchestrationPort, *, container: str,
                         trigger_name: str) -> str | None:
    """Start video_analysis for an uploaded blob; the instance id started, or None when there is nothing to do."""
    blob_name = blob_name_in(container, trigger_name)
    claim = None if blob_name is None else await asyncio.to_thread(claim_upload, db, blob_name)
    if claim is None:
        log.info("ignored an uploaded blob: no video awaits it", extra={"blob": trigger_name})
        return None
    try:
        await orchestrations.start(VIDEO_ORCHESTRATION, {"video_id": str(claim.video_id)}, claim.instance_id)
    except InstanceAlreadyRunning:
        log.info("video analysis already running", extra={"instance_id": claim.instance_id})
        return None
    log.info("video analysis started", extra={"instance_id": claim.instance_id})
    return claim.instance_id


def _processing(db: Database) -> list[tuple[uuid.UUID, str]]:
    with db.service_sync() as conn:
        rows = conn.execute("select id, instance_id from videos where status = 'processing' "
                            "order by updated_at").fetchall()
    return [(r["id"], r["instance_id"]) for r in rows]


async def resume_unfinished_videos(db: Database, orchestrations: OrchestrationPort) -> list[str]:
    """Start again every processing video no live orchestration drives (e.g. after a restart).

    Finished steps are kept in video_steps, so the new run does only what is left.
    """
    resumed = []
    for video_id, instance_id in await asyncio.to_thread(_processing, db):
        try:
            await orchestrations.start(VIDEO_ORCHESTRATION, {"video_id": str(video_id)}, instance_id)
            resumed.append(instance_id)
        except InstanceAlreadyRunning:
            continue
    return resumed
