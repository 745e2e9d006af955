"""From an uploaded blob to a running analysis, re-driving analyses no orchestration drives any more, and
closing uploads that never came.

The instance id is the video's `instance_id` (video-<id>, or video-<id>-r<n> after a reanalysis): a second
upload event for the same video (a re-upload, a redelivered trigger) finds the instance live and starts
nothing. A blob that matches no video awaiting it is ignored.

A video still `awaiting_upload` when its upload URL has expired (plus UPLOAD_GRACE, for a PUT that began in
time) either has a committed blob whose trigger never fired (lost event, host down): it is started like the
trigger would; or it has none: it ends `failed`. A single-request PUT that broke off leaves no blob at all,
and blocks staged without a commit are not a blob either (Storage discards them after a week), so there is
nothing to delete then.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from shared.db.pool import Database
from shared.ports import InstanceAlreadyRunning, OrchestrationPort
from shared.video.service import VIDEO_ORCHESTRATION
from shared.video.storage import VideoStorage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    video_id: uuid.UUID
    instance_id: str


def blob_name_in(container: str, trigger_name: str) -> str | None:
    """The blob's name inside `container`, from a trigger's "<container>/<name>"; None for another container."""
    prefix = f"{container}/"
    return trigger_name[len(prefix):] if trigger_name.startswith(prefix) else None


def trigger_name_of(blob: object) -> str:
    """"<container>/<name>" of the blob a trigger fired for, from either value the trigger may bind.

    Today the worker (and devhost) pass an InputStream, whose `name` is "<container>/<name>"; with the SDK-type
    binding planned in decision 0006 it is a BlobClient (`container_name`, `blob_name`), bound without content.
    """
    container_name, blob_name = getattr(blob, "container_name", None), getattr(blob, "blob_name", None)
    if container_name and blob_name:
        return f"{container_name}/{blob_name}"
    return str(getattr(blob, "name", None) or "")


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


# A PUT that started before the URL expired may still be running, and a trigger may lag a little behind.
UPLOAD_GRACE = timedelta(minutes=30)
UPLOAD_EXPIRED = "the upload did not arrive before the upload URL expired"


@dataclass
class Sweep:
    """What one sweep of overdue uploads did: videos started (their blob was there) and videos failed."""

    started: list[str] = field(default_factory=list)
    failed: list[uuid.UUID] = field(default_factory=list)


def _overdue(db: Database, cutoff: datetime) -> list[tuple[uuid.UUID, str]]:
    with db.service_sync() as conn:
        rows = conn.execute("select id, blob_name from videos where status = 'awaiting_upload' and created_at < %s "
                            "order by created_at", (cutoff,)).fetchall()
    return [(r["id"], r["blob_name"]) for r in rows]


def _fail_unless_uploaded(db: Database, video_id: uuid.UUID) -> bool:
    with db.service_sync() as conn:
        row = conn.execute("update videos set status = 'failed', failure_reason = %s, finished_at = now(), "
                           "updated_at = now() where id = %s and status = 'awaiting_upload' returning id",
                           (UPLOAD_EXPIRED, video_id)).fetchone()
    return row is not None


async def expire_overdue_uploads(db: Database, storage: VideoStorage, orchestrations: OrchestrationPort, *,
                                 now: datetime | None = None) -> Sweep:
    """Videos awaiting an upload past their URL's expiry + UPLOAD_GRACE: started if the blob is there, else failed.

    Idempotent: a second sweep finds them processing or failed and does nothing; the trigger arriving at the same
    moment finds the video claimed (or failed) under the same row lock and starts nothing twice.
    """
    cutoff = (now or datetime.now(UTC)) - storage.ttl - UPLOAD_GRACE
    sweep = Sweep()
    for video_id, blob_name in await asyncio.to_thread(_overdue, db, cutoff):
        if await asyncio.to_thread(storage.upload_size, blob_name) is not None:
            started = await start_analysis(db, orchestrations, container=storage.videos,
                                           trigger_name=f"{storage.videos}/{blob_name}")
            if started is not None:
                log.warning("started a video whose upload trigger never fired", extra={"instance_id": started})
                sweep.started.append(started)
            continue
        if await asyncio.to_thread(_fail_unless_uploaded, db, video_id):
            log.info("video upload expired", extra={"video_id": str(video_id)})
            sweep.failed.append(video_id)
    return sweep
