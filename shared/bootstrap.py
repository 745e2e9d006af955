"""The composition root: builds the process's clients once and hands them to whoever serves requests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shared.auth.tokens import TokenVerifier
from shared.config import Settings
from shared.db.pool import Database
from shared.messaging import bus_connection, is_service_bus
from shared.ports import OrchestrationPort, SecretStore
from shared.stores.clients import build_store_client
from shared.stores.connections import ClientFactory
from shared.video.storage import VideoStorage, build_video_storage

if TYPE_CHECKING:
    from shared.advice.language.client import LanguageModel

Probe = Callable[[], Awaitable[None]]


@dataclass
class Container:
    """Everything a request handler or trigger needs, built once per process."""

    settings: Settings
    db: Database
    secrets: SecretStore
    tokens: TokenVerifier
    orchestrations: OrchestrationPort
    # Builds a platform client for a connected store (tests hand in their own).
    store_clients: ClientFactory
    # Readiness checks by name ("database", "storage", "bus"); each raises when its dependency is down.
    probes: dict[str, Probe] = field(default_factory=dict)
    # The videos and thumbnails containers (None when no storage is configured).
    video_storage: VideoStorage | None = None
    # The language model (OpenAI or Azure OpenAI); None without a key: the offline advisor answers then.
    language_model: LanguageModel | None = None
    _started: bool = False
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def start(self) -> None:
        """Open pools; idempotent, so both ASGI lifespan and the Functions entry point may call it."""
        async with self._lock:
            if not self._started:
                await self.db.open()
                self._started = True

    async def stop(self) -> None:
        async with self._lock:
            if self._started:
                await self.db.close()
                self._started = False


def build_secret_store(settings: Settings) -> SecretStore:
    if settings.key_vault_url:
        from shared.secrets.keyvault import KeyVaultSecretStore

        return KeyVaultSecretStore(settings.key_vault_url)
    if settings.is_production:
        raise RuntimeError("KEY_VAULT_URL is required in production")
    from shared.secrets.local import LocalEncryptedSecretStore

    key = settings.local_secrets_key.get_secret_value()
    if not key:
        raise RuntimeError("LOCAL_SECRETS_KEY is not set (devhost creates one in .devhost/)")
    return LocalEncryptedSecretStore(settings.local_secrets_path, key)


def _storage_probe(connection_string: str) -> Probe:
    from azure.storage.blob import BlobServiceClient

    client = BlobServiceClient.from_connection_string(connection_string)

    async def probe() -> None:
        await asyncio.wait_for(asyncio.to_thread(client.get_service_properties), timeout=5)

    return probe


def _bus_probe(connection_string: str) -> Probe:
    if is_service_bus(connection_string):
        from azure.servicebus.management import ServiceBusAdministrationClient

        admin = ServiceBusAdministrationClient.from_connection_string(connection_string)

        async def sb_probe() -> None:
            await asyncio.wait_for(asyncio.to_thread(admin.get_namespace_properties), timeout=5)

        return sb_probe
    # Locally the bus is Azurite's queue service.
    from azure.storage.queue import QueueServiceClient

    queues = QueueServiceClient.from_connection_string(connection_string)

    async def queue_probe() -> None:
        await asyncio.wait_for(asyncio.to_thread(queues.get_service_properties), timeout=5)

    return queue_probe


def build_model(settings: Settings, db: Database) -> LanguageModel | None:
    """The language model client, when a key is configured (openai is imported only then)."""
    from shared.advice.language.client import build_language_model, is_configured

    if not is_configured(settings):
        return None
    from shared.advice.language.usage import DatabaseUsageRecorder

    return build_language_model(settings, usage=DatabaseUsageRecorder(db))


def build_container(settings: Settings, *, orchestrations: OrchestrationPort,
                    secrets: SecretStore | None = None, store_clients: ClientFactory | None = None) -> Container:
    db = Database(settings.database_url, min_size=settings.db_pool_min, max_size=settings.db_pool_max)
    tokens = TokenVerifier(
        hs256_secret=settings.supabase_jwt_secret.get_secret_value(), jwks_url=settings.supabase_jwks_url,
        audience=settings.jwt_audience, issuer=settings.jwt_issuer,
    )
    probes: dict[str, Probe] = {"database": db.ping}
    if settings.storage_connection_string:
        probes["storage"] = _storage_probe(settings.storage_connection_string)
    if bus_connection(settings):
        probes["bus"] = _bus_probe(bus_connection(settings))
    return Container(settings=settings, db=db, secrets=secrets or build_secret_store(settings), tokens=tokens,
                     orchestrations=orchestrations, store_clients=store_clients or build_store_client, probes=probes,
                     video_storage=build_video_storage(settings), language_model=build_model(settings, db))
