"""Videos: create an upload (record + write-only SAS URL), list, read with insights, analyze again, delete."""

from __future__ import annotations

import logging
import uuid

from fastapi import APIRouter, Response

from functions.http_api.deps import (
    DEFAULT_PAGE_SIZE,
    AccessDep,
    ContainerDep,
    Cursor,
    Limit,
    UserConn,
)
from shared.bootstrap import Container
from shared.errors import ServiceUnavailable
from shared.pagination import Page
from shared.video import reanalysis, service
from shared.video.models import VideoCreate, VideoPublic, VideoReanalyze, VideoStatus, VideoUploadTicket
from shared.video.storage import VideoStorage

router = APIRouter(prefix="/api/v1/videos", tags=["videos"])
log = logging.getLogger(__name__)


def _storage(container: Container) -> VideoStorage:
    if container.video_storage is None:
        raise ServiceUnavailable("video uploads are not available: no blob storage is configured")
    return container.video_storage


@router.post("", status_code=201, summary="Register a video and get a short-lived URL to PUT the file to",
             responses={404: {"description": "no such store"}, 413: {"description": "larger than the limit"},
                        422: {"description": "bad content type, or products not in the store"}})
async def create_video(body: VideoCreate, conn: UserConn, access: AccessDep, container: ContainerDep,
                       response: Response) -> VideoUploadTicket:
    ticket = await service.create_video(conn, access=access, body=body, storage=_storage(container),
                                        max_bytes=container.settings.max_video_bytes)
    response.headers["Location"] = ticket.status_url
    return ticket


@router.get("", summary="The caller's videos, newest first")
async def list_videos(conn: UserConn, container: ContainerDep, limit: Limit = DEFAULT_PAGE_SIZE,
                      cursor: Cursor = None, store_id: uuid.UUID | None = None,
                      status: VideoStatus | None = None) -> Page[VideoPublic]:
    items, next_cursor = await service.list_videos(conn, limit=limit, cursor=cursor, store_id=store_id,
                                                   status=status, storage=container.video_storage)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/{video_id}", summary="One video: status, progress, probe, insights and thumbnail URLs")
async def get_video(video_id: uuid.UUID, conn: UserConn, container: ContainerDep) -> VideoPublic:
    return await service.get_video(conn, video_id, container.video_storage)


@router.post("/{video_id}/reanalyze", status_code=202,
             summary="Analyze a finished video again from a step (e.g. after a failed model pass)",
             responses={404: {"description": "no such video"},
                        409: {"description": "the video is processing or awaiting its upload"}})
async def reanalyze_video(video_id: uuid.UUID, conn: UserConn, access: AccessDep, container: ContainerDep,
                          response: Response, body: VideoReanalyze | None = None) -> VideoPublic:
    await reanalysis.reanalyze_video(conn, container.db, access=access, video_id=video_id,
                                     from_step=(body or VideoReanalyze()).from_step,
                                     orchestrations=container.orchestrations)
    response.headers["Location"] = f"/api/v1/videos/{video_id}"
    return await service.get_video(conn, video_id, container.video_storage)


@router.delete("/{video_id}", status_code=204, summary="Delete a video, its file, thumbnails and insights",
               responses={404: {"description": "no such video"}})
async def delete_video(video_id: uuid.UUID, conn: UserConn, container: ContainerDep) -> Response:
    instance_id = await service.delete_video(conn, video_id=video_id, storage=_storage(container))
    try:
        await container.orchestrations.terminate(instance_id, "video deleted")
    except Exception:
        # A finished or unknown instance needs no terminate; a live one stops at its next step (video gone).
        log.info("no video analysis to terminate", extra={"instance_id": instance_id})
    return Response(status_code=204)
