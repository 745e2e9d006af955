"""Retrying webhook registrations that failed when a store connected.

`connect_store` audits each registration outcome (`store.webhooks_failed` / `store.webhooks_registered`).
A connected store whose latest outcome is a failure is registered again by the hourly timer
(functions/events.py) for up to RETRY_DAYS; registration adopts (and records) subscriptions already
delivering to us, so a retry never duplicates one. Every retry audits its outcome again, so a store that succeeds
drops out of the list and one that keeps failing shows its latest reason.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row

from shared.ports import SecretStore
from shared.stores.connect import register_store_webhooks
from shared.stores.connections import ClientFactory, StoreConnection

RETRY_DAYS = 7

_FAILED_STORES = """
select s.id, s.org_id, s.platform, s.shop_domain, s.base_url, s.api_base_url, s.credentials_secret
from stores s
join lateral (
  select a.action from audit_log a
  where a.target_type = 'store' and a.target_id = s.id::text
    and a.action in ('store.webhooks_failed', 'store.webhooks_registered')
  order by a.created_at desc, a.id desc limit 1
) last on true
where s.status = 'active' and s.credentials_secret is not null and last.action = 'store.webhooks_failed'
  and s.created_at > now() - make_interval(days => %s)
order by s.created_at limit %s
"""


@dataclass(frozen=True)
class RetryOutcome:
    store_id: uuid.UUID
    registered: bool


async def retry_failed_registrations(database_url: str, *, secrets: SecretStore, clients: ClientFactory,
                                     public_base_url: str, limit: int = 20) -> list[RetryOutcome]:
    """Register the webhooks of connected stores whose last registration failed; one outcome per store.

    Opens its own connection: timers may run on another event loop than the API's async pool."""
    if not public_base_url:
        return []
    conn = await AsyncConnection.connect(database_url, autocommit=True, row_factory=dict_row)
    async with conn:
        rows = await (await conn.execute(_FAILED_STORES, (RETRY_DAYS, limit))).fetchall()
        return [await _retry(conn, row, secrets=secrets, clients=clients, public_base_url=public_base_url)
                for row in rows]


async def _retry(conn: AsyncConnection[DictRow], row: DictRow, *, secrets: SecretStore, clients: ClientFactory,
                 public_base_url: str) -> RetryOutcome:
    credentials = json.loads(await asyncio.to_thread(secrets.get, row["credentials_secret"]))
    connection = StoreConnection(row["platform"], row["shop_domain"], row["base_url"], row["api_base_url"],
                                 credentials)
    created = await register_store_webhooks(conn, store_id=row["id"], org_id=row["org_id"], actor_id=None,
                                            connection=connection, clients=clients, secrets=secrets,
                                            public_base_url=public_base_url)
    return RetryOutcome(row["id"], created is not None)
