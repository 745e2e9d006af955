"""A video upload through the running devhost: POST /videos, PUT to Azurite, blob trigger, analysis, thumbnails."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_devhost import Devhost, _start, _stop
from tests.video_clips import make_clip

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devhost]:
    running = _start(tmp_path_factory.mktemp("devhost-videos") / "data")
    yield running
    if running.process.poll() is None:
        _stop(running)


def _until(fetch: Any, done: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def test_an_uploaded_video_is_analyzed_by_the_running_devhost(host: Devhost, tmp_path: Path) -> None:
    auth = {"Authorization": f"Bearer {host.token}"}
    stores = _until(lambda: httpx.get(f"{host.base}/api/v1/stores", headers=auth).json()["items"], bool, 60)
    clip = make_clip(tmp_path / "launch.mp4", duration_s=2.0, cuts_at=[1.0])
    data = clip.read_bytes()
    r = httpx.post(
        f"{host.base}/api/v1/videos",
        headers=auth,
        json={
            "store_id": stores[0]["id"],
            "filename": "launch.mp4",
            "content_type": "video/mp4",
            "size_bytes": len(data),
        },
    )
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert httpx.put(ticket["upload_url"], content=data, headers=ticket["upload_headers"]).status_code == 201

    video = _until(
        lambda: httpx.get(f"{host.base}/api/v1/videos/{ticket['id']}", headers=auth).json(),
        lambda v: v["status"] in ("analyzed", "failed"),
        90,
    )
    assert video["status"] == "analyzed", video
    assert video["insights"]["measured_only"] is True
    assert httpx.get(video["thumbnails"][0]["url"]).status_code == 200
    job = httpx.get(f"{host.base}/api/v1/jobs/{ticket['id']}", headers=auth).json()
    assert (job["kind"], job["status"]) == ("video", "analyzed")
    assert httpx.delete(f"{host.base}/api/v1/videos/{ticket['id']}", headers=auth).status_code == 204
