"""Reading and disconnecting stores. Connecting is in stores.connect (it talks to the platform)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from shared.auth.access import Access
from shared.errors import NotFound
from shared.pagination import decode_cursor, encode_cursor, page_of
from shared.ports import SecretNotFound, SecretStore
from shared.stores.connections import ClientFactory, StoreConnection
from shared.stores.models import LastSync, StorePublic
from shared.stores.unsubscribe import remove_store_webhooks
from shared.webhooks import woo_webhook_secret_name

_SELECT = """
select s.*, j.id as job_id, j.status as job_status, j.mode as job_mode,
       j.started_at as job_started_at, j.finished_at as job_finished_at
from stores s
left join lateral (
  select id, status, mode, started_at, finished_at from sync_jobs
  where store_id = s.id order by created_at desc limit 1
) j on true
"""


def _to_public(row: dict[str, Any], now: datetime) -> StorePublic:
    last_synced = row["last_synced_at"]
    fresh = last_synced is not None and now - last_synced <= timedelta(minutes=row["freshness_minutes"])
    last_sync = None
    if row["job_id"] is not None:
        last_sync = LastSync(id=row["job_id"], status=row["job_status"], mode=row["job_mode"],
                             started_at=row["job_started_at"], finished_at=row["job_finished_at"])
    return StorePublic(
        id=row["id"], org_id=row["org_id"], platform=row["platform"], name=row["name"],
        shop_domain=row["shop_domain"], base_url=row["base_url"], currency=row["currency"],
        timezone=row["timezone"], status=row["status"], freshness_minutes=row["freshness_minutes"],
        last_synced_at=last_synced, fresh=fresh, last_sync=last_sync, created_at=row["created_at"],
    )


async def list_stores(conn: AsyncConnection[DictRow], *, limit: int, cursor: str | None,
                      org_id: uuid.UUID | None = None) -> tuple[list[StorePublic], str | None]:
    """The caller's stores (RLS decides which), oldest first."""
    params: list[Any] = []
    where = ["s.status = 'active'"]
    if org_id is not None:
        where.append("s.org_id = %s")
        params.append(org_id)
    if cursor:
        created, sid = decode_cursor(cursor, "stores", (str, str))
        where.append("(s.created_at, s.id) > (%s::timestamptz, %s::uuid)")
        params += [created, sid]
    sql = f"{_SELECT} where {' and '.join(where)} order by s.created_at, s.id limit %s"
    cur = await conn.execute(sql, [*params, limit + 1])
    rows = await cur.fetchall()
    now = datetime.now(UTC)
    page, next_cursor = page_of(rows, limit, lambda r: encode_cursor("stores", [r["created_at"].isoformat(),
                                                                              str(r["id"])]))
    return [_to_public(r, now) for r in page], next_cursor


async def get_store(conn: AsyncConnection[DictRow], store_id: uuid.UUID) -> StorePublic:
    cur = await conn.execute(f"{_SELECT} where s.id = %s and s.status = 'active'", (store_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound("store not found")
    return _to_public(row, datetime.now(UTC))


async def disconnect_store(conn: AsyncConnection[DictRow], *, access: Access, store_id: uuid.UUID,
                           purge: bool, secrets: SecretStore, clients: ClientFactory) -> list[str]:
    """Delete our webhook subscriptions at the platform (best effort, while the credentials still exist),
    cancel syncs, keep the store's data (disconnected) or purge it, then delete its secrets.

    Returns the durable instance ids of the syncs it cancelled, for the caller to terminate.
    """
    store = await get_store(conn, store_id)
    access.require_admin(store.org_id, "store")
    cur = await conn.execute("select platform, shop_domain, base_url, api_base_url, credentials_secret "
                             "from stores where id = %s", (store_id,))
    row = await cur.fetchone()
    if row is None:  # disconnected or purged by a concurrent request since get_store
        raise NotFound("store not found")
    await remove_store_webhooks(conn, store_id=store_id, org_id=store.org_id, actor_id=access.user_id,
                                platform=row["platform"], shop_domain=row["shop_domain"],
                                connection=await _connection(row, secrets), clients=clients)
    cur = await conn.execute(
        "update sync_jobs set status = 'cancelled', finished_at = now(), "
        "errors = errors || '[{\"message\": \"store disconnected\"}]'::jsonb "
        "where store_id = %s and status in ('queued', 'running') returning instance_id",
        (store_id,),
    )
    cancelled = [r["instance_id"] for r in await cur.fetchall()]
    if purge:
        await conn.execute("delete from stores where id = %s", (store_id,))
    else:
        await conn.execute(
            "update stores set status = 'disconnected', credentials_secret = null, updated_at = now() "
            "where id = %s", (store_id,),
        )
    await conn.execute(
        "insert into audit_log (org_id, actor_id, action, target_type, target_id, details) "
        "values (%s, %s, 'store.disconnected', 'store', %s, jsonb_build_object('purge', %s::boolean))",
        (store.org_id, access.user_id, str(store_id), purge),
    )
    names = [row["credentials_secret"]] if row["credentials_secret"] else []
    if row["platform"] == "woocommerce":
        names.append(woo_webhook_secret_name(store_id))
    for name in names:
        await asyncio.to_thread(secrets.delete, name)
    return cancelled


async def _connection(row: dict[str, Any], secrets: SecretStore) -> StoreConnection | None:
    """How to reach the store, or None when its credentials are already gone."""
    if not row["credentials_secret"]:
        return None
    try:
        credentials = json.loads(await asyncio.to_thread(secrets.get, row["credentials_secret"]))
    except SecretNotFound:
        return None
    return StoreConnection(row["platform"], row["shop_domain"], row["base_url"], row["api_base_url"], credentials)
