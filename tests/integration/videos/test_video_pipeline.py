"""Upload → blob trigger → video_analysis on the local durable engine → analyzed (or failed, with the reason).

Clips come from tests/video_clips.py; the blob trigger is served by devhost's BlobTriggerRunner and the
orchestration by devhost's LocalDurableEngine, both in-process, over a real Azurite and Postgres.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from azure.storage.blob import BlobServiceClient
from psycopg.rows import dict_row

import function_app
from devhost.durable import LocalDurableEngine
from shared.video import media
from shared.video.uploads import resume_unfinished_videos
from tests.support import Tenant
from tests.video_clips import make_clip, make_text_file, make_truncated

Trigger = Callable[[], Any]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clips") / "clip.mp4", duration_s=3.0, cuts_at=[1.0, 2.0])


async def _upload(
    api: httpx.AsyncClient, t: Tenant, path: Path, *, products: tuple[uuid.UUID, ...] = ()
) -> dict[str, Any]:
    data = await asyncio.to_thread(path.read_bytes)
    body = {
        "store_id": str(t.store_id),
        "filename": path.name,
        "content_type": "video/mp4",
        "size_bytes": len(data),
        "product_ids": [str(p) for p in products],
    }
    r = await api.post("/api/v1/videos", json=body, headers=t.member)
    assert r.status_code == 201, r.text
    ticket: dict[str, Any] = r.json()
    put = await asyncio.to_thread(httpx.put, ticket["upload_url"], content=data, headers=ticket["upload_headers"])
    assert put.status_code == 201, put.text
    return ticket


async def _wait(api: httpx.AsyncClient, t: Tenant, video_id: str, timeout: float = 90) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        body: dict[str, Any] = (await api.get(f"/api/v1/videos/{video_id}", headers=t.member)).json()
        if body["status"] in ("analyzed", "failed") or asyncio.get_running_loop().time() > deadline:
            return body
        await asyncio.sleep(0.1)


def _runs(database_url: str, video_id: str) -> dict[str, int]:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        rows = conn.execute("select step, runs from video_steps where video_id = %s", (video_id,)).fetchall()
    return {r["step"]: r["runs"] for r in rows}


async def test_an_uploaded_video_is_analyzed_with_insights_thumbnails_and_product_figures(
    engine_api: httpx.AsyncClient, trigger: Trigger, tenant: Tenant, clip: Path, database_url: str
) -> None:
    product = tenant.product_ids[0]  # three counting orders of it in the hours before the video
    ticket = await _upload(engine_api, tenant, clip, products=(product,))
    assert await trigger() == 1
    video = await _wait(engine_api, tenant, ticket["id"])

    assert video["status"] == "analyzed", video
    assert video["progress"] == 1 and video["failure_reason"] is None
    assert abs(video["probe"]["duration_s"] - 3.0) < 0.2
    insights = video["insights"]
    assert insights["measured_only"] is True and insights["scores"] and 0 <= insights["overall"] <= 100
    assert len(insights["cuts"]) == 2 and insights["pacing"]["mean_shot_s"] > 0
    [impact] = insights["products"]
    assert impact["product_id"] == str(product)
    assert (impact["before"]["units"], impact["before"]["net_sales"]) == (3, {"amount": "147.00", "currency": "EUR"})
    assert impact["after"]["units"] == 0 and impact["before"]["conversion_rate"] is None
    assert video["thumbnails"], "keyframes are stored as thumbnails"
    image = await asyncio.to_thread(httpx.get, video["thumbnails"][0]["url"])
    assert image.status_code == 200 and image.content[:2] == b"\xff\xd8"
    assert _runs(database_url, ticket["id"]) == {"probe": 1, "scan": 1, "transcript": 1, "vision": 1, "insights": 1}
    job = (await engine_api.get(f"/api/v1/jobs/{ticket['id']}", headers=tenant.member)).json()
    assert (job["kind"], job["status"], job["progress"]) == ("video", "analyzed", 1)


@pytest.mark.parametrize("broken", ["text", "truncated"])
async def test_an_upload_that_is_not_a_readable_video_fails_with_the_reason(
    engine_api: httpx.AsyncClient, trigger: Trigger, tenant: Tenant, clip: Path, tmp_path: Path, broken: str
) -> None:
    path = (
        make_text_file(tmp_path / "notes.mp4")
        if broken == "text"
        else make_truncated(clip, tmp_path / "cut.mp4", keep=0.4)
    )
    ticket = await _upload(engine_api, tenant, path)
    await trigger()
    video = await _wait(engine_api, tenant, ticket["id"])
    assert video["status"] == "failed", video
    assert video["failure_reason"]
    job = (await engine_api.get(f"/api/v1/jobs/{ticket['id']}", headers=tenant.member)).json()
    assert job["status"] == "failed" and job["errors"] == [{"message": video["failure_reason"]}]


async def test_a_stray_blob_is_ignored_and_a_reupload_starts_no_second_analysis(
    engine_api: httpx.AsyncClient,
    trigger: Trigger,
    tenant: Tenant,
    clip: Path,
    database_url: str,
    blobs: BlobServiceClient,
) -> None:
    blobs.get_blob_client("videos", f"{tenant.org_id}/{uuid.uuid4()}/stray.mp4").upload_blob(b"?")
    ticket = await _upload(engine_api, tenant, clip)
    assert await trigger() == 2  # both blobs handled; only the awaited one starts an analysis
    assert (await _wait(engine_api, tenant, ticket["id"]))["status"] == "analyzed"

    again = await asyncio.to_thread(
        httpx.put,
        ticket["upload_url"],
        content=await asyncio.to_thread(clip.read_bytes),
        headers=ticket["upload_headers"],
    )
    assert again.status_code == 201
    assert await trigger() == 1
    await asyncio.sleep(0.5)
    video = (await engine_api.get(f"/api/v1/videos/{ticket['id']}", headers=tenant.member)).json()
    assert video["status"] == "analyzed"
    assert _runs(database_url, ticket["id"]) == {"probe": 1, "scan": 1, "transcript": 1, "vision": 1, "insights": 1}


async def test_a_restarted_worker_resumes_without_repeating_finished_steps(
    engine_api: httpx.AsyncClient,
    engine: LocalDurableEngine,
    trigger: Trigger,
    tenant: Tenant,
    clip: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = {"probe": 0, "scan": 0}
    in_scan, release = threading.Event(), threading.Event()
    real_probe, real_scan = media.probe, media.scan_frames

    def probe(path: Path) -> Any:
        calls["probe"] += 1
        return real_probe(path)

    def scan_frames(path: Path, **kwargs: Any) -> Any:
        calls["scan"] += 1
        if calls["scan"] == 1:  # the worker dies in the middle of the first scan
            in_scan.set()
            release.wait(30)
            raise RuntimeError("worker process killed")
        return real_scan(path, **kwargs)

    monkeypatch.setattr(media, "probe", probe)
    monkeypatch.setattr(media, "scan_frames", scan_frames)
    ticket = await _upload(engine_api, tenant, clip)
    await trigger()
    assert await asyncio.to_thread(in_scan.wait, 60)
    stopping = threading.Thread(target=engine.stop)
    stopping.start()
    release.set()
    await asyncio.to_thread(stopping.join, 30)
    assert (await _wait(engine_api, tenant, ticket["id"], timeout=0))["status"] == "processing"

    with LocalDurableEngine(function_app.app) as restarted:
        db = engine_api.container.db  # type: ignore[attr-defined]
        assert await resume_unfinished_videos(db, restarted.client) == [f"video-{ticket['id']}"]
        video = await _wait(engine_api, tenant, ticket["id"])
    assert video["status"] == "analyzed", video
    assert calls == {"probe": 1, "scan": 2}
    assert _runs(database_url, ticket["id"]) == {"probe": 1, "scan": 2, "transcript": 1, "vision": 1, "insights": 1}


async def test_a_step_that_keeps_failing_ends_the_video_failed_with_the_error(
    engine_api: httpx.AsyncClient,
    trigger: Trigger,
    tenant: Tenant,
    clip: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken_scoring(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("scoring service exploded")

    monkeypatch.setattr(media, "score_video", broken_scoring)
    ticket = await _upload(engine_api, tenant, clip)
    await trigger()
    video = await _wait(engine_api, tenant, ticket["id"])
    assert video["status"] == "failed", video
    assert video["failure_reason"].startswith("the insights step failed after 3 attempts")
    assert "scoring service exploded" in video["failure_reason"]
    assert _runs(database_url, ticket["id"]) == {"probe": 1, "scan": 1, "transcript": 1, "vision": 1, "insights": 3}
