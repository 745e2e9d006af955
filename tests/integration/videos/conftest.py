"""Videos against a real Azurite and Postgres: an API whose container's storage is that Azurite.

`api` records orchestration starts (for the HTTP contract); `engine_api` runs video_analysis on devhost's
local durable engine, in-process, with the blob trigger served by devhost's BlobTriggerRunner.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from azure.storage.blob import BlobServiceClient
from psycopg.rows import dict_row

import function_app
from devhost.azurite import Azurite
from devhost.blobs import BlobTriggerRunner
from devhost.discovery import discover
from devhost.durable import LocalDurableEngine
from devhost.host import durable_client_args
from functions.http_api.app import create_app
from shared import runtime
from shared.bootstrap import Container, build_container
from shared.config import Settings
from tests.integration.conftest import RecordingOrchestrations
from tests.support import Tenant, build_tenant


@pytest.fixture(scope="session")
def azurite_connection_string(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    azurite = Azurite(Path(tmp_path_factory.mktemp("azurite-videos")))
    yield azurite.start()
    azurite.stop()


@pytest.fixture(scope="session")
def video_settings(settings: Settings, azurite_connection_string: str) -> Settings:
    return settings.model_copy(
        update={"storage_connection_string": azurite_connection_string, "service_bus_connection": ""}
    )


@pytest.fixture(scope="session")
def blobs(azurite_connection_string: str) -> BlobServiceClient:
    return BlobServiceClient.from_connection_string(azurite_connection_string)


async def _client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    await container.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(container)), base_url="http://test"
        ) as client:
            client.container = container  # type: ignore[attr-defined]  # for tests that reach the services
            yield client
    finally:
        await container.stop()


@pytest.fixture
async def api(video_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(build_container(video_settings, orchestrations=RecordingOrchestrations())):
        yield client


@pytest.fixture
def engine() -> Iterator[LocalDurableEngine]:
    with LocalDurableEngine(function_app.app) as e:
        yield e


@pytest.fixture
async def engine_api(video_settings: Settings, engine: LocalDurableEngine) -> AsyncIterator[httpx.AsyncClient]:
    container = build_container(video_settings, orchestrations=engine.client)
    runtime.install(container)
    async for client in _client(container):
        client.container = container  # type: ignore[attr-defined]
        yield client


@pytest.fixture
def trigger(azurite_connection_string: str, blobs: BlobServiceClient, tmp_path: Path) -> Iterator[Callable[[], Any]]:
    """One poll of the app's blob triggers, as devhost serves them; awaitable from async tests.

    The videos container starts empty, so a poll sees only the test's own uploads.
    """
    uploads = blobs.get_container_client("videos")
    if uploads.exists():
        for blob in list(uploads.list_blobs()):
            uploads.delete_blob(blob.name)
    runner = BlobTriggerRunner(
        discover(function_app.app),
        connection_string=azurite_connection_string,
        state_dir=tmp_path / "receipts",
        extra_args=durable_client_args,
    )

    async def poll() -> int:
        return await asyncio.to_thread(runner.poll_once)

    yield poll
    runner.stop()


@pytest.fixture
def tenant(database_url: str) -> Tenant:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        return build_tenant(conn, f"video-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def other_tenant(database_url: str) -> Tenant:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        return build_tenant(conn, f"video-other-{uuid.uuid4().hex[:6]}")
