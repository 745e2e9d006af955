"""The inbox: a verified delivery is recorded once (unique per platform and delivery id), then queued.

Nothing is lost: the row is committed before the platform gets its 2xx, and a row whose queue message
was never sent (the send failed, the process died before the outbox flushed) is sent again by
`unsent_deliveries` + `mark_enqueued_sync` (the sweeper in functions/events.py). A redelivery of a row
not yet applied is queued again as well; the apply is idempotent, so an extra message costs one no-op.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection, Connection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb


@dataclass(frozen=True)
class Recorded:
    id: uuid.UUID
    duplicate: bool  # the delivery id was already recorded
    needs_enqueue: bool  # not applied yet and (new, or its message was never sent)


@dataclass(frozen=True)
class Delivery:
    platform: str
    delivery_id: str
    topic: str
    payload: Any
    event_id: str | None = None
    shop_domain: str | None = None
    store_id: uuid.UUID | None = None
    org_id: uuid.UUID | None = None


def parse_json(body: bytes) -> Any:
    """The payload as JSON; ValueError when it is not JSON."""
    return json.loads(body)


async def find_shopify_store(conn: AsyncConnection[DictRow], shop_domain: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(store id, org id) when exactly one store is connected under that shop domain."""
    cur = await conn.execute(
        "select id, org_id from stores where platform = 'shopify' and lower(shop_domain) = lower(%s) limit 2",
        (shop_domain,))
    rows = await cur.fetchall()
    return (rows[0]["id"], rows[0]["org_id"]) if len(rows) == 1 else None


async def find_woo_store(conn: AsyncConnection[DictRow], store_id: uuid.UUID) -> uuid.UUID | None:
    """The org of a WooCommerce store (connected or not); None when there is no such store."""
    cur = await conn.execute("select org_id from stores where id = %s and platform = 'woocommerce'", (store_id,))
    row = await cur.fetchone()
    return None if row is None else uuid.UUID(str(row["org_id"]))


async def record(conn: AsyncConnection[DictRow], delivery: Delivery) -> Recorded:
    """Insert the delivery unless its (platform, delivery id) is known; say whether it must be queued."""
    cur = await conn.execute(
        "insert into webhook_deliveries (org_id, store_id, platform, delivery_id, event_id, topic, shop_domain, "
        "payload) values (%s, %s, %s, %s, %s, %s, %s, %s) on conflict (platform, delivery_id) do nothing "
        "returning id",
        (delivery.org_id, delivery.store_id, delivery.platform, delivery.delivery_id, delivery.event_id,
         delivery.topic, delivery.shop_domain, Jsonb(delivery.payload)),
    )
    row = await cur.fetchone()
    if row is not None:
        return Recorded(row["id"], duplicate=False, needs_enqueue=True)
    cur = await conn.execute(
        "select id, status from webhook_deliveries where platform = %s and delivery_id = %s",
        (delivery.platform, delivery.delivery_id))
    existing = await cur.fetchone()
    if existing is None:  # deleted between the two statements (shop/redact): nothing left to do
        raise LookupError("delivery vanished while it was recorded")
    return Recorded(existing["id"], duplicate=True, needs_enqueue=existing["status"] == "received")


async def mark_enqueued(conn: AsyncConnection[DictRow], delivery_ids: list[uuid.UUID]) -> None:
    """Mark the sent deliveries, skipping rows an apply holds locked: those are being applied already, and
    waiting for that transaction would hold the outbox's next flush behind it (seconds under load). A skipped
    row stays unmarked; if it is still `received` after the sweeper's 30 s, it is sent again and applied once."""
    await conn.execute(
        "update webhook_deliveries set enqueued_at = now() where id in (select id from webhook_deliveries "
        "where id = any(%s) and enqueued_at is null for update skip locked)", (delivery_ids,))


def unsent_deliveries(conn: Connection[DictRow], *, older_than_seconds: int = 30, limit: int = 500) -> list[uuid.UUID]:
    """Deliveries recorded but never queued (the send failed or the process died before it)."""
    rows = conn.execute(
        "select id from webhook_deliveries where status = 'received' and enqueued_at is null "
        "and received_at < now() - make_interval(secs => %s) order by received_at limit %s",
        (older_than_seconds, limit)).fetchall()
    return [r["id"] for r in rows]


def mark_enqueued_sync(conn: Connection[DictRow], delivery_ids: list[uuid.UUID]) -> None:
    conn.execute("update webhook_deliveries set enqueued_at = now() where id = any(%s)", (delivery_ids,))
