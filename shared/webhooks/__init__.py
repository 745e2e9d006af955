"""Signed webhook deliveries: verified and recorded at the edge, applied later from the `webhooks` queue.

- signatures: HMAC checks over the raw body; inbox: record + dedupe + enqueue; payloads: JSON → records;
  apply: one delivery applied to the database, idempotently, in one transaction with its bookkeeping.
- Secrets live in the SecretStore: `shopify-app-secret` (and `shopify-app-secret-previous` during a
  rotation) for Shopify; `store-<store id>-webhook-secret` per WooCommerce store.
- The queue message is small JSON naming recorded rows: `{"delivery_ids": ["<webhook_deliveries.id>", …]}`
  (a batch the outbox gathered; message id derived from the ids) or `{"delivery_id": "…"}` (one row,
  message id = that id: the sweeper's re-sends of a failed batch member, and older messages).

The MessageBus port sends it: Azure Service Bus in Azure (`ServiceBusConnection` = `Endpoint=sb://…`),
and locally an Azurite storage queue in the envelope devhost's LocalBus reads (devhost/bus_messages.py).
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from shared.config import Settings
from shared.messaging import PerConnection, bus_connection

WEBHOOKS_QUEUE = "webhooks"
# Names of SecretStore entries, not secrets.
SHOPIFY_APP_SECRET = "shopify-app-secret"  # noqa: S105
SHOPIFY_APP_SECRET_PREVIOUS = "shopify-app-secret-previous"  # noqa: S105
_BATCH_NAMESPACE = uuid.UUID("6f1d3c1e-8a53-4a55-9f0e-3f5c2b9b7a10")


def woo_webhook_secret_name(store_id: uuid.UUID) -> str:
    return f"store-{store_id}-webhook-secret"


class MessageBus(Protocol):
    """Sends one message to a queue; `message_id` lets the broker drop a duplicate send."""

    def send(self, queue: str, body: str, message_id: str) -> None: ...


def encode_message(delivery_id: uuid.UUID) -> str:
    return json.dumps({"delivery_id": str(delivery_id)})


def encode_batch(delivery_ids: Sequence[uuid.UUID]) -> tuple[str, str]:
    """(body, message id) of one message naming several deliveries; the id is the same for the same ids,
    so Service Bus duplicate detection drops a re-sent batch."""
    if len(delivery_ids) == 1:
        return encode_message(delivery_ids[0]), str(delivery_ids[0])
    ids = [str(d) for d in delivery_ids]
    return json.dumps({"delivery_ids": ids}), str(uuid.uuid5(_BATCH_NAMESPACE, ",".join(ids)))


def decode_batch(body: bytes | str) -> list[uuid.UUID]:
    """The delivery ids a queue message names (one or many); ValueError for anything else (dead-lettered)."""
    data = json.loads(body)
    if isinstance(data, dict) and isinstance(data.get("delivery_ids"), list) and data["delivery_ids"]:
        return [uuid.UUID(str(d)) for d in data["delivery_ids"]]
    if isinstance(data, dict) and "delivery_id" in data:
        return [uuid.UUID(str(data["delivery_id"]))]
    raise ValueError("not a webhook delivery message")


def decode_message(body: bytes | str) -> uuid.UUID:
    """The delivery id of a single-delivery message; ValueError for anything else."""
    ids = decode_batch(body)
    if len(ids) != 1:
        raise ValueError("not a webhook delivery message")
    return ids[0]


class ServiceBusMessageBus:
    """Azure Service Bus (azure-servicebus, imported on first use); one client per process."""

    def __init__(self, connection_string: str) -> None:
        self._connection_string = connection_string
        self._client: Any = None
        self._lock = threading.Lock()

    def send(self, queue: str, body: str, message_id: str) -> None:
        from azure.servicebus import ServiceBusClient, ServiceBusMessage

        with self._lock:
            if self._client is None:
                self._client = ServiceBusClient.from_connection_string(self._connection_string)
            client = self._client
        with client.get_queue_sender(queue_name=queue) as sender:
            sender.send_messages(ServiceBusMessage(body, message_id=message_id, content_type="application/json"))


def storage_queue_name(entity: str) -> str:
    """The storage queue devhost serves a Service Bus queue from (devhost.bus_routes.storage_queue_name, for
    the short plain names used here; a test keeps the two equal)."""
    name = re.sub(r"[^a-z0-9]+", "-", entity.lower()).strip("-")
    if not 3 <= len(name) <= 54:
        raise ValueError(f"queue name {entity!r} needs devhost's shortening rule")
    return name


def envelope_text(body: str, message_id: str, *, now: datetime | None = None) -> str:
    """A Service Bus message as devhost's LocalBus stores it in a storage queue (bus_messages.Envelope)."""
    return json.dumps({
        "envelope": 1,
        "messageId": message_id,
        "body": base64.b64encode(body.encode()).decode("ascii"),
        "properties": {},
        "contentType": "application/json",
        "correlationId": None,
        "subject": None,
        "enqueuedTimeUtc": (now or datetime.now(UTC)).isoformat(),
    })


class StorageQueueMessageBus:
    """Local: Azurite storage queues (azure-storage-queue, imported on first use), LocalBus's envelope."""

    def __init__(self, connection_string: str) -> None:
        self._connection_string = connection_string
        self._service: Any = None
        self._lock = threading.Lock()

    def send(self, queue: str, body: str, message_id: str) -> None:
        from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
        from azure.storage.queue import QueueServiceClient

        with self._lock:
            if self._service is None:
                self._service = QueueServiceClient.from_connection_string(self._connection_string)
            service = self._service
        client = service.get_queue_client(storage_queue_name(queue))
        text = envelope_text(body, message_id)
        try:
            client.send_message(text)
        except ResourceNotFoundError:
            with contextlib.suppress(ResourceExistsError):
                client.create_queue()
            client.send_message(text)


_buses: PerConnection[MessageBus] = PerConnection(ServiceBusMessageBus, StorageQueueMessageBus)


def bus_for(settings: Settings) -> MessageBus:
    """The process's MessageBus for `settings` (Service Bus, or the storage account's queues locally)."""
    connection = bus_connection(settings)
    if not connection:
        raise RuntimeError("no ServiceBusConnection or AzureWebJobsStorage: webhooks cannot be queued")
    return _buses.get(connection)
