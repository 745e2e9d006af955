"""POST /videos/{id}/reanalyze: which stored steps it clears, the new instance id, who may, and when it conflicts."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from shared.video.reanalysis import next_instance_id
from tests.support import Tenant

ALL_STEPS = ("probe", "scan", "transcript", "vision", "insights")




async def _finished_video(api: httpx.AsyncClient, t: Tenant, database_url: str, status: str = "analyzed") -> str:
    body = {"store_id": str(t.store_id), "filename": "v.mp4", "content_type": "video/mp4", "size_bytes": 1000}
    r = await api.post("/api/v1/videos", json=body, headers=t.member)
    assert r.status_code == 201, r.text
    video_id: str = r.json()["id"]
    with psycopg.connect(database_url, autocommit=True) as conn:
        for step in ALL_STEPS:
            conn.execute("insert into video_steps (video_id, org_id, step, runs, result, finished_at) "
                         "values (%s, %s, %s, 1, %s, now())", (video_id, t.org_id, step, Jsonb({"status": "failed"})))
        conn.execute("update videos set status = %s, progress = 1, insights = %s, failure_reason = %s, "
                     "analyzed_at = now(), finished_at = now() where id = %s",
                     (status, Jsonb({"overall": 50}), "boom" if status == "failed" else None, video_id))
    return video_id


def _state(database_url: str, video_id: str) -> tuple[dict[str, Any], set[str]]:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        video = conn.execute("select * from videos where id = %s", (video_id,)).fetchone()
        steps = {r["step"] for r in conn.execute("select step from video_steps where video_id = %s",
                                                  (video_id,)).fetchall()}
    assert video is not None
    return video, steps


def _set_status(database_url: str, video_id: str, status: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("update videos set status = %s where id = %s", (status, video_id))


@pytest.mark.parametrize(("from_step", "kept"), [
    (None, {"probe", "scan"}),
    ("transcript", {"probe", "scan"}),
    ("vision", {"probe", "scan", "transcript"}),
    ("insights", {"probe", "scan", "transcript", "vision"}),
])
async def test_reanalyze_clears_the_steps_from_the_given_one_and_starts_a_new_instance(
    api: httpx.AsyncClient, tenant: Tenant, database_url: str, from_step: str | None, kept: set[str]
) -> None:
    video_id = await _finished_video(api, tenant, database_url)
    body = None if from_step is None else {"from_step": from_step}
    r = await api.post(f"/api/v1/videos/{video_id}/reanalyze", json=body, headers=tenant.member)
    assert r.status_code == 202, r.text
    assert r.headers["Location"] == f"/api/v1/videos/{video_id}"
    assert r.json()["status"] == "processing" and r.json()["insights"] is None
    video, steps = _state(database_url, video_id)
    assert steps == kept
    assert video["instance_id"] == f"video-{video_id}-r1" and video["finished_at"] is None
    assert video["progress"] < 1
    orchestrations = api.container.orchestrations  # type: ignore[attr-defined]
    assert orchestrations.started[f"video-{video_id}-r1"] == ("video_analysis", {"video_id": video_id})


async def test_reanalyze_conflicts_while_processing_or_awaiting_upload_and_counts_up_after(
    api: httpx.AsyncClient, tenant: Tenant, database_url: str
) -> None:
    video_id = await _finished_video(api, tenant, database_url, status="failed")
    url = f"/api/v1/videos/{video_id}/reanalyze"
    assert (await api.post(url, headers=tenant.member)).status_code == 202
    busy = await api.post(url, headers=tenant.member)  # now processing
    assert busy.status_code == 409 and "processing" in busy.json()["detail"]
    _set_status(database_url, video_id, "analyzed")
    assert (await api.post(url, json={"from_step": "insights"}, headers=tenant.member)).status_code == 202
    assert _state(database_url, video_id)[0]["instance_id"] == f"video-{video_id}-r2"

    waiting = (await api.post("/api/v1/videos", headers=tenant.member, json={
        "store_id": str(tenant.store_id), "filename": "w.mp4", "content_type": "video/mp4", "size_bytes": 9})).json()
    r = await api.post(f"/api/v1/videos/{waiting['id']}/reanalyze", headers=tenant.member)
    assert r.status_code == 409 and "awaiting upload" in r.json()["detail"]


async def test_reanalyze_is_404_for_another_org_and_422_for_an_unknown_step(
    api: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, database_url: str
) -> None:
    video_id = await _finished_video(api, tenant, database_url)
    foreign = await api.post(f"/api/v1/videos/{video_id}/reanalyze", headers=other_tenant.member)
    assert foreign.status_code == 404
    assert (await api.post(f"/api/v1/videos/{uuid.uuid4()}/reanalyze", headers=tenant.member)).status_code == 404
    bad = await api.post(f"/api/v1/videos/{video_id}/reanalyze", json={"from_step": "probe"},
                               headers=tenant.member)
    assert bad.status_code == 422
    video, steps = _state(database_url, video_id)
    assert video["status"] == "analyzed" and steps == set(ALL_STEPS)  # refused requests change nothing


def test_instance_ids_count_reanalyses() -> None:
    vid = uuid.uuid4()
    assert next_instance_id(vid, f"video-{vid}") == f"video-{vid}-r1"
    assert next_instance_id(vid, f"video-{vid}-r9") == f"video-{vid}-r10"
