"""Videos at the edges: what POST /videos takes and answers, and how a video reads at GET /videos/{id}."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ContentType = Literal["video/mp4", "video/quicktime", "video/webm"]
VideoStatus = Literal["awaiting_upload", "processing", "analyzed", "failed"]
EXTENSIONS: dict[str, str] = {"video/mp4": ".mp4", "video/quicktime": ".mov", "video/webm": ".webm"}
MAX_LINKED_PRODUCTS = 50


class VideoCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store_id: uuid.UUID
    filename: str = Field(min_length=1, max_length=255)
    content_type: ContentType
    size_bytes: int = Field(gt=0, description="the file's exact size; larger than MAX_VIDEO_BYTES is refused (413)")
    product_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_LINKED_PRODUCTS)


class VideoUploadTicket(BaseModel):
    id: uuid.UUID
    upload_url: str = Field(description="PUT the file here (one request, header x-ms-blob-type: BlockBlob)")
    expires_at: datetime
    upload_headers: dict[str, str] = Field(description="headers the PUT must carry")
    status_url: str


class Thumbnail(BaseModel):
    index: int
    t: float = Field(description="seconds into the video")
    width: int
    height: int
    url: str = Field(description="a short-lived read URL")


class VideoPublic(BaseModel):
    id: uuid.UUID
    store_id: uuid.UUID
    filename: str
    content_type: str
    size_bytes: int
    status: VideoStatus
    progress: float = Field(ge=0, le=1)
    failure_reason: str | None
    product_ids: list[uuid.UUID]
    probe: dict[str, Any] | None = Field(description="duration, size, codecs ... once probed")
    insights: dict[str, Any] | None = Field(description="scores, pacing, audio, product impact; once analyzed")
    thumbnails: list[Thumbnail]
    created_at: datetime
    updated_at: datetime
    analyzed_at: datetime | None
    job_url: str


class VideoReanalyze(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_step: Literal["transcript", "vision", "insights"] = Field(
        default="transcript", description="clear the stored results of this step and the ones after it, then rerun")
