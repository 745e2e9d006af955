"""Small Protocols the services depend on; adapters live beside their domain or in devhost."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class RuntimeStatus(StrEnum):
    """Durable runtime states, named as Durable Functions names them."""

    PENDING = "Pending"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    TERMINATED = "Terminated"
    CONTINUED_AS_NEW = "ContinuedAsNew"


@dataclass(frozen=True)
class OrchestrationState:
    instance_id: str
    name: str
    runtime_status: RuntimeStatus
    custom_status: Any = None
    output: Any = None
    created_at: datetime | None = None
    last_updated_at: datetime | None = None
    failure: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class InstanceAlreadyRunning(Exception):
    """An orchestration with that instance id is pending or running."""

    def __init__(self, instance_id: str) -> None:
        super().__init__(f"orchestration {instance_id} is already running")
        self.instance_id = instance_id


class OrchestrationPort(Protocol):
    """Starts and steers durable orchestrations: the Durable client in Azure, durabletask in devhost."""

    async def start(self, name: str, input: Any, instance_id: str) -> str:
        """Start `name` under `instance_id`; raise InstanceAlreadyRunning if that id is live."""
        ...

    async def status(self, instance_id: str) -> OrchestrationState | None: ...

    async def raise_event(self, instance_id: str, event_name: str, data: Any = None) -> None: ...

    async def terminate(self, instance_id: str, reason: str) -> None: ...


class SecretNotFound(KeyError):
    """No secret under that name."""


class SecretStore(Protocol):
    """Where store credentials and webhook secrets live (Key Vault in Azure, an encrypted file locally)."""

    def get(self, name: str) -> str:
        """The secret's value; SecretNotFound when absent."""
        ...

    def set(self, name: str, value: str) -> None: ...

    def delete(self, name: str) -> None:
        """Remove the secret; no error when it is already gone."""
        ...
