"""How the local Service Bus keeps messages in Azurite storage queues: names, envelopes, dead letters."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from azure.functions.queue import QueueMessage
from azure.functions.servicebus import ServiceBusMessage
from azure.storage.queue import QueueMessage as StoredMessage

MAX_DELIVERY_COUNT_EXCEEDED = "MaxDeliveryCountExceeded"


def encode_queue_body(body: bytes | str) -> str:
    """Storage-queue trigger messages are base64 text, the Functions host's default messageEncoding."""
    raw = body.encode() if isinstance(body, str) else body
    return base64.b64encode(raw).decode("ascii")


def decode_queue_body(content: str) -> bytes:
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        # Written by something that did not base64-encode: hand over the text as it is.
        return content.encode()


@dataclass(frozen=True)
class Envelope:
    """A Service Bus message as JSON text in a storage queue: body plus the broker's properties."""

    message_id: str
    body: bytes
    properties: dict[str, Any] = field(default_factory=dict)
    content_type: str | None = None
    correlation_id: str | None = None
    subject: str | None = None
    enqueued_time_utc: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_text(self) -> str:
        return json.dumps(
            {
                "envelope": 1,
                "messageId": self.message_id,
                "body": base64.b64encode(self.body).decode("ascii"),
                "properties": self.properties,
                "contentType": self.content_type,
                "correlationId": self.correlation_id,
                "subject": self.subject,
                "enqueuedTimeUtc": self.enqueued_time_utc.isoformat(),
            }
        )

    @classmethod
    def from_stored(cls, message: StoredMessage) -> Envelope:
        """Parse our envelope; a message someone wrote by hand is taken as a plain body."""
        text = str(message.content)
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict) or data.get("envelope") != 1:
            inserted = message.inserted_on or datetime.now(UTC)
            return cls(message_id=str(message.id), body=text.encode(), enqueued_time_utc=inserted)
        return cls(
            message_id=data["messageId"],
            body=base64.b64decode(data["body"]),
            properties=data.get("properties") or {},
            content_type=data.get("contentType"),
            correlation_id=data.get("correlationId"),
            subject=data.get("subject"),
            enqueued_time_utc=datetime.fromisoformat(data["enqueuedTimeUtc"]),
        )


def service_bus_message(message: StoredMessage) -> ServiceBusMessage:
    """What a serviceBusTrigger function receives; delivery_count is the storage queue's dequeue count."""
    env = Envelope.from_stored(message)
    return ServiceBusMessage(
        body=env.body,
        message_id=env.message_id,
        delivery_count=message.dequeue_count,
        content_type=env.content_type,
        correlation_id=env.correlation_id,
        subject=env.subject,
        label=env.subject,
        application_properties=dict(env.properties),
        user_properties=dict(env.properties),
        enqueued_time_utc=env.enqueued_time_utc,
        expires_at_utc=message.expires_on,
        locked_until=message.next_visible_on,
        lock_token=message.pop_receipt,
        trigger_metadata={"MessageId": env.message_id, "DeliveryCount": message.dequeue_count},
    )


def queue_message(message: StoredMessage) -> QueueMessage:
    """What a queueTrigger function receives."""
    return QueueMessage(
        id=message.id,
        body=decode_queue_body(str(message.content)),
        dequeue_count=message.dequeue_count,
        expiration_time=message.expires_on,
        insertion_time=message.inserted_on,
        time_next_visible=message.next_visible_on,
        pop_receipt=message.pop_receipt,
    )


@dataclass(frozen=True)
class DeadLetter:
    """A dead-lettered message: why, after how many deliveries, and the original text to replay."""

    source_queue: str
    message_id: str
    reason: str
    error_description: str
    delivery_count: int
    dead_lettered_at: datetime
    original: str

    def to_text(self) -> str:
        return json.dumps(
            {
                "deadLetterSource": self.source_queue,
                "messageId": self.message_id,
                "deadLetterReason": self.reason,
                "deadLetterErrorDescription": self.error_description,
                "deliveryCount": self.delivery_count,
                "deadLetteredAtUtc": self.dead_lettered_at.isoformat(),
                "message": self.original,
            }
        )

    @classmethod
    def from_text(cls, text: str) -> DeadLetter:
        data = json.loads(text)
        return cls(
            source_queue=data["deadLetterSource"],
            message_id=data["messageId"],
            reason=data["deadLetterReason"],
            error_description=data["deadLetterErrorDescription"],
            delivery_count=data["deliveryCount"],
            dead_lettered_at=datetime.fromisoformat(data["deadLetteredAtUtc"]),
            original=data["message"],
        )

    def body(self) -> bytes:
        """The original message body, whichever kind of queue it came from."""
        try:
            envelope = json.loads(self.original)
        except ValueError:
            envelope = None
        if isinstance(envelope, dict) and envelope.get("envelope") == 1:
            return base64.b64decode(envelope["body"])
        return decode_queue_body(self.original)
