"""POST/GET/DELETE /videos and GET /jobs/{id} for videos: validation, tenancy, SAS scope, deletion."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import psycopg
import pytest
from azure.storage.blob import BlobServiceClient
from psycopg.rows import dict_row

from tests.support import Tenant


def _body(t: Tenant, **over: Any) -> dict[str, Any]:
    return {
        "store_id": str(t.store_id),
        "filename": "Spring lookbook (final).mp4",
        "content_type": "video/mp4",
        "size_bytes": 1_000_000,
        **over,
    }


def _video_count(database_url: str, t: Tenant) -> int:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        row = conn.execute("select count(*) as n from videos where org_id = %s", (t.org_id,)).fetchone()
        return int(row["n"]) if row else 0


async def test_creating_a_video_records_it_and_returns_a_write_only_upload_url(
    api: httpx.AsyncClient, tenant: Tenant, database_url: str
) -> None:
    r = await api.post(
        "/api/v1/videos", json=_body(tenant, product_ids=[str(tenant.product_ids[0])]), headers=tenant.member
    )
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert {"id", "upload_url", "expires_at"} <= ticket.keys()
    assert f"/videos/{tenant.org_id}/{ticket['id']}/Spring-lookbook-final.mp4?" in ticket["upload_url"]
    assert "sp=cw" in ticket["upload_url"]
    assert ticket["upload_headers"]["x-ms-blob-type"] == "BlockBlob"
    video = (await api.get(f"/api/v1/videos/{ticket['id']}", headers=tenant.member)).json()
    assert video["status"] == "awaiting_upload" and video["progress"] == 0
    assert video["product_ids"] == [str(tenant.product_ids[0])]
    assert video["filename"] == "Spring lookbook (final).mp4"


@pytest.mark.parametrize(
    ("over", "status", "needle"),
    [
        ({"content_type": "video/x-msvideo"}, 422, "content_type"),
        ({"content_type": "text/plain"}, 422, "content_type"),
        ({"size_bytes": 600 * 1024 * 1024}, 413, "the limit is"),
        ({"size_bytes": 0}, 422, "size_bytes"),
        ({"filename": ""}, 422, "filename"),
    ],
)
async def test_bad_uploads_are_refused_and_nothing_is_stored(
    api: httpx.AsyncClient, tenant: Tenant, database_url: str, over: dict[str, Any], status: int, needle: str
) -> None:
    r = await api.post("/api/v1/videos", json=_body(tenant, **over), headers=tenant.member)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert needle in r.text
    assert _video_count(database_url, tenant) == 0


async def test_another_orgs_store_is_404_and_unknown_products_are_named(
    api: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, database_url: str
) -> None:
    foreign = await api.post("/api/v1/videos", json=_body(other_tenant), headers=tenant.member)
    assert foreign.status_code == 404
    unknown = uuid.uuid4()
    bad = await api.post(
        "/api/v1/videos",
        headers=tenant.member,
        json=_body(tenant, product_ids=[str(tenant.product_ids[1]), str(unknown), str(other_tenant.product_ids[0])]),
    )
    assert bad.status_code == 422
    problem = bad.json()
    assert str(unknown) in problem["detail"] and str(other_tenant.product_ids[0]) in problem["detail"]
    assert [e["loc"] for e in problem["errors"]] == [["body", "product_ids", "1"], ["body", "product_ids", "2"]]
    assert _video_count(database_url, tenant) == 0 and _video_count(database_url, other_tenant) == 0


async def test_another_orgs_video_does_not_exist(api: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant) -> None:
    video_id = (await api.post("/api/v1/videos", json=_body(tenant), headers=tenant.member)).json()["id"]
    for method in ("GET", "DELETE"):
        r = await api.request(method, f"/api/v1/videos/{video_id}", headers=other_tenant.admin)
        assert r.status_code == 404
    assert (await api.get(f"/api/v1/jobs/{video_id}", headers=other_tenant.member)).status_code == 404
    listed = (await api.get("/api/v1/videos", headers=other_tenant.member)).json()["items"]
    assert video_id not in [v["id"] for v in listed]


async def test_videos_list_newest_first_with_filters_and_cursor(api: httpx.AsyncClient, tenant: Tenant) -> None:
    ids = [
        (await api.post("/api/v1/videos", json=_body(tenant, filename=f"clip-{i}.mp4"), headers=tenant.member)).json()[
            "id"
        ]
        for i in range(3)
    ]
    first = (
        await api.get("/api/v1/videos", params={"limit": 2, "store_id": str(tenant.store_id)}, headers=tenant.member)
    ).json()
    second = (
        await api.get(
            "/api/v1/videos",
            params={"limit": 2, "cursor": first["next_cursor"], "store_id": str(tenant.store_id)},
            headers=tenant.member,
        )
    ).json()
    assert [v["id"] for v in first["items"] + second["items"]] == ids[::-1]
    assert second["next_cursor"] is None
    none = (
        await api.get(
            "/api/v1/videos", params={"status": "analyzed", "store_id": str(tenant.store_id)}, headers=tenant.member
        )
    ).json()
    assert none["items"] == []


async def test_the_job_of_a_video_shows_its_status_and_progress(api: httpx.AsyncClient, tenant: Tenant) -> None:
    video_id = (await api.post("/api/v1/videos", json=_body(tenant), headers=tenant.member)).json()["id"]
    job = (await api.get(f"/api/v1/jobs/{video_id}", headers=tenant.member)).json()
    assert job["kind"] == "video" and job["status"] == "awaiting_upload" and job["progress"] == 0
    assert job["resource_url"] == f"/api/v1/videos/{video_id}"
    assert (await api.get(f"/api/v1/jobs/{uuid.uuid4()}", headers=tenant.member)).status_code == 404


def test_the_upload_url_writes_its_own_blob_only_and_cannot_read(
    api_ticket: dict[str, Any], blobs: BlobServiceClient
) -> None:
    url, headers = api_ticket["upload_url"], api_ticket["upload_headers"]
    assert httpx.put(url, content=b"\x00\x00\x00\x18ftypmp42", headers=headers).status_code == 201
    assert httpx.get(url).status_code == 403
    path, query = url.split("?", 1)
    other = path.rsplit("/", 1)[0] + "/other.mp4?" + query
    assert httpx.put(other, content=b"x", headers=headers).status_code == 403
    assert httpx.get(other).status_code == 403
    blob_path = path.split("/videos/", 1)[1]
    assert blobs.get_blob_client("videos", blob_path).download_blob().readall().endswith(b"ftypmp42")


@pytest.fixture
async def api_ticket(api: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    r = await api.post("/api/v1/videos", json=_body(tenant), headers=tenant.member)
    ticket: dict[str, Any] = r.json()
    return ticket


async def test_deleting_a_video_removes_its_blob_thumbnails_and_record(
    api: httpx.AsyncClient, tenant: Tenant, blobs: BlobServiceClient, database_url: str
) -> None:
    ticket = (await api.post("/api/v1/videos", json=_body(tenant), headers=tenant.member)).json()
    put = await asyncio.to_thread(httpx.put, ticket["upload_url"], content=b"video", headers=ticket["upload_headers"])
    assert put.status_code == 201
    blob_name = ticket["upload_url"].split("?")[0].split("/videos/", 1)[1]
    thumbs = blobs.get_container_client("video-thumbnails")
    if not thumbs.exists():
        thumbs.create_container()
    thumbs.upload_blob(f"{tenant.org_id}/{ticket['id']}/keyframe-00.jpg", b"jpeg", overwrite=True)

    r = await api.delete(f"/api/v1/videos/{ticket['id']}", headers=tenant.member)
    assert r.status_code == 204
    assert not blobs.get_blob_client("videos", blob_name).exists()
    assert list(thumbs.list_blobs(name_starts_with=f"{tenant.org_id}/{ticket['id']}/")) == []
    assert (await api.get(f"/api/v1/videos/{ticket['id']}", headers=tenant.member)).status_code == 404
    assert _video_count(database_url, tenant) == 0
