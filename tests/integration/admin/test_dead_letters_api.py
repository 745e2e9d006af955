"""Super admins list a queue's dead letters and replay them (real Azurite, devhost's LocalBus)."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import azure.functions as func
import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from devhost.bus import LocalBus
from devhost.discovery import discover
from shared.identity import make_super_admin
from shared.webhooks import StorageQueueMessageBus, encode_message
from tests.support import Tenant, build_tenant

app = func.FunctionApp()
received: list[func.ServiceBusMessage] = []
healed = threading.Event()  # the handler fails until set
_lock = threading.Lock()


@app.service_bus_queue_trigger(arg_name="msg", queue_name="%HOOKS%", connection="ServiceBusConnection")
def hooks(msg: func.ServiceBusMessage) -> None:
    with _lock:
        received.append(msg)
    if not healed.is_set():
        raise ValueError("poisoned delivery")


URL = "/api/v1/admin/dead-letters"


@pytest.fixture
def queue() -> str:
    return f"hooks-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def bus(azurite_connection_string: str, queue: str) -> Iterator[LocalBus]:
    received.clear()
    healed.clear()
    local = LocalBus(discover(app), connection_string=azurite_connection_string, settings={"HOOKS": queue},
                     max_delivery_count=1, lock_duration=1, poll_interval=(0.02, 0.1))
    local.start()
    yield local
    local.stop(timeout=5)


@pytest.fixture(scope="module")
def tenant(database_url: str) -> Tenant:
    """An organization whose admin is also a super admin."""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"dl-{uuid.uuid4().hex[:6]}")
        make_super_admin(conn, t.admin_id)
    return t


async def wait_for(condition: Callable[[], Any], message: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        await asyncio.sleep(0.05)


async def dead_letter_one(bus: LocalBus, azurite: str, queue: str) -> str:
    """Send a webhook message as the app does; the failing handler gets it once and it is dead-lettered."""
    message_id = str(uuid.uuid4())
    StorageQueueMessageBus(azurite).send(queue, encode_message(uuid.UUID(message_id)), message_id)
    await wait_for(lambda: bus.peek_dead_letters(queue), "the dead letter")
    return message_id


async def test_a_super_admin_lists_and_replays_a_dead_letter(
        bus_client: httpx.AsyncClient, bus: LocalBus, azurite_connection_string: str, queue: str,
        tenant: Tenant) -> None:
    message_id = await dead_letter_one(bus, azurite_connection_string, queue)
    assert len(received) == 1

    r = await bus_client.get(URL, params={"queue": queue}, headers=tenant.admin)

    assert r.status_code == 200, r.text
    page = r.json()
    assert page["next_cursor"] is None
    [item] = page["items"]
    assert item["id"] == message_id
    assert item["queue"] == queue
    assert item["reason"] == "MaxDeliveryCountExceeded"
    assert "ValueError: poisoned delivery" in item["error_description"]
    assert item["delivery_count"] == 1
    assert item["body"] == encode_message(uuid.UUID(message_id))
    assert item["content_type"] == "application/json"
    assert item["enqueued_at"] and item["dead_lettered_at"]

    healed.set()
    r = await bus_client.post(f"{URL}/{message_id}/replay", params={"queue": queue}, headers=tenant.admin)

    assert r.status_code == 200, r.text
    assert r.json() == {"queue": queue, "message_id": message_id, "replayed": 1}
    await wait_for(lambda: len(received) == 2, "the replayed delivery")
    assert received[1].message_id == message_id
    assert received[1].get_body() == encode_message(uuid.UUID(message_id)).encode()
    await asyncio.sleep(1.5)  # longer than the lock: a failed delivery would be dead-lettered again by now
    assert bus.peek_dead_letters(queue) == []
    r = await bus_client.get(URL, params={"queue": queue}, headers=tenant.admin)
    assert r.json() == {"items": [], "next_cursor": None}


async def test_replay_of_an_unknown_message_is_404_and_keeps_the_others(
        bus_client: httpx.AsyncClient, bus: LocalBus, azurite_connection_string: str, queue: str,
        tenant: Tenant) -> None:
    message_id = await dead_letter_one(bus, azurite_connection_string, queue)

    r = await bus_client.post(f"{URL}/not-there/replay", params={"queue": queue}, headers=tenant.admin)

    assert r.status_code == 404
    r = await bus_client.get(URL, params={"queue": queue}, headers=tenant.admin)
    assert [i["id"] for i in r.json()["items"]] == [message_id]


async def test_a_queue_without_dead_letters_is_an_empty_list(bus_client: httpx.AsyncClient,
                                                             tenant: Tenant) -> None:
    r = await bus_client.get(URL, params={"queue": f"none-{uuid.uuid4().hex[:8]}"}, headers=tenant.admin)
    assert r.status_code == 200 and r.json() == {"items": [], "next_cursor": None}


async def test_members_and_org_admins_get_403_and_replay_nothing(
        bus_client: httpx.AsyncClient, bus: LocalBus, azurite_connection_string: str, queue: str,
        world: dict[str, Tenant]) -> None:
    message_id = await dead_letter_one(bus, azurite_connection_string, queue)
    a = world["a"]

    for headers in (a.member, a.admin):
        assert (await bus_client.get(URL, params={"queue": queue}, headers=headers)).status_code == 403
        r = await bus_client.post(f"{URL}/{message_id}/replay", params={"queue": queue}, headers=headers)
        assert r.status_code == 403
        assert r.headers["content-type"].startswith("application/problem+json")
    assert [d.message_id for d in bus.peek_dead_letters(queue)] == [message_id]


async def test_without_a_token_it_is_401(bus_client: httpx.AsyncClient) -> None:
    assert (await bus_client.get(URL)).status_code == 401
    assert (await bus_client.post(f"{URL}/x/replay")).status_code == 401


@pytest.mark.parametrize("params", [{"queue": "a"}, {"queue": "bad name!"}, {"limit": "0"}, {"cursor": "nope"}])
async def test_bad_parameters_are_422(bus_client: httpx.AsyncClient, tenant: Tenant,
                                      params: dict[str, str]) -> None:
    r = await bus_client.get(URL, params=params, headers=tenant.admin)
    assert r.status_code == 422
