"""devhost.bus gives queue-triggered functions Service Bus peek-lock semantics on Azurite queues:
at-least-once delivery, redelivery after a failure or a crash, dead-lettering after the max delivery
count, and replay from the dead-letter queue."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import azure.functions as func
import pytest

from devhost.bus import LocalBus, MessageTooLargeError
from devhost.bus_routes import storage_queue_name
from devhost.discovery import discover

Waiter = Callable[..., None]
app = func.FunctionApp()
received: defaultdict[str, list[Any]] = defaultdict(list)
_lock = threading.Lock()
healed = threading.Event()  # the poison handler succeeds once set
gate = threading.Event()  # holds the first delivery of the crash handler until set


def _record(handler: str, message: Any) -> None:
    with _lock:
        received[handler].append(message)


@app.service_bus_queue_trigger(arg_name="msg", queue_name="%ORDERS%", connection="SB")
def orders(msg: func.ServiceBusMessage) -> None:
    _record("orders", msg)


@app.service_bus_queue_trigger(arg_name="msg", queue_name="%FLAKY%", connection="SB")
def flaky(msg: func.ServiceBusMessage) -> None:
    _record("flaky", msg)
    if msg.delivery_count == 1:
        raise ConnectionError("database blinked")


@app.service_bus_queue_trigger(arg_name="msg", queue_name="%POISON%", connection="SB")
def poison(msg: func.ServiceBusMessage) -> None:
    _record("poison", msg)
    if not healed.is_set():
        raise ValueError("bad payload")


@app.service_bus_queue_trigger(arg_name="msg", queue_name="%CRASH%", connection="SB")
def crash(msg: func.ServiceBusMessage) -> None:
    _record("crash", msg)
    if msg.delivery_count == 1:
        gate.wait(10)


@app.service_bus_queue_trigger(arg_name="msg", queue_name="%SLOW%", connection="SB")
def slow(msg: func.ServiceBusMessage) -> None:
    _record("slow", msg)
    time.sleep(2.2)  # more than twice the 1 s lock


@app.service_bus_topic_trigger(arg_name="msg", topic_name="%TOPIC%", subscription_name="audit", connection="SB")
async def audit(msg: func.ServiceBusMessage) -> None:
    _record("audit", msg)


@app.service_bus_topic_trigger(arg_name="msg", topic_name="%TOPIC%", subscription_name="sync", connection="SB")
def sync(msg: func.ServiceBusMessage) -> None:
    _record("sync", msg)


@app.queue_trigger(arg_name="item", queue_name="%WORK%", connection="AzureWebJobsStorage")
def work(item: func.QueueMessage) -> None:
    _record("work", item)


@pytest.fixture
def names(unique: Callable[[str], str]) -> dict[str, str]:
    return {key: unique(key.lower()) for key in ("ORDERS", "FLAKY", "POISON", "CRASH", "SLOW", "TOPIC", "WORK")}


@pytest.fixture
def make_bus(azurite_connection_string: str, names: dict[str, str]) -> Iterator[Callable[..., LocalBus]]:
    buses: list[LocalBus] = []

    def make(**options: Any) -> LocalBus:
        bus = LocalBus(
            discover(app), connection_string=azurite_connection_string, settings=names,
            lock_duration=1, poll_interval=(0.02, 0.1), **options,
        )  # fmt: skip
        bus.start()
        buses.append(bus)
        return bus

    received.clear()
    healed.clear()
    gate.clear()
    yield make
    gate.set()
    for bus in buses:
        bus.stop(timeout=5)


def test_a_message_is_delivered_with_its_properties_and_completed(
    make_bus: Callable[..., LocalBus], names: dict[str, str], wait_for: Waiter
) -> None:
    bus = make_bus()

    sent = bus.send(
        names["ORDERS"], b'{"order": 1}', message_id="order-1", properties={"store": "s1"},
        content_type="application/json",
    )  # fmt: skip
    wait_for(lambda: received["orders"], message="delivery")
    time.sleep(1.5)  # longer than the lock: an uncompleted message would be back by now

    [msg] = received["orders"]
    assert (sent, msg.message_id, msg.get_body(), msg.delivery_count) == ("order-1", "order-1", b'{"order": 1}', 1)
    assert msg.content_type == "application/json"
    assert msg.application_properties == {"store": "s1"}
    assert msg.enqueued_time_utc is not None


def test_a_handler_that_fails_once_gets_the_message_again(
    make_bus: Callable[..., LocalBus], names: dict[str, str], wait_for: Waiter
) -> None:
    make_bus().send(names["FLAKY"], "retry me")

    wait_for(lambda: len(received["flaky"]) == 2, message="redelivery")
    time.sleep(1.5)

    assert [m.delivery_count for m in received["flaky"]] == [1, 2]
    assert {m.get_body() for m in received["flaky"]} == {b"retry me"}


def test_a_message_that_always_fails_is_dead_lettered_after_max_delivery_count(
    make_bus: Callable[..., LocalBus], names: dict[str, str], wait_for: Waiter
) -> None:
    bus = make_bus(max_delivery_counts={names["POISON"]: 3})
    bus.send(names["POISON"], "never works", message_id="m-poison")

    wait_for(lambda: bus.peek_dead_letters(names["POISON"]), message="the dead letter")
    time.sleep(1.5)

    assert [m.delivery_count for m in received["poison"]] == [1, 2, 3]
    [letter] = bus.peek_dead_letters(names["POISON"])
    assert (letter.message_id, letter.reason, letter.delivery_count) == ("m-poison", "MaxDeliveryCountExceeded", 3)
    assert "ValueError: bad payload" in letter.error_description
    assert letter.body() == b"never works"


def test_a_dead_letter_can_be_replayed_once_the_handler_is_fixed(
    make_bus: Callable[..., LocalBus], names: dict[str, str], wait_for: Waiter
) -> None:
    bus = make_bus(max_delivery_counts={names["POISON"]: 1})
    bus.send(names["POISON"], "works after the fix", message_id="m-replay")
    wait_for(lambda: bus.peek_dead_letters(names["POISON"]), message="the dead letter")

    healed.set()
    assert bus.replay_dead_letter(names["POISON"], message_id="m-replay") == 1

    wait_for(lambda: len(received["poison"]) == 2, message="the replayed delivery")
    replayed = received["poison"][1]
    assert (replayed.message_id, replayed.get_body(), replayed.delivery_count) == (
        "m-replay", b"works after the fix", 1,
    )  # fmt: skip
    assert bus.peek_dead_letters(names["POISON"]) == []


def test_a_message_held_by_a_host_that_died_comes_back_after_the_lock_expires(
    make_bus: Callable[..., LocalBus], names: dict[str, str], wait_for: Waiter
) -> None:
    dying = make_bus()
    dying.send(names["CRASH"], "in flight")
    wait_for(lambda: received["crash"], message="the first delivery")

    assert dying.stop(timeout=0.1) is False  # the handler is stuck: the host gives up on it
    gate.set()  # the handler returns, but nobody completes the message any more
    make_bus()

    wait_for(lambda: len(received["crash"]) == 2, timeout=5, message="redelivery after the lock expired")
    assert [m.delivery_count for m in received["crash"]] == [1, 2]


def test_a_message_whose_lock_keeps_expiring_is_dead_lettered_without_another_try(
    make_bus: Callable[..., LocalBus], names: dict[str, str], wait_for: Waiter
) -> None:
    dying = make_bus(max_delivery_counts={names["CRASH"]: 1})
    dying.send(names["CRASH"], "in flight")
    wait_for(lambda: received["crash"], message="the first delivery")
    dying.stop(timeout=0.1)
    gate.set()

    bus = make_bus(max_delivery_counts={names["CRASH"]: 1})

    wait_for(lambda: bus.peek_dead_letters(names["CRASH"]), timeout=5, message="the dead letter")
    assert "Lock expired" in bus.peek_dead_letters(names["CRASH"])[0].error_description
    assert len(received["crash"]) == 1


def test_the_lock_is_renewed_while_a_slow_handler_runs(
    make_bus: Callable[..., LocalBus], names: dict[str, str], wait_for: Waiter
) -> None:
    make_bus().send(names["SLOW"], "takes longer than the lock")

    wait_for(lambda: received["slow"], message="delivery")
    time.sleep(2.4)  # the handler is done by now; without renewal it would have had a second delivery

    assert len(received["slow"]) == 1


def test_a_topic_message_reaches_every_subscription_sync_or_async(
    make_bus: Callable[..., LocalBus], names: dict[str, str], wait_for: Waiter
) -> None:
    bus = make_bus()

    bus.send(names["TOPIC"], "store synced", message_id="evt-1")

    wait_for(lambda: received["audit"] and received["sync"], message="both subscriptions")
    assert [m.message_id for m in received["audit"] + received["sync"]] == ["evt-1", "evt-1"]


def test_a_queue_trigger_gets_a_storage_queue_message(
    make_bus: Callable[..., LocalBus], names: dict[str, str], wait_for: Waiter
) -> None:
    make_bus().send(names["WORK"], b"job 7")

    wait_for(lambda: received["work"], message="delivery")
    [item] = received["work"]
    assert isinstance(item, func.QueueMessage)
    assert (item.get_body(), item.dequeue_count) == (b"job 7", 1)


@pytest.mark.parametrize(
    ("entity", "queue"),
    [
        ("Orders", "orders"),
        ("store.events/Subscriptions/sync", "store-events-subscriptions-sync"),
        ("a__b", "a-b"),
        ("x", "x-2d711642"),
    ],
)
def test_service_bus_names_become_valid_storage_queue_names(entity: str, queue: str) -> None:
    assert storage_queue_name(entity) == queue


def test_long_names_are_shortened_distinctly_with_room_for_the_dead_letter_suffix() -> None:
    first, second = storage_queue_name("q" * 100 + "1"), storage_queue_name("q" * 100 + "2")

    assert first != second
    assert len(first + "-deadletter") <= 63


def test_a_message_too_big_for_a_storage_queue_is_refused_clearly(
    make_bus: Callable[..., LocalBus], names: dict[str, str]
) -> None:
    with pytest.raises(MessageTooLargeError, match="storage queues take"):
        make_bus().send(names["ORDERS"], b"x" * 60_000)
