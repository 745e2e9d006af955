"""Fixtures for tests against the real database: a container, the ASGI app, and a two-tenant world."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from functions.http_api.app import create_app
from shared.bootstrap import Container, build_container
from shared.config import Settings
from shared.ports import InstanceAlreadyRunning, OrchestrationState, RuntimeStatus
from shared.secrets.local import LocalEncryptedSecretStore
from tests.support import JWT_SECRET, Tenant, build_tenant


class RecordingOrchestrations:
    """A fake of our own OrchestrationPort: records what the API asked for."""

    def __init__(self) -> None:
        self.started: dict[str, tuple[str, Any]] = {}
        self.terminated: list[str] = []

    async def start(self, name: str, input: Any, instance_id: str) -> str:
        if instance_id in self.started and instance_id not in self.terminated:
            raise InstanceAlreadyRunning(instance_id)
        self.started[instance_id] = (name, input)
        return instance_id

    async def status(self, instance_id: str) -> OrchestrationState | None:
        if instance_id not in self.started:
            return None
        return OrchestrationState(instance_id, self.started[instance_id][0], RuntimeStatus.RUNNING)

    async def raise_event(self, instance_id: str, event_name: str, data: Any = None) -> None:
        return None

    async def terminate(self, instance_id: str, reason: str) -> None:
        self.terminated.append(instance_id)


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        environment="test", database_url=database_url, supabase_jwt_secret=JWT_SECRET,
        local_secrets_path=Path(tmp_path_factory.mktemp("secrets")) / "secrets.enc",
        local_secrets_key=LocalEncryptedSecretStore.generate_key(), rate_limit_per_minute=100_000,
        max_body_bytes=64 * 1024,
    )


@pytest.fixture(scope="session")
async def container(settings: Settings) -> AsyncIterator[Container]:
    c = build_container(settings, orchestrations=RecordingOrchestrations())
    await c.start()
    yield c
    await c.stop()


@pytest.fixture(scope="session")
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(container)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


@pytest.fixture
def service_conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection as the table owner (RLS bypassed), committing as it goes: for arranging data."""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        yield conn


@pytest.fixture(scope="session")
def world(database_url: str) -> dict[str, Tenant]:
    """Two organizations that must never see each other's data."""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        return {"a": build_tenant(conn, "a"), "b": build_tenant(conn, "b", currency="USD")}
