"""The OrchestrationPort in Azure: the Durable client binding of the current HTTP invocation."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

import azure.durable_functions as df

from shared.ports import InstanceAlreadyRunning, OrchestrationState, RuntimeStatus

current_client: contextvars.ContextVar[df.DurableOrchestrationClient] = contextvars.ContextVar("durable_client")


@contextlib.contextmanager
def bound_client(client: df.DurableOrchestrationClient | None) -> Iterator[None]:
    """Make an invocation's Durable client binding the one the OrchestrationPort uses (None: devhost's engine)."""
    if client is None:
        yield
        return
    token = current_client.set(client)
    try:
        yield
    finally:
        current_client.reset(token)


_LIVE = (df.OrchestrationRuntimeStatus.Pending, df.OrchestrationRuntimeStatus.Running)


class DurableClientOrchestrations:
    """Each HTTP invocation gets its own client binding; the entry point puts it in `current_client`."""

    @staticmethod
    def _client() -> df.DurableOrchestrationClient:
        try:
            return current_client.get()
        except LookupError:
            raise RuntimeError("no Durable client bound to this invocation") from None

    async def start(self, name: str, input: Any, instance_id: str) -> str:
        client = self._client()
        existing = await client.get_status(instance_id)
        if existing is not None and existing.runtime_status in _LIVE:
            raise InstanceAlreadyRunning(instance_id)
        started: str = await client.start_new(name, instance_id, input)
        return started

    async def status(self, instance_id: str) -> OrchestrationState | None:
        state = await self._client().get_status(instance_id)
        if state is None or state.runtime_status is None:
            return None
        return OrchestrationState(
            instance_id=instance_id, name=state.name or "", runtime_status=RuntimeStatus(state.runtime_status.value),
            custom_status=state.custom_status, output=state.output, created_at=state.created_time,
            last_updated_at=state.last_updated_time,
        )

    async def raise_event(self, instance_id: str, event_name: str, data: Any = None) -> None:
        await self._client().raise_event(instance_id, event_name, data)

    async def terminate(self, instance_id: str, reason: str) -> None:
        await self._client().terminate(instance_id, reason)
