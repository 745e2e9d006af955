"""The MessageBus port: queue messages, and the local adapter's envelope as devhost's LocalBus reads it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from azure.storage.queue import QueueMessage as StoredMessage

from devhost.bus_messages import Envelope, service_bus_message
from devhost.bus_routes import storage_queue_name as devhost_queue_name
from shared.config import Settings
from shared.webhooks import (
    WEBHOOKS_QUEUE,
    ServiceBusMessageBus,
    StorageQueueMessageBus,
    bus_for,
    decode_message,
    encode_message,
    envelope_text,
    storage_queue_name,
)


def test_message_round_trip() -> None:
    delivery = uuid.uuid4()
    assert decode_message(encode_message(delivery)) == delivery
    assert decode_message(encode_message(delivery).encode()) == delivery
    with pytest.raises(ValueError, match="not a webhook"):
        decode_message(b'{"something": "else"}')


def test_envelope_is_what_the_local_bus_delivers() -> None:
    now = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
    stored = StoredMessage(content=envelope_text('{"delivery_id": "x"}', "msg-1", now=now))
    stored.dequeue_count = 1
    envelope = Envelope.from_stored(stored)
    assert (envelope.message_id, envelope.body, envelope.content_type, envelope.enqueued_time_utc) == (
        "msg-1", b'{"delivery_id": "x"}', "application/json", now)
    message = service_bus_message(stored)
    assert (message.message_id, message.get_body()) == ("msg-1", b'{"delivery_id": "x"}')


def test_queue_name_matches_devhost() -> None:
    assert storage_queue_name(WEBHOOKS_QUEUE) == devhost_queue_name(WEBHOOKS_QUEUE)


def test_bus_for_picks_the_adapter_by_connection() -> None:
    sb = Settings(service_bus_connection="Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=a;"
                  "SharedAccessKey=b")
    assert isinstance(bus_for(sb), ServiceBusMessageBus)
    assert bus_for(sb) is bus_for(sb)
    local = Settings(storage_connection_string="UseDevelopmentStorage=true")
    assert isinstance(bus_for(local), StorageQueueMessageBus)
    with pytest.raises(RuntimeError, match="cannot be queued"):
        bus_for(Settings(service_bus_connection="", storage_connection_string=""))
