"""The outbox marks what it sent without waiting for rows an apply holds: those are being applied already."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import psycopg
from psycopg.rows import dict_row

from shared.webhooks.inbox import mark_enqueued
from tests.support import build_tenant


async def test_rows_locked_by_an_apply_are_skipped_not_waited_for(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"me{uuid.uuid4().hex[:6]}")
        ids: list[Any] = [conn.execute(
            "insert into webhook_deliveries (org_id, store_id, platform, delivery_id, topic, payload) "
            "values (%s, %s, 'shopify', %s, 'orders/create', %s) returning id",
            (t.org_id, t.store_id, uuid.uuid4().hex, json.dumps({"id": n}))).fetchone()["id"] for n in range(3)]
        with psycopg.connect(database_url, row_factory=dict_row) as applying:  # a batch being applied
            applying.execute("select id from webhook_deliveries where id = %s for update", (ids[0],))
            async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as outbox:
                await asyncio.wait_for(mark_enqueued(outbox, ids), timeout=5)
            marked = {r["id"]: r["enqueued_at"] is not None for r in conn.execute(
                "select id, enqueued_at from webhook_deliveries where id = any(%s)", (ids,)).fetchall()}
        assert marked == {ids[0]: False, ids[1]: True, ids[2]: True}
