"""The local MessageBus adapter writes what devhost's LocalBus delivers to a serviceBusTrigger (real Azurite)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import azure.functions as func
import pytest

from devhost.azurite import Azurite
from devhost.bus import LocalBus
from devhost.discovery import discover
from shared.webhooks import StorageQueueMessageBus, decode_message, encode_message

app = func.FunctionApp()
received: list[func.ServiceBusMessage] = []
_arrived = threading.Event()


@app.service_bus_queue_trigger(arg_name="msg", queue_name="%HOOKS%", connection="ServiceBusConnection")
def hooks(msg: func.ServiceBusMessage) -> None:
    received.append(msg)
    _arrived.set()


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = Azurite(Path(tmp_path_factory.mktemp("azurite-webhooks")))
    yield server.start()
    server.stop()


def test_sent_message_reaches_the_service_bus_trigger(azurite: str) -> None:
    queue = f"webhooks-{uuid.uuid4().hex[:8]}"
    bus = LocalBus(discover(app), connection_string=azurite, settings={"HOOKS": queue}, poll_interval=(0.02, 0.1))
    bus.start()
    try:
        delivery = uuid.uuid4()
        StorageQueueMessageBus(azurite).send(queue, encode_message(delivery), str(delivery))
        deadline = time.monotonic() + 10
        while not _arrived.wait(0.05):
            assert time.monotonic() < deadline, "the trigger never got the message"
    finally:
        bus.stop(timeout=5)
    (msg,) = received
    assert decode_message(msg.get_body()) == delivery
    assert msg.message_id == str(delivery)
    assert msg.content_type == "application/json"
