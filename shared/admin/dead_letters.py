"""Dead-lettered messages of a queue, and their replay, behind one small port.

- Azure Service Bus (`ServiceBusConnection` = `Endpoint=sb://…`): the queue's dead-letter sub-queue
  (`ServiceBusSubQueue.DEAD_LETTER`); listing peeks (paged by sequence number), replay receives the
  message in peek-lock, sends a copy to the queue and completes the dead letter.
- Locally (any other connection string: the storage account, Azurite): devhost's LocalBus keeps
  `<queue>-deadletter` storage queues of JSON records `{"deadLetterSource", "messageId",
  "deadLetterReason", "deadLetterErrorDescription", "deliveryCount", "deadLetteredAtUtc", "message"}`
  where `message` is the original stored text (the envelope of shared.webhooks.envelope_text). Listing
  peeks (storage queues peek at most 32 messages, so there is no next page); replay writes `message`
  back to the queue and deletes the record.

The calls are blocking SDK calls: the HTTP layer runs them in a worker thread.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from shared.config import Settings
from shared.errors import ServiceUnavailable
from shared.messaging import PerConnection, bus_connection
from shared.webhooks import storage_queue_name

DEAD_LETTER_SUFFIX = "-deadletter"
STORAGE_PEEK_MAX = 32  # the storage queue service's limit for one peek
_SERVICE_BUS_SCAN_MAX = 5000  # dead letters a replay looks through for the one asked for
_RECEIVE_WAIT_SECONDS = 5


@dataclass(frozen=True)
class DeadLetterMessage:
    """One dead-lettered message: which, why, after how many deliveries, and its original body."""

    message_id: str
    queue: str
    reason: str | None
    error_description: str | None
    delivery_count: int | None
    enqueued_at: datetime | None
    dead_lettered_at: datetime | None
    content_type: str | None
    body: str


@dataclass(frozen=True)
class DeadLetterPage:
    items: list[DeadLetterMessage]
    # Where the next page starts (Service Bus sequence number); None when there is no next page.
    next_sequence_number: int | None = None


class DeadLetterStore(Protocol):
    """Lists and replays the dead letters of a queue."""

    def peek(self, queue: str, limit: int, from_sequence_number: int | None = None) -> DeadLetterPage: ...

    def replay(self, queue: str, message_id: str) -> int:
        """Put the dead letters with `message_id` back on their queue; how many were replayed (0: none)."""
        ...


def _text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


# Local: storage queues in devhost's LocalBus format ------------------------------------------------------


def decode_storage_dead_letter(text: str, queue: str) -> DeadLetterMessage:
    """A record of `<queue>-deadletter`; text that is no such record is shown as it is."""
    try:
        record = json.loads(text)
    except ValueError:
        record = None
    if not isinstance(record, dict) or "message" not in record:
        return DeadLetterMessage(message_id="", queue=queue, reason=None, error_description=None,
                                 delivery_count=None, enqueued_at=None, dead_lettered_at=None,
                                 content_type=None, body=text)
    original = str(record["message"])
    body, content_type, enqueued_at = _decode_original(original)
    count = record.get("deliveryCount")
    return DeadLetterMessage(
        message_id=str(record.get("messageId") or ""),
        queue=str(record.get("deadLetterSource") or queue),
        reason=record.get("deadLetterReason"),
        error_description=record.get("deadLetterErrorDescription"),
        delivery_count=count if isinstance(count, int) else None,
        enqueued_at=enqueued_at,
        dead_lettered_at=_parse_time(record.get("deadLetteredAtUtc")),
        content_type=content_type,
        body=body,
    )


def _decode_original(original: str) -> tuple[str, str | None, datetime | None]:
    """(body, content type, enqueued time) of the original message: a Service Bus envelope, or the base64
    text of a storage-queue trigger message, or plain text."""
    try:
        envelope = json.loads(original)
    except ValueError:
        envelope = None
    if isinstance(envelope, dict) and envelope.get("envelope") == 1:
        try:
            body = base64.b64decode(str(envelope.get("body", "")), validate=True)
        except (binascii.Error, ValueError):
            body = str(envelope.get("body", "")).encode()
        return _text(body), envelope.get("contentType"), _parse_time(envelope.get("enqueuedTimeUtc"))
    try:
        return _text(base64.b64decode(original, validate=True)), None, None
    except (binascii.Error, ValueError):
        return original, None, None


class StorageQueueDeadLetterStore:
    """Dead letters of devhost's LocalBus in storage queues (azure-storage-queue)."""

    def __init__(self, connection_string: str) -> None:
        from azure.storage.queue import QueueServiceClient

        self._service = QueueServiceClient.from_connection_string(connection_string)

    def peek(self, queue: str, limit: int, from_sequence_number: int | None = None) -> DeadLetterPage:
        from azure.core.exceptions import ResourceNotFoundError

        name = storage_queue_name(queue)
        client = self._service.get_queue_client(name + DEAD_LETTER_SUFFIX)
        try:
            stored = client.peek_messages(max_messages=min(limit, STORAGE_PEEK_MAX))
        except ResourceNotFoundError:
            return DeadLetterPage([])
        return DeadLetterPage([decode_storage_dead_letter(str(m.content), queue) for m in stored])

    def replay(self, queue: str, message_id: str) -> int:
        from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

        name = storage_queue_name(queue)
        dead = self._service.get_queue_client(name + DEAD_LETTER_SUFFIX)
        target = self._service.get_queue_client(name)
        replayed, skipped = 0, []
        try:
            while True:
                # Received messages stay hidden for the visibility timeout, so each is seen once here.
                pages = dead.receive_messages(messages_per_page=32, max_messages=32, visibility_timeout=30)
                page = list(next(pages.by_page(), []))
                if not page:
                    break
                for stored in page:
                    letter = _record(str(stored.content))
                    if letter is None or str(letter.get("messageId")) != message_id:
                        skipped.append(stored)
                        continue
                    original = str(letter["message"])
                    try:
                        target.send_message(original)
                    except ResourceNotFoundError:
                        with contextlib.suppress(ResourceExistsError):
                            target.create_queue()
                        target.send_message(original)
                    # Sent before the delete: a failure in between leaves a duplicate, never a loss.
                    dead.delete_message(stored)
                    replayed += 1
        except ResourceNotFoundError:
            return 0
        finally:
            for stored in skipped:
                with contextlib.suppress(ResourceNotFoundError):
                    dead.update_message(stored, visibility_timeout=0)
        return replayed


