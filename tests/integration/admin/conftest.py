"""A real Azurite and an API client whose container's storage account is that Azurite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from devhost.azurite import Azurite
from functions.http_api.app import create_app
from shared.bootstrap import build_container
from shared.config import Settings
from tests.integration.conftest import RecordingOrchestrations


@pytest.fixture(scope="session")
def azurite_connection_string(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    azurite = Azurite(Path(tmp_path_factory.mktemp("azurite-admin")))
    yield azurite.start()
    azurite.stop()


@pytest.fixture(scope="session")
async def bus_client(settings: Settings, azurite_connection_string: str) -> AsyncIterator[httpx.AsyncClient]:
    bus_settings = settings.model_copy(update={"storage_connection_string": azurite_connection_string,
                                               "service_bus_connection": ""})
    container = build_container(bus_settings, orchestrations=RecordingOrchestrations())
    app = create_app(container)
    await container.start()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            yield c
    finally:
        await container.stop()
