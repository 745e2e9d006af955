"""Which messaging service a connection string names, and one adapter per connection string and process.

`Endpoint=sb://…` is Azure Service Bus; anything else is a storage account, whose queues stand in for the
bus locally (Azurite) — the same rule everywhere: the webhook bus, the dead-letter store, /ready.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from shared.config import Settings

T = TypeVar("T")


def is_service_bus(connection: str) -> bool:
    return connection.startswith("Endpoint=sb://")


def bus_connection(settings: Settings) -> str:
    """ServiceBusConnection when set, else the storage account (AzureWebJobsStorage); "" when neither is."""
    return settings.service_bus_connection or settings.storage_connection_string


class PerConnection(Generic[T]):
    """Builds the Service Bus or storage-queue adapter for a connection string once, then reuses it."""

    def __init__(self, service_bus: Callable[[str], T], storage_queues: Callable[[str], T]) -> None:
        self._service_bus = service_bus
        self._storage_queues = storage_queues
        self._built: dict[str, T] = {}
        self._lock = threading.Lock()

    def get(self, connection: str) -> T:
        with self._lock:
            if connection not in self._built:
                build = self._service_bus if is_service_bus(connection) else self._storage_queues
                self._built[connection] = build(connection)
            return self._built[connection]
