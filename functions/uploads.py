"""Blob triggers: an upload to the videos container starts its video's analysis; a sweeper re-drives stalled ones
and closes uploads that never arrived.

The binding path names the container literally ("videos", the default of VIDEO_CONTAINER): a binding
expression (%VIDEO_CONTAINER%) would make the setting mandatory in every host. Blobs of another container
name, or that no video awaits, are logged and ignored.
"""

from __future__ import annotations

import logging

import azure.durable_functions as df
import azure.functions as func

from functions.http_api.durable_client import bound_client
from shared.runtime import container
from shared.video.uploads import (
    expire_overdue_uploads,
    resume_unfinished_videos,
    start_analysis,
    trigger_name_of,
)

bp = df.Blueprint()
log = logging.getLogger(__name__)


# source=EventGrid: the Flex Consumption plan runs no polling blob trigger; Storage's BlobCreated events reach
# the blob extension's webhook through the subscription infra/hooks/postdeploy.sh creates (decision 0006).
# devhost ignores `source` and polls Azurite; resume_video_analyses starts an upload whose event never came.
@bp.blob_trigger(arg_name="blob", path="videos/{name}", connection="AzureWebJobsStorage",
                 source=func.BlobSource.EVENT_GRID)
@bp.durable_client_input(client_name="client")
async def video_uploaded(blob: func.InputStream, client: df.DurableOrchestrationClient | None) -> None:
    """Start video_analysis (instance video-<id>) for the video this blob is the upload of."""
    c = container()
    with bound_client(client):
        await start_analysis(c.db, c.orchestrations, container=c.settings.video_container,
                             trigger_name=trigger_name_of(blob))


@bp.timer_trigger(arg_name="timer", schedule="0 */5 * * * *", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def resume_video_analyses(timer: func.TimerRequest, client: df.DurableOrchestrationClient | None) -> None:
    """Every 5 minutes: uploads overdue past their URL's expiry are started (blob there) or failed (none), and a
    processing video whose orchestration is gone (host restart) is started again."""
    c = container()
    with bound_client(client):
        if c.video_storage is not None:
            try:
                sweep = await expire_overdue_uploads(c.db, c.video_storage, c.orchestrations)
            except Exception:
                log.exception("the overdue upload sweep failed; it runs again in 5 minutes")
            else:
                if sweep.started or sweep.failed:
                    log.warning("overdue video uploads", extra={"started": sweep.started,
                                                                "failed": [str(v) for v in sweep.failed]})
        resumed = await resume_unfinished_videos(c.db, c.orchestrations)
    if resumed:
        log.warning("resumed video analyses", extra={"instances": resumed})
