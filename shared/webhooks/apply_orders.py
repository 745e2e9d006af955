"""A queue message's order creates and updates applied together (shared/webhooks/processing.py): what
apply.py's `_save_order` does for one delivery, in about 11 statements for 100 of them, each delivery marked as
`apply_delivery` marks it. Newest wins per store and order, as one by one."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.stores import persist
from shared.stores.records import CustomerRecord, OrderRecord
from shared.webhooks import payloads
from shared.webhooks.apply import MAX_ERROR, order_platform, outcome, refunds_need_sync, request_sync
from shared.webhooks.outcomes import Applied, Conn, StoreRef, active


@dataclass(frozen=True)
class OrderDelivery:
    """A received order create/update delivery, mapped: what apply_orders writes."""

    id: uuid.UUID
    order: OrderRecord
    customer: CustomerRecord | None
    replace_children: bool
    listed_refunds: tuple[str, ...] | None = None  # WooCommerce: the refund ids the payload lists


def order_delivery(row: dict[str, Any]) -> OrderDelivery | None:
    """The delivery as an order to save, or None for anything else: other topics, rows no longer `received`,
    redacted payloads, an order without updated_at (it always replaces: left to the per-delivery path, like
    a payload that does not map, whose error apply_delivery then records)."""
    payload = row["payload"]
    if row["status"] != "received" or not isinstance(payload, dict) or payload.get("redacted"):
        return None
    platform = order_platform(row)
    try:
        if platform == "shopify":
            delivery = OrderDelivery(row["id"], payloads.shopify_order(payload),
                                     payloads.shopify_order_customer(payload), replace_children=True)
        elif platform == "woocommerce":
            delivery = OrderDelivery(row["id"], payloads.woo_order(payload), None, replace_children=False,
                                     listed_refunds=payloads.woo_refund_ids(payload))
        else:
            return None
    except Exception:
        return None
    return delivery if delivery.order.updated_at is not None else None


def apply_orders(conn: Conn, rows: Sequence[dict[str, Any]],
                 deliveries: Sequence[OrderDelivery]) -> dict[uuid.UUID, Applied]:
    """_save_order for many deliveries in a handful of statements, each marked as apply_delivery marks it.

    `rows` are the deliveries' rows, locked, in the batch's resource order. Per (store, order) only the
    newest delivery is written (a tie: the later one, as one by one); the orders' advisory locks are taken in
    one statement in that resource order (the order the per-delivery path takes them in), then their stored
    versions read and row-locked in one query.
    """
    stores = _stores_of_many(conn, rows)
    newest: dict[tuple[uuid.UUID, str], OrderDelivery] = {}
    for d in deliveries:
        for store in active(stores[d.id]):
            kept = newest.get((store.id, d.order.external_id))
            if kept is None or _version(d) >= _version(kept):
                newest[(store.id, d.order.external_id)] = d
    written = _newer_than_stored(conn, newest)
    listed: dict[uuid.UUID, list[tuple[OrderRecord, tuple[str, ...]]]] = {}
    for (store_id, _), d in written.items():
        if d.listed_refunds is not None:
            listed.setdefault(store_id, []).append((d.order, d.listed_refunds))
    unread = [store_id for store_id, orders in listed.items() if refunds_need_sync(conn, store_id, orders)]
    _write_orders(conn, {s.id: s for refs in stores.values() for s in refs}, written)
    for store_id in unread:
        request_sync(conn, store_id)
    results: dict[uuid.UUID, Applied] = {}
    for d in deliveries:
        # A delivery of the version written counts as applied (one by one it would have been written too).
        applied = sum(1 for s in active(stores[d.id]) if (w := written.get((s.id, d.order.external_id)))
                      and _version(w) == _version(d))
        results[d.id] = outcome(applied, stores[d.id], f"order {d.order.external_id}")
    conn.execute(
        "update webhook_deliveries d set status = t.status, processed_at = now(), attempts = d.attempts + 1, "
        "error = t.error from unnest(%s::uuid[], %s::text[], %s::text[]) as t(id, status, error) where d.id = t.id",
        (list(results), [r.status for r in results.values()],
         [r.detail[:MAX_ERROR] or None for r in results.values()]))
    return results


def _newer_than_stored(conn: Conn, newest: dict[tuple[uuid.UUID, str], OrderDelivery]
                       ) -> dict[tuple[uuid.UUID, str], OrderDelivery]:
    """Those of `newest` (per store and order, in the batch's resource order) whose stored version is not newer:
    their advisory locks in one statement, in that order, then the stored versions, row-locked, in one query."""
    if not newest:
        return {}
    keys = list(newest)
    conn.execute("select count(pg_advisory_xact_lock(hashtextextended(k, 0))) from (select k from "
                 "unnest(%s::text[]) with ordinality as t(k, n) order by n) as ordered",
                 ([f"orders:{s}:{e}" for s, e in keys],))
    stored = {(r["store_id"], r["external_id"]): r["updated_at_platform"] for r in conn.execute(
        "select o.store_id, o.external_id, o.updated_at_platform from orders o join unnest(%s::uuid[], %s::text[]) "
        "as k(store_id, external_id) on o.store_id = k.store_id and o.external_id = k.external_id for update of o",
        ([s for s, _ in keys], [e for _, e in keys])).fetchall()}
    return {k: d for k, d in newest.items() if stored.get(k) is None or not stored[k] > _version(d)}


def _version(delivery: OrderDelivery) -> datetime:
    assert delivery.order.updated_at is not None  # order_delivery leaves those out
    return delivery.order.updated_at


def _write_orders(conn: Conn, stores: dict[uuid.UUID, StoreRef],
                  written: dict[tuple[uuid.UUID, str], OrderDelivery]) -> None:
    """The customers not known yet (one statement, in key order), then the orders per store."""
    customers = sorted({(s, d.customer.external_id): d.customer for (s, _), d in written.items() if d.customer
                        }.items(), key=lambda item: (str(item[0][0]), item[0][1]))
    if customers:
        conn.execute(
            "insert into customers (org_id, store_id, external_id, email, first_name, last_name, "
            "created_at_platform, updated_at_platform) select * from unnest(%s::uuid[], %s::uuid[], %s::text[], "
            "%s::text[], %s::text[], %s::text[], %s::timestamptz[], %s::timestamptz[]) "
            "on conflict (store_id, external_id) do nothing",
            ([stores[s].org_id for (s, _), _c in customers], [s for (s, _), _c in customers],
             [c.external_id for _, c in customers], [c.email for _, c in customers],
             [c.first_name for _, c in customers], [c.last_name for _, c in customers],
             [c.created_at for _, c in customers], [c.updated_at for _, c in customers]))
    groups: dict[tuple[uuid.UUID, bool], list[OrderRecord]] = {}
    for (store_id, _), d in written.items():
        groups.setdefault((store_id, d.replace_children), []).append(d.order)
    for (store_id, replace_children), orders in groups.items():
        persist.upsert_orders(conn, stores[store_id].org_id, store_id, orders, replace_children=replace_children)


def _stores_of_many(conn: Conn, rows: Sequence[dict[str, Any]]) -> dict[uuid.UUID, list[StoreRef]]:
    """_stores_of for each row, in one query."""
    domains = {r["shop_domain"].lower() for r in rows if r["platform"] == "shopify" and r["shop_domain"]}
    woo_ids = {r["store_id"] for r in rows if r["platform"] != "shopify" and r["store_id"] is not None}
    by_domain: dict[str, list[StoreRef]] = {}
    by_id: dict[uuid.UUID, StoreRef] = {}
    for r in conn.execute(
            "select id, org_id, status, credentials_secret, platform, lower(shop_domain) as domain from stores "
            "where (platform = 'shopify' and lower(shop_domain) = any(%s)) or id = any(%s) order by created_at",
            (list(domains), list(woo_ids))).fetchall():
        ref = StoreRef(r["id"], r["org_id"], r["status"], r["credentials_secret"])
        if r["platform"] == "shopify" and r["domain"] in domains:
            by_domain.setdefault(r["domain"], []).append(ref)
        by_id[r["id"]] = ref
    found: dict[uuid.UUID, list[StoreRef]] = {}
    for row in rows:
        if row["platform"] == "shopify":
            found[row["id"]] = by_domain.get(row["shop_domain"].lower(), []) if row["shop_domain"] else []
        else:
            found[row["id"]] = [by_id[row["store_id"]]] if row["store_id"] in by_id else []
    return found
