"""Uploads that never arrived: past the URL's expiry + grace a video awaiting its upload is failed, or started when
its blob is there after all (a trigger that never fired). Real Postgres and Azurite."""

from __future__ import annotations

import asyncio
import base64
import uuid
from datetime import timedelta
from typing import Any

import httpx
import psycopg
import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient
from psycopg.rows import dict_row

import function_app
from devhost.blobs import BlobTriggerRunner
from devhost.discovery import discover
from devhost.host import durable_client_args
from devhost.runners import call_function
from shared import runtime
from shared.video.uploads import UPLOAD_EXPIRED, UPLOAD_GRACE, expire_overdue_uploads
from tests.support import Tenant


async def _register(api: httpx.AsyncClient, t: Tenant, *, age: timedelta, database_url: str) -> dict[str, Any]:
    body = {"store_id": str(t.store_id), "filename": "late.mp4", "content_type": "video/mp4", "size_bytes": 1000}
    r = await api.post("/api/v1/videos", json=body, headers=t.member)
    assert r.status_code == 201, r.text
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("update videos set created_at = now() - %s where id = %s", (age, r.json()["id"]))
    ticket: dict[str, Any] = r.json()
    return ticket


def _video(database_url: str, video_id: str) -> dict[str, Any]:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        row = conn.execute("select status, failure_reason, finished_at, instance_id from videos where id = %s",
                           (video_id,)).fetchone()
    assert row is not None
    return row


def _blob_name(upload_url: str) -> str:
    return upload_url.split("?", 1)[0].split("/videos/", 1)[1]


OVERDUE = timedelta(minutes=15) + UPLOAD_GRACE + timedelta(minutes=1)


async def test_an_upload_that_never_arrived_fails_once_its_url_expired_and_the_grace_passed(
    api: httpx.AsyncClient, tenant: Tenant, database_url: str
) -> None:
    c = api.container  # type: ignore[attr-defined]
    late = await _register(api, tenant, age=OVERDUE, database_url=database_url)
    in_grace = await _register(api, tenant, age=timedelta(minutes=20), database_url=database_url)

    sweep = await expire_overdue_uploads(c.db, c.video_storage, c.orchestrations)

    assert uuid.UUID(late["id"]) in sweep.failed and uuid.UUID(in_grace["id"]) not in sweep.failed
    failed = _video(database_url, late["id"])
    assert failed["status"] == "failed" and failed["failure_reason"] == UPLOAD_EXPIRED
    assert failed["finished_at"] is not None
    assert _video(database_url, in_grace["id"])["status"] == "awaiting_upload"  # its PUT may still be running
    body = (await api.get(f"/api/v1/videos/{late['id']}", headers=tenant.member)).json()
    assert body["status"] == "failed" and body["failure_reason"] == UPLOAD_EXPIRED

    again = await expire_overdue_uploads(c.db, c.video_storage, c.orchestrations)  # idempotent
    assert uuid.UUID(late["id"]) not in again.failed and not again.started
    assert _video(database_url, late["id"])["failure_reason"] == UPLOAD_EXPIRED
    assert f"video-{late['id']}" not in c.orchestrations.started


async def test_staged_blocks_that_were_never_committed_are_no_upload(
    api: httpx.AsyncClient, tenant: Tenant, database_url: str, blobs: BlobServiceClient
) -> None:
    c = api.container  # type: ignore[attr-defined]
    ticket = await _register(api, tenant, age=OVERDUE, database_url=database_url)
    blob = blobs.get_blob_client("videos", _blob_name(ticket["upload_url"]))
    await asyncio.to_thread(blob.stage_block, base64.b64encode(b"block-0").decode(), b"half a video")
    with pytest.raises(ResourceNotFoundError):
        await asyncio.to_thread(blob.get_blob_properties)  # staged blocks are not a blob

    sweep = await expire_overdue_uploads(c.db, c.video_storage, c.orchestrations)

    assert uuid.UUID(ticket["id"]) in sweep.failed
    assert _video(database_url, ticket["id"])["failure_reason"] == UPLOAD_EXPIRED
    assert f"video-{ticket['id']}" not in c.orchestrations.started


async def test_an_overdue_video_whose_blob_is_there_is_started_instead(
    api: httpx.AsyncClient, tenant: Tenant, database_url: str
) -> None:
    c = api.container  # type: ignore[attr-defined]
    fresh = (await api.post("/api/v1/videos", headers=tenant.member, json={
        "store_id": str(tenant.store_id), "filename": "late.mp4", "content_type": "video/mp4", "size_bytes": 4})).json()
    put = await asyncio.to_thread(httpx.put, fresh["upload_url"], content=b"data", headers=fresh["upload_headers"])
    assert put.status_code == 201, put.text  # uploaded in time, but its trigger never fired
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("update videos set created_at = now() - %s where id = %s", (OVERDUE, fresh["id"]))

    sweep = await expire_overdue_uploads(c.db, c.video_storage, c.orchestrations)

    instance = f"video-{fresh['id']}"
    assert instance in sweep.started and uuid.UUID(fresh["id"]) not in sweep.failed
    assert c.orchestrations.started[instance] == ("video_analysis", {"video_id": fresh["id"]})
    assert _video(database_url, fresh["id"])["status"] == "processing"
    again = await expire_overdue_uploads(c.db, c.video_storage, c.orchestrations)
    assert instance not in again.started


async def test_the_resume_timer_runs_the_sweep(
    api: httpx.AsyncClient, tenant: Tenant, database_url: str
) -> None:
    c = api.container  # type: ignore[attr-defined]
    late = await _register(api, tenant, age=OVERDUE, database_url=database_url)
    timer = next(fn for fn in discover(function_app.app) if fn.name == "resume_video_analyses")
    runtime.install(c)
    await asyncio.to_thread(call_function, timer, object(), durable_client_args)
    assert _video(database_url, late["id"])["status"] == "failed"


def test_the_upload_trigger_takes_event_grid_events_in_azure_and_is_still_polled_locally(
    azurite_connection_string: str, tmp_path: Any
) -> None:
    functions = discover(function_app.app)
    uploaded = next(fn for fn in functions if fn.name == "video_uploaded")
    assert uploaded.trigger["source"] == "EventGrid" and uploaded.trigger["path"] == "videos/{name}"
    runner = BlobTriggerRunner(functions, connection_string=azurite_connection_string, state_dir=tmp_path)
    try:
        assert runner.names == ["video_uploaded"]  # test_video_pipeline uploads through it end to end
    finally:
        runner.stop()
