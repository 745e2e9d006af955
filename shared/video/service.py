"""Videos from the API: create (record + upload URL), list, read (with thumbnail URLs), delete.

Every query runs in the caller's RLS-scoped transaction, so another organization's video or store simply
does not exist (404). Validation happens before the first write: a refused request stores nothing.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
import uuid
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from shared.auth.access import Access
from shared.errors import FieldError, NotFound, PayloadTooLarge, ValidationFailed
from shared.pagination import decode_cursor, encode_cursor, page_of
from shared.video.models import EXTENSIONS, Thumbnail, VideoCreate, VideoPublic, VideoStatus, VideoUploadTicket
from shared.video.storage import VideoStorage

VIDEO_ORCHESTRATION = "video_analysis"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def instance_id_for(video_id: uuid.UUID) -> str:
    return f"video-{video_id}"


def safe_filename(filename: str, content_type: str) -> str:
    """A blob-name-safe version of the caller's file name (ASCII, no path, no leading dots)."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    ascii_name = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    stem, dot, ext = ascii_name.rpartition(".")
    if not dot or not re.fullmatch(r"[A-Za-z0-9]{1,5}", ext):
        stem, ext = ascii_name, EXTENSIONS.get(content_type, ".bin").lstrip(".")
    cleaned = _UNSAFE.sub("-", stem).strip(".-")[:100]
    return f"{cleaned or 'video'}.{ext}"


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB"


async def _check_products(conn: AsyncConnection[DictRow], store_id: uuid.UUID, product_ids: list[uuid.UUID]) -> None:
    if not product_ids:
        return
    cur = await conn.execute("select id from products where store_id = %s and id = any(%s)",
                             (store_id, product_ids))
    found = {r["id"] for r in await cur.fetchall()}
    bad = [(i, p) for i, p in enumerate(product_ids) if p not in found]
    if bad:
        raise ValidationFailed(
            "these products are not in the store: " + ", ".join(str(p) for _, p in bad),
            [FieldError(["body", "product_ids", str(i)], f"unknown product {p} in this store") for i, p in bad])


async def create_video(conn: AsyncConnection[DictRow], *, access: Access, body: VideoCreate,
                       storage: VideoStorage, max_bytes: int) -> VideoUploadTicket:
    """Record the video (awaiting_upload) and sign an upload URL for exactly its blob."""
    if body.size_bytes > max_bytes:
        raise PayloadTooLarge(f"the video is {_megabytes(body.size_bytes)}; the limit is {_megabytes(max_bytes)}")
    cur = await conn.execute("select org_id from stores where id = %s and status = 'active'", (body.store_id,))
    store = await cur.fetchone()
    if store is None:
        raise NotFound("store not found")
    access.require_member(store["org_id"], "store")
    product_ids = list(dict.fromkeys(body.product_ids))
    await _check_products(conn, body.store_id, product_ids)
    video_id = uuid.uuid4()
    blob_name = f"{store['org_id']}/{video_id}/{safe_filename(body.filename, body.content_type)}"
    await conn.execute(
        "insert into videos (id, org_id, store_id, filename, content_type, size_bytes, blob_name, instance_id, "
        "created_by) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (video_id, store["org_id"], body.store_id, body.filename, body.content_type, body.size_bytes, blob_name,
         instance_id_for(video_id), access.user_id))
    for product_id in product_ids:
        await conn.execute("insert into video_products (video_id, org_id, product_id) values (%s, %s, %s)",
                           (video_id, store["org_id"], product_id))
    await asyncio.to_thread(storage.ensure_containers)
    signed = await asyncio.to_thread(storage.upload_url, blob_name)
    return VideoUploadTicket(id=video_id, upload_url=signed.url, expires_at=signed.expires_at,
                             upload_headers={"x-ms-blob-type": "BlockBlob", "Content-Type": body.content_type},
                             status_url=f"/api/v1/videos/{video_id}")


_SELECT = """
select v.*, coalesce((select array_agg(vp.product_id order by vp.product_id) from video_products vp
                      where vp.video_id = v.id), '{}') as product_ids
from videos v
"""


def _thumbnails(row: dict[str, Any], storage: VideoStorage | None) -> list[Thumbnail]:
    stored = (row["insights"] or {}).get("thumbnails") or []
    if storage is None:
        return []
    return [Thumbnail(index=t["index"], t=t["t"], width=t["width"], height=t["height"],
                      url=storage.thumbnail_url(t["blob"]).url) for t in stored]


def _public(row: dict[str, Any], storage: VideoStorage | None) -> VideoPublic:
    insights = None if row["insights"] is None else {k: v for k, v in row["insights"].items() if k != "thumbnails"}
    return VideoPublic(
        id=row["id"], store_id=row["store_id"], filename=row["filename"], content_type=row["content_type"],
        size_bytes=row["size_bytes"], status=row["status"], progress=row["progress"],
        failure_reason=row["failure_reason"], product_ids=list(row["product_ids"]), probe=row["probe"],
        insights=insights, thumbnails=_thumbnails(row, storage), created_at=row["created_at"],
        updated_at=row["updated_at"], analyzed_at=row["analyzed_at"], job_url=f"/api/v1/jobs/{row['id']}")


async def list_videos(conn: AsyncConnection[DictRow], *, limit: int, cursor: str | None,
                      store_id: uuid.UUID | None = None, status: VideoStatus | None = None,
                      storage: VideoStorage | None = None) -> tuple[list[VideoPublic], str | None]:
    """The caller's videos (RLS decides which), newest first."""
    where: list[str] = ["true"]
    params: list[Any] = []
    if store_id is not None:
        where.append("v.store_id = %s")
        params.append(store_id)
    if status is not None:
        where.append("v.status = %s")
        params.append(status)
    if cursor:
        created, vid = decode_cursor(cursor, "videos", (str, str))
        where.append("(v.created_at, v.id) < (%s::timestamptz, %s::uuid)")
        params += [created, vid]
    cur = await conn.execute(f"{_SELECT} where {' and '.join(where)} order by v.created_at desc, v.id desc "
                             "limit %s", [*params, limit + 1])
    rows = await cur.fetchall()
    page, next_cursor = page_of(rows, limit, lambda r: encode_cursor("videos", [r["created_at"].isoformat(),
                                                                              str(r["id"])]))
    return [_public(r, storage) for r in page], next_cursor


async def get_video(conn: AsyncConnection[DictRow], video_id: uuid.UUID,
                    storage: VideoStorage | None = None) -> VideoPublic:
    cur = await conn.execute(f"{_SELECT} where v.id = %s", (video_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound("video not found")
    return _public(row, storage)


async def delete_video(conn: AsyncConnection[DictRow], *, video_id: uuid.UUID, storage: VideoStorage) -> str:
    """Remove the record (steps, links and insights with it), then the blob and thumbnails.

    Runs inside the caller's transaction: if Storage fails, the delete rolls back and can be retried.
    Returns the orchestration instance id, for the caller to stop an analysis still running.
    """
    cur = await conn.execute("delete from videos where id = %s returning org_id, blob_name, instance_id",
                             (video_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound("video not found")
    await asyncio.to_thread(storage.delete_video, row["blob_name"], thumbnail_prefix(row["org_id"], video_id))
    return str(row["instance_id"])


def thumbnail_prefix(org_id: uuid.UUID, video_id: uuid.UUID) -> str:
    return f"{org_id}/{video_id}/"
