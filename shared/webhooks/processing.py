"""Running applies: one delivery per transaction, or a queue message's batch under savepoints.

The transaction boundaries and failure bookkeeping around shared/webhooks/apply.py: a failed delivery gets
`attempts + 1` and its error on the row; secrets that an applied delivery made obsolete (app/uninstalled,
shop/redact) are deleted after the commit, because the SecretStore is not transactional.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from shared.analytics.metrics import refresh_pending
from shared.db.pool import Database
from shared.ports import SecretStore
from shared.webhooks.apply import MAX_ERROR, apply_delivery
from shared.webhooks.apply_orders import apply_orders, order_delivery
from shared.webhooks.outcomes import Applied, Conn

log = logging.getLogger(__name__)


def process_delivery(db: Database, secrets: SecretStore, delivery_id: uuid.UUID) -> Applied:
    """Apply in one transaction; on failure note the error on the row (own transaction) and re-raise."""
    try:
        with db.service_sync() as conn:
            result = apply_delivery(conn, delivery_id)
    except Exception as exc:
        with db.service_sync() as conn:
            _note_failure(conn, delivery_id, exc)
        raise
    for name in result.secrets_to_delete:
        secrets.delete(name)
    return result


def process_batch(db: Database, secrets: SecretStore, delivery_ids: Sequence[uuid.UUID],
                  resend: Callable[[list[uuid.UUID]], None]) -> list[Applied]:
    """Apply a message's deliveries in one transaction: its order deliveries together, the rest each under its
    own savepoint.

    The delivery rows are locked first, in resource order. Order creates and updates go through apply_orders
    (a handful of statements for all of them, under one savepoint); if that raises, its savepoint is rolled
    back and they join the others, applied one by one. Those come after the orders: deliveries of different
    resources are independent, and for one order newest-wins makes the outcome independent of the order, except
    a delete, which this way wins over a create or update in the same batch (as it does on the platform).
    One delivery failing rolls back only its savepoint; its error is noted and, after the commit, it is
    `resend` alone (so it gets the bus's own retries and dead letter, without holding the others back).
    A single delivery behaves as process_delivery (raises). If the resend fails the batch raises: the bus
    delivers it again and what was applied is skipped then.
    """
    if len(delivery_ids) == 1:
        return [process_delivery(db, secrets, delivery_ids[0])]
    results: list[Applied] = []
    failed: list[uuid.UUID] = []
    with db.service_sync() as conn:
        rows = _locked_rows(conn, delivery_ids)
        batched = _apply_orders(conn, rows)
        results.extend(batched.values())
        known = {r["id"] for r in rows}
        for delivery_id in [r["id"] for r in rows if r["id"] not in batched] + [
                d for d in delivery_ids if d not in known]:  # ids without a row (purged) at the end
            try:
                with conn.transaction():
                    results.append(apply_delivery(conn, delivery_id))
            except Exception as exc:
                log.warning("webhook delivery failed in a batch", exc_info=True,
                            extra={"delivery": str(delivery_id)})
                _note_failure(conn, delivery_id, exc)
                failed.append(delivery_id)
    for name in (n for r in results for n in r.secrets_to_delete):
        secrets.delete(name)
    if failed:
        resend(failed)
    return results


def _locked_rows(conn: Conn, delivery_ids: Sequence[uuid.UUID]) -> list[dict[str, Any]]:
    """The batch's rows, locked in the order of the resource each delivery changes: two batches running at once
    then lock shared orders and products in the same order and wait for each other instead of deadlocking (best
    effort: the key is the payload's id, not every row a handler touches). Newest wins makes the outcome
    independent of the order."""
    return conn.execute(
        "select * from webhook_deliveries where id = any(%s) order by platform, coalesce(shop_domain, ''), "
        "coalesce(store_id::text, ''), split_part(translate(topic, '.', '/'), '/', 1), payload->>'id', "
        "received_at, id for update", (list(delivery_ids),)).fetchall()


def _apply_orders(conn: Conn, rows: list[dict[str, Any]]) -> dict[uuid.UUID, Applied]:
    """The order deliveries among `rows` applied together (apply_orders) under a savepoint; none (an empty
    result) if that fails, for any reason: they are then applied one by one, so a bad one fails alone."""
    deliveries = [d for d in map(order_delivery, rows) if d is not None]
    if not deliveries:
        return {}
    try:
        with conn.transaction():
            ids = {d.id for d in deliveries}
            return apply_orders(conn, [r for r in rows if r["id"] in ids], deliveries)
    except Exception:
        log.warning("webhook orders failed as a batch, applying them one by one", exc_info=True,
                    extra={"deliveries": len(deliveries)})
        return {}


def _note_failure(conn: Conn, delivery_id: uuid.UUID, exc: Exception) -> None:
    conn.execute("update webhook_deliveries set attempts = attempts + 1, error = %s where id = %s",
                 (f"{type(exc).__name__}: {exc}"[:MAX_ERROR], delivery_id))


def refresh_analytics(db: Database, delivery_ids: Sequence[uuid.UUID], *, min_interval: timedelta) -> int:
    """Bring the rollups of the stores these deliveries changed up to date (only the queued orders, refunds
    and customers: docs/decisions/0009). Returns the number of store days written.

    A store is skipped, its changes left queued, when another worker is refreshing it right now (under a
    stream of batches every worker would queue up behind one refresh) or when its last refresh began less
    than `min_interval` ago: a refresh has a fixed cost (~15 ms of database time) whatever it covers, and a
    busy store's batches would otherwise pay it many times a second. What is skipped goes with the next
    batch's refresh, the next read (reads refresh first), or `refresh_queued_analytics` within the minute.
    A failure is logged, not raised: the deliveries are applied and stay queued for the rollups."""
    with db.service_sync() as conn:
        stores = [r["store_id"] for r in conn.execute(
            "select distinct store_id from webhook_deliveries where id = any(%s) and store_id is not null "
            "and status = 'processed'", (list(delivery_ids),)).fetchall()]
    return refresh_stores(db, stores, min_interval=min_interval)


def refresh_stores(db: Database, store_ids: Sequence[uuid.UUID], *, min_interval: timedelta) -> int:
    """refresh_pending for each store not being refreshed elsewhere and not refreshed within `min_interval`;
    one transaction per store, a failure logged and the next store refreshed. Returns store days written."""
    written = 0
    for store_id in store_ids:
        try:
            with db.service_sync() as conn:
                # The lock app.refresh_store_analytics_pending takes (re-entrant within this transaction).
                row = conn.execute(
                    "select pg_try_advisory_xact_lock(hashtextextended(%s, 0)) as free, exists ("
                    " select 1 from analytics_state a where a.store_id = %s and not a.full_needed"
                    " and a.refreshed_at > now() - %s) as recent",
                    (f"analytics:{store_id}", store_id, min_interval)).fetchone()
                if row is not None and row["free"] and not row["recent"]:
                    written += refresh_pending(conn, store_id)
        except Exception:
            log.warning("analytics refresh of queued changes failed", exc_info=True, extra={"store": str(store_id)})
    return written
