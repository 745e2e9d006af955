"""Deleting a store's webhook subscriptions at its platform when the store is disconnected.

Best effort: the ids recorded at registration (`store_webhook_subscriptions`) are deleted with the store's
credentials, so this runs before they are; a failure (unreachable, 401 because the merchant removed the
app or the keys, a refusal) never blocks the disconnect, it is audited as `store.webhooks_remove_failed`
with the reason, the rows it could not delete are kept. What still delivers to us afterwards is harmless:
a Woo store's route has no secret any more (401, and Woo disables a webhook after repeated failures), and
a Shopify delivery for a shop without a connected store is ignored.

Shopify subscriptions belong to the shop, not to our store row: they are deleted only when no other
connected store (of any organization) has the same shop domain (`store.webhooks_kept` otherwise). A
per-shop transaction lock orders this check against other disconnects and registrations of the shop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from shared.stores.connections import ClientFactory, StoreConnection
from shared.stores.platform import InvalidCredentials, PlatformError, PlatformUnavailable, WebhookRegistrar

log = logging.getLogger(__name__)

# A disconnect is an HTTP request: the platform gets this long in all, then the rest counts as failed.
UNSUBSCRIBE_TIMEOUT = 20.0


async def lock_shopify_shop(conn: AsyncConnection[DictRow], shop_domain: str) -> None:
    """Serialise, until the transaction ends, the webhook changes of one Shopify shop."""
    await conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))",
                       (f"shopify-shop:{shop_domain.lower()}",))


@dataclass
class _Progress:
    """What the worker thread got done; read as is when the time is up."""

    deleted: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)  # the platform no longer had it (404 / does not exist)
    errors: dict[str, str] = field(default_factory=dict)


def _delete_all(clients: ClientFactory, connection: StoreConnection, ids: list[str], progress: _Progress) -> None:
    """Delete each id; stop at the first answer that every further call would get too."""
    client = clients(connection)
    try:
        if not isinstance(client, WebhookRegistrar):
            raise PlatformError(f"the {connection.platform} client cannot delete webhooks")
        for subscription_id in ids:
            try:
                (progress.deleted if client.delete_webhook(subscription_id) else progress.gone).append(subscription_id)
            except (InvalidCredentials, PlatformUnavailable):
                raise
            except PlatformError as exc:
                progress.errors[subscription_id] = _reason(exc)
    finally:
        client.close()


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


async def remove_store_webhooks(conn: AsyncConnection[DictRow], *, store_id: uuid.UUID, org_id: uuid.UUID,
                                actor_id: uuid.UUID | None, platform: str, shop_domain: str | None,
                                connection: StoreConnection | None, clients: ClientFactory,
                                budget_seconds: float | None = None) -> None:
    """Delete the store's recorded subscriptions at the platform and their rows; audit the outcome.

    `connection` is None when the store's credentials are gone: nothing can be deleted then."""
    rows = await (await conn.execute(
        "select subscription_id from store_webhook_subscriptions where store_id = %s order by registered_at",
        (store_id,))).fetchall()
    ids = [r["subscription_id"] for r in rows]
    if not ids:
        return
    if platform == "shopify" and shop_domain:
        await lock_shopify_shop(conn, shop_domain)
        row = await (await conn.execute("select app.shopify_shop_connected_elsewhere(%s) as shared",
                                        (store_id,))).fetchone()
        if row and row["shared"]:
            await _forget(conn, store_id, ids)
            await _audit(conn, org_id, actor_id, store_id, "store.webhooks_kept",
                         {"kept": len(ids), "reason": "another connected store has this shop"})
            return
    budget = UNSUBSCRIBE_TIMEOUT if budget_seconds is None else budget_seconds
    progress, failure = await _delete_at_platform(clients, connection, ids, budget)
    done = progress.deleted + progress.gone
    await _forget(conn, store_id, done)
    counts = {"deleted": len(progress.deleted), "already_gone": len(progress.gone)}
    extra = {"store_id": str(store_id), "platform": platform}
    if failure is None:
        log.info("deleted %d webhook subscriptions", len(done), extra=extra)
        await _audit(conn, org_id, actor_id, store_id, "store.webhooks_removed", counts)
        return
    log.warning("could not delete webhook subscriptions: %s", failure, extra=extra)
    await _audit(conn, org_id, actor_id, store_id, "store.webhooks_remove_failed",
                 {**counts, "remaining": len(ids) - len(done), "reason": failure})


async def _delete_at_platform(clients: ClientFactory, connection: StoreConnection | None, ids: list[str],
                              budget_seconds: float) -> tuple[_Progress, str | None]:
    """What got deleted, and why the rest was not (None: nothing left)."""
    progress = _Progress()
    if connection is None:
        return progress, "the store's credentials are gone"
    try:
        await asyncio.wait_for(asyncio.to_thread(_delete_all, clients, connection, ids, progress), budget_seconds)
    except TimeoutError:
        return progress, f"timed out after {budget_seconds:g} s"
    except Exception as exc:  # the disconnect goes on whatever the platform says
        return progress, _reason(exc)
    return progress, next(iter(progress.errors.values()), None)


async def _forget(conn: AsyncConnection[DictRow], store_id: uuid.UUID, ids: list[str]) -> None:
    if ids:
        await conn.execute("delete from store_webhook_subscriptions where store_id = %s and subscription_id = any(%s)",
                           (store_id, ids))


async def _audit(conn: AsyncConnection[DictRow], org_id: uuid.UUID, actor_id: uuid.UUID | None, store_id: uuid.UUID,
                 action: str, details: Mapping[str, object]) -> None:
    await conn.execute(
        "insert into audit_log (org_id, actor_id, action, target_type, target_id, details) "
        "values (%s, %s, %s, 'store', %s, %s::jsonb)",
        (org_id, actor_id, action, str(store_id), json.dumps(dict(details))))