def _record(text: str) -> dict[str, Any] | None:
    try:
        record = json.loads(text)
    except ValueError:
        return None
    return record if isinstance(record, dict) and "message" in record else None


# Azure Service Bus ---------------------------------------------------------------------------------------


def _service_bus_body(message: Any) -> bytes:
    body = message.body
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode()
    try:
        return b"".join(bytes(part) for part in body)
    except TypeError:
        return str(message).encode()


class ServiceBusDeadLetterStore:
    """A Service Bus queue's dead-letter sub-queue (azure-servicebus)."""

    def __init__(self, connection_string: str) -> None:
        from azure.servicebus import ServiceBusClient

        self._client = ServiceBusClient.from_connection_string(connection_string)
        self._lock = threading.Lock()  # one AMQP connection, used by one request at a time

    def peek(self, queue: str, limit: int, from_sequence_number: int | None = None) -> DeadLetterPage:
        from azure.servicebus import ServiceBusSubQueue

        messages: list[Any] = []
        sequence = from_sequence_number or 0
        with self._lock, self._client.get_queue_receiver(
            queue_name=queue, sub_queue=ServiceBusSubQueue.DEAD_LETTER
        ) as receiver:
            # A peek may return fewer messages than asked for although more exist: peek until one more
            # than the page is known, or the sub-queue has nothing after the last one.
            while len(messages) <= limit:
                batch = receiver.peek_messages(max_message_count=limit + 1 - len(messages), sequence_number=sequence)
                if not batch:
                    break
                messages.extend(batch)
                sequence = (batch[-1].sequence_number or sequence) + 1
        page = messages[:limit]
        more = len(messages) > limit
        items = [
            DeadLetterMessage(
                message_id=str(m.message_id),
                queue=queue,
                reason=m.dead_letter_reason,
                error_description=m.dead_letter_error_description,
                delivery_count=m.delivery_count,
                enqueued_at=m.enqueued_time_utc,
                dead_lettered_at=None,
                content_type=m.content_type,
                body=_text(_service_bus_body(m)),
            )
            for m in page
        ]
        next_sequence = (page[-1].sequence_number or 0) + 1 if more and page else None
        return DeadLetterPage(items, next_sequence)

    def replay(self, queue: str, message_id: str) -> int:
        from azure.servicebus import ServiceBusMessage, ServiceBusReceiveMode, ServiceBusSubQueue

        replayed, scanned = 0, 0
        held: list[Any] = []
        with self._lock, self._client.get_queue_receiver(
            queue_name=queue, sub_queue=ServiceBusSubQueue.DEAD_LETTER,
            receive_mode=ServiceBusReceiveMode.PEEK_LOCK,
        ) as receiver, self._client.get_queue_sender(queue_name=queue) as sender:
            try:
                while scanned < _SERVICE_BUS_SCAN_MAX:
                    batch = receiver.receive_messages(max_message_count=100, max_wait_time=_RECEIVE_WAIT_SECONDS)
                    if not batch:
                        break
                    scanned += len(batch)
                    for message in batch:
                        if str(message.message_id) != message_id:
                            held.append(message)  # stays locked, so the scan does not meet it again
                            continue
                        sender.send_messages(ServiceBusMessage(
                            _service_bus_body(message), message_id=message.message_id,
                            content_type=message.content_type, correlation_id=message.correlation_id,
                            subject=message.subject,
                            application_properties=message.application_properties,
                        ))
                        receiver.complete_message(message)
                        replayed += 1
            finally:
                for message in held:
                    with contextlib.suppress(Exception):
                        receiver.abandon_message(message)
        return replayed


# Choosing the store --------------------------------------------------------------------------------------

_stores: PerConnection[DeadLetterStore] = PerConnection(ServiceBusDeadLetterStore, StorageQueueDeadLetterStore)


def dead_letter_store_for(settings: Settings) -> DeadLetterStore:
    """Service Bus for an `Endpoint=sb://` connection, else the storage account's queues; one per process."""
    connection = bus_connection(settings)
    if not connection:
        raise ServiceUnavailable("no message bus is configured (ServiceBusConnection or AzureWebJobsStorage)")
    return _stores.get(connection)
