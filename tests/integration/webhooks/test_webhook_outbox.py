"""The outbox's batching: deliveries arriving together share a message, sent after the linger or as soon as a
message is full, and marked enqueued."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from shared.db.pool import Database
from shared.webhooks import WEBHOOKS_QUEUE, decode_batch
from shared.webhooks.outbox import Outbox
from tests.support import build_tenant


class Bus:
    def __init__(self) -> None:
        self.sent: list[list[uuid.UUID]] = []

    def send(self, queue: str, body: str, message_id: str) -> None:
        assert queue == WEBHOOKS_QUEUE
        self.sent.append(decode_batch(body))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, max_size=2)
    await database.open()
    yield database
    await database.close()


def _deliveries(database_url: str, count: int) -> list[uuid.UUID]:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"ob{uuid.uuid4().hex[:6]}")
        return [conn.execute(
            "insert into webhook_deliveries (org_id, store_id, platform, delivery_id, topic, payload) "
            "values (%s, %s, 'shopify', %s, 'orders/create', %s) returning id",
            (t.org_id, t.store_id, uuid.uuid4().hex, json.dumps({"id": n}))).fetchone()["id"] for n in range(count)]


def _enqueued(database_url: str, ids: list[uuid.UUID]) -> int:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        row: Any = conn.execute("select count(*) as n from webhook_deliveries where id = any(%s) "
                                "and enqueued_at is not null", (ids,)).fetchone()
    return int(row["n"])


async def test_deliveries_arriving_together_share_one_message_after_the_linger(database_url: str,
                                                                              db: Database) -> None:
    ids, bus = _deliveries(database_url, 3), Bus()
    outbox = Outbox(lambda: bus, db, max_batch=100, linger=0.2)
    for delivery_id in ids:
        outbox.put(delivery_id)
    await asyncio.sleep(0.05)
    assert bus.sent == []  # still lingering for others
    await outbox.drain()
    assert bus.sent == [ids]
    assert _enqueued(database_url, ids) == 3


async def test_a_full_message_is_sent_without_waiting_out_the_linger(database_url: str, db: Database) -> None:
    ids, bus = _deliveries(database_url, 25), Bus()
    outbox = Outbox(lambda: bus, db, max_batch=10, linger=30)
    started = time.monotonic()
    for delivery_id in ids[:20]:
        outbox.put(delivery_id)
    await asyncio.wait_for(outbox.drain(), timeout=10)  # a 30 s linger would time this out
    assert time.monotonic() - started < 10
    assert bus.sent == [ids[:10], ids[10:20]]

    for delivery_id in ids[20:]:  # fewer than a message's worth: they wait for the linger again
        outbox.put(delivery_id)
    await asyncio.sleep(0.2)
    assert len(bus.sent) == 2
    assert _enqueued(database_url, ids) == 20
    more = _deliveries(database_url, 5)
    for delivery_id in more:  # ... until a message's worth is waiting
        outbox.put(delivery_id)
    await asyncio.wait_for(outbox.drain(), timeout=10)
    assert bus.sent[2:] == [ids[20:] + more]
    assert _enqueued(database_url, ids + more) == 30


class SlowBus(Bus):
    """Holds each send until released, so that deliveries can arrive while a message is being sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sending, self.release = threading.Event(), threading.Event()

    def send(self, queue: str, body: str, message_id: str) -> None:
        self.sending.set()
        assert self.release.wait(10)
        super().send(queue, body, message_id)


async def test_deliveries_arriving_during_a_send_wait_for_their_own_linger(database_url: str, db: Database) -> None:
    ids, bus = _deliveries(database_url, 20), SlowBus()
    outbox = Outbox(lambda: bus, db, max_batch=10, linger=30)
    for delivery_id in ids[:10]:  # full: sent at once
        outbox.put(delivery_id)
    while not bus.sending.is_set():
        await asyncio.sleep(0.01)
    for delivery_id in ids[10:13]:  # arrive while that message is being sent
        outbox.put(delivery_id)
    bus.release.set()
    await asyncio.sleep(0.3)
    assert bus.sent == [ids[:10]]  # not sent straight after it as a message of three: they linger
    for delivery_id in ids[13:]:
        outbox.put(delivery_id)
    await asyncio.wait_for(outbox.drain(), timeout=10)
    assert bus.sent == [ids[:10], ids[10:]]
    assert _enqueued(database_url, ids) == 20
