"""Applying one recorded delivery to the database: idempotent, newest-wins, bookkeeping in the same transaction.

`apply_delivery` (run by shared/webhooks/processing.py, alone or in a batch under a savepoint) locks the
delivery row, does nothing when it is no longer `received` (a redelivered queue message), applies the
topic and marks the row processed (or ignored) before its transaction commits: a delivery is applied once
or not at all. A failure rolls its work back and raises; the bus redelivers and, after its max delivery
count, dead-letters the message (the row keeps the last error).

Newest wins: persist only replaces a row whose platform updated_at is not newer, and an order or product
whose stored version is newer is skipped whole here, so its lines, refunds and variants are not rolled
back either. `apply_orders` does for a batch's order creates and updates what `_save_order` does for one,
in a handful of statements for all of them. Personal data: redaction nulls the customer's e-mail and names,
sets redacted_at and blanks the stored payloads that carried them; audit entries name ids, never personal data.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from shared.stores import persist
from shared.stores.records import CustomerRecord, OrderRecord, ProductRecord
from shared.webhooks import compliance, payloads
from shared.webhooks.outcomes import Applied, Conn, Handler, StoreRef, active

log = logging.getLogger(__name__)
_MAX_ERROR = 500


# -- entry points ----------------------------------------------------------------------------------------------


def apply_delivery(conn: Conn, delivery_id: uuid.UUID) -> Applied:
    row = conn.execute("select * from webhook_deliveries where id = %s for update", (delivery_id,)).fetchone()
    if row is None:
        # Gone: purged by shop/redact after it was queued. Nothing to apply, nothing to retry.
        return Applied("already", "delivery no longer exists")
    if row["status"] != "received":
        return Applied("already", f"already {row['status']}")
    payload = row["payload"]
    if not isinstance(payload, dict) or payload.get("redacted"):
        result = Applied("ignored", "payload redacted or not an object")
    else:
        handler = _HANDLERS.get((row["platform"], row["topic"]))
        if handler is None:
            result = Applied("ignored", f"topic {row['topic']} is not applied")
        else:
            result = handler(conn, row, _stores_of(conn, row))
    conn.execute(
        "update webhook_deliveries set status = %s, processed_at = now(), attempts = attempts + 1, error = %s "
        "where id = %s", (result.status, result.detail[:_MAX_ERROR] or None, delivery_id))
    return result


def _stores_of(conn: Conn, row: dict[str, Any]) -> list[StoreRef]:
    """Every store the delivery concerns: Shopify by shop domain (any organization that connected it),
    WooCommerce the store in the delivery's URL. Disconnected ones too (GDPR topics still apply)."""
    if row["platform"] == "shopify":
        if not row["shop_domain"]:
            return []
        rows = conn.execute(
            "select id, org_id, status, credentials_secret from stores where platform = 'shopify' "
            "and lower(shop_domain) = lower(%s) order by created_at", (row["shop_domain"],)).fetchall()
    else:
        rows = conn.execute("select id, org_id, status, credentials_secret from stores where id = %s",
                            (row["store_id"],)).fetchall()
    return [StoreRef(r["id"], r["org_id"], r["status"], r["credentials_secret"]) for r in rows]


# -- a batch's order deliveries together (shared/webhooks/processing.py) -------------------------------------


@dataclass(frozen=True)
class OrderDelivery:
    """A received order create/update delivery, mapped: what apply_orders writes."""

    id: uuid.UUID
    order: OrderRecord
    customer: CustomerRecord | None
    replace_children: bool


def order_delivery(row: dict[str, Any]) -> OrderDelivery | None:
    """The delivery as an order to save, or None for anything else: other topics, rows no longer `received`,
    redacted payloads, an order without updated_at (it always replaces: left to the per-delivery path, like
    a payload that does not map, whose error apply_delivery then records)."""
    payload = row["payload"]
    if row["status"] != "received" or not isinstance(payload, dict) or payload.get("redacted"):
        return None
    handler = _HANDLERS.get((row["platform"], row["topic"]))
    try:
        if handler is _shopify_order:
            delivery = OrderDelivery(row["id"], payloads.shopify_order(payload),
                                     payloads.shopify_order_customer(payload), replace_children=True)
        elif handler is _woo_order:
            delivery = OrderDelivery(row["id"], payloads.woo_order(payload), None, replace_children=False)
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
    _write_orders(conn, {s.id: s for refs in stores.values() for s in refs}, written)
    results: dict[uuid.UUID, Applied] = {}
    for d in deliveries:
        # A delivery of the version written counts as applied (one by one it would have been written too).
        applied = sum(1 for s in active(stores[d.id]) if (w := written.get((s.id, d.order.external_id)))
                      and _version(w) == _version(d))
        results[d.id] = _outcome(applied, stores[d.id], f"order {d.order.external_id}")
    conn.execute(
        "update webhook_deliveries d set status = t.status, processed_at = now(), attempts = d.attempts + 1, "
        "error = t.error from unnest(%s::uuid[], %s::text[], %s::text[]) as t(id, status, error) where d.id = t.id",
        (list(results), [r.status for r in results.values()],
         [r.detail[:_MAX_ERROR] or None for r in results.values()]))
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


# -- newest wins ---------------------------------------------------------------------------------------------


def _stored_is_newer(conn: Conn, table: str, store_id: uuid.UUID, external_id: str,
                     incoming: datetime | None) -> bool:
    """Serialises deliveries of one resource: two applies of an order not stored yet would both find no row
    to lock, and the older one could then replace the newer one's lines. A transaction-level advisory lock
    on the resource's key covers that case (and the row lock the rest)."""
    assert table in ("orders", "products", "customers")
    conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{table}:{store_id}:{external_id}",))
    row = conn.execute(f"select updated_at_platform from {table} where store_id = %s and external_id = %s "
                       "for update", (store_id, external_id)).fetchone()
    stored = None if row is None else row["updated_at_platform"]
    return stored is not None and incoming is not None and stored > incoming


def _with_stored_costs(conn: Conn, store_id: uuid.UUID, product: ProductRecord) -> ProductRecord:
    """Webhooks carry no unit cost: keep what the sync stored instead of nulling it."""
    missing = [v.external_id for v in product.variants if v.cost is None]
    if not missing:
        return product
    rows = conn.execute("select external_id, cost from variants where store_id = %s and external_id = any(%s)",
                        (store_id, missing)).fetchall()
    costs = {r["external_id"]: r["cost"] for r in rows}
    return replace(product, variants=tuple(
        replace(v, cost=costs.get(v.external_id)) if v.cost is None else v for v in product.variants))


def _save_order(conn: Conn, stores: Sequence[StoreRef], order: OrderRecord, *, replace_children: bool,
                customer: CustomerRecord | None = None) -> Applied:
    applied = 0
    for store in active(stores):
        if _stored_is_newer(conn, "orders", store.id, order.external_id, order.updated_at):
            continue
        if customer is not None:
            # Only a customer we do not know yet: the order's copy is partial and must not overwrite.
            conn.execute(
                "insert into customers (org_id, store_id, external_id, email, first_name, last_name, "
                "created_at_platform, updated_at_platform) values (%s, %s, %s, %s, %s, %s, %s, %s) "
                "on conflict (store_id, external_id) do nothing",
                (store.org_id, store.id, customer.external_id, customer.email, customer.first_name,
                 customer.last_name, customer.created_at, customer.updated_at))
        persist.upsert_orders(conn, store.org_id, store.id, [order], replace_children=replace_children)
        applied += 1
    return _outcome(applied, stores, f"order {order.external_id}")


def _save_product(conn: Conn, stores: Sequence[StoreRef], product: ProductRecord, *,
                  replace_children: bool) -> Applied:
    applied = 0
    for store in active(stores):
        if _stored_is_newer(conn, "products", store.id, product.external_id, product.updated_at):
            continue
        persist.upsert_products(conn, store.org_id, store.id, [_with_stored_costs(conn, store.id, product)],
                                replace_children=replace_children)
        conn.execute("update products set deleted_at = null where store_id = %s and external_id = %s",
                     (store.id, product.external_id))
        applied += 1
    return _outcome(applied, stores, f"product {product.external_id}")


def _outcome(applied: int, stores: Sequence[StoreRef], what: str) -> Applied:
    if applied:
        return Applied("processed", "")
    if not active(stores):
        return Applied("ignored", "no connected store")
    return Applied("processed", f"{what}: a newer version is stored")


# -- Shopify ------------------------------------------------------------------------------------------------


def _shopify_order(conn: Conn, row: dict[str, Any], stores: list[StoreRef]) -> Applied:
    raw = row["payload"]
    return _save_order(conn, stores, payloads.shopify_order(raw), replace_children=True,
                       customer=payloads.shopify_order_customer(raw))


def _shopify_order_delete(conn: Conn, row: dict[str, Any], stores: list[StoreRef]) -> Applied:
    external_id = payloads.resource_gid("Order", row["payload"])
    for store in stores:
        conn.execute("delete from orders where store_id = %s and external_id = %s", (store.id, external_id))
    return Applied("processed" if stores else "ignored")


def _shopify_product(conn: Conn, row: dict[str, Any], stores: list[StoreRef]) -> Applied:
    return _save_product(conn, stores, payloads.shopify_product(row["payload"]), replace_children=True)


def _mark_product_deleted(conn: Conn, stores: list[StoreRef], external_id: str) -> Applied:
    for store in stores:
        conn.execute("update products set deleted_at = coalesce(deleted_at, now()) "
                     "where store_id = %s and external_id = %s", (store.id, external_id))
    return Applied("processed" if stores else "ignored")


def _shopify_product_delete(conn: Conn, row: dict[str, Any], stores: list[StoreRef]) -> Applied:
    return _mark_product_deleted(conn, stores, payloads.resource_gid("Product", row["payload"]))


def _shopify_customer(conn: Conn, row: dict[str, Any], stores: list[StoreRef]) -> Applied:
    customer = payloads.shopify_customer(row["payload"])
    applied = 0
    for store in active(stores):
        if _stored_is_newer(conn, "customers", store.id, customer.external_id, customer.updated_at):
            continue
        stored = conn.execute(
            "select orders_count, total_spent, redacted_at from customers where store_id = %s and external_id = %s",
            (store.id, customer.external_id)).fetchone()
        if stored is not None and stored["redacted_at"] is not None:
            continue  # redacted: never written back
        if stored is not None:
            customer = replace(
                customer,
                orders_count=stored["orders_count"] if customer.orders_count is None else customer.orders_count,
                total_spent=stored["total_spent"] if customer.total_spent is None else customer.total_spent)
        persist.upsert_customers(conn, store.org_id, store.id, [customer])
        applied += 1
    return _outcome(applied, stores, f"customer {customer.external_id}")


def _shopify_refund(conn: Conn, row: dict[str, Any], stores: list[StoreRef]) -> Applied:
    raw = row["payload"]
    refund = payloads.shopify_refund(raw)
    order_id = payloads.gid("Order", raw.get("order_id"))
    applied = 0
    for store in active(stores):
        # Unknown order: the orders/updated that every refund triggers (or the next sync) brings it.
        applied += persist.upsert_refunds(conn, store.org_id, store.id, [(order_id, refund)])
    if applied:
        return Applied("processed")
    return Applied("ignored", "no connected store" if not active(stores) else f"order {order_id} not stored yet")


# -- WooCommerce -------------------------------------------------------------------------------------------------


def _woo_order(conn: Conn, row: dict[str, Any], stores: list[StoreRef]) -> Applied:
    # Woo's payload lists refunds without their dates: keep the stored lines and refunds (the sync replaces them).
    return _save_order(conn, stores, payloads.woo_order(row["payload"]), replace_children=False)


def _woo_order_delete(conn: Conn, row: dict[str, Any], stores: list[StoreRef]) -> Applied:
    for store in stores:
        conn.execute("delete from orders where store_id = %s and external_id = %s",
                     (store.id, str(row["payload"]["id"])))
    return Applied("processed" if stores else "ignored")


def _woo_product(conn: Conn, row: dict[str, Any], stores: list[StoreRef]) -> Applied:
    raw = row["payload"]
    # A variable product's variations are not in the payload: keep the stored ones.
    return _save_product(conn, stores, payloads.woo_product(raw), replace_children=not raw.get("variations"))


def _woo_product_delete(conn: Conn, row: dict[str, Any], stores: list[StoreRef]) -> Applied:
    return _mark_product_deleted(conn, stores, str(row["payload"]["id"]))


_HANDLERS: dict[tuple[str, str], Handler] = {
    **{("shopify", t): _shopify_order for t in (
        "orders/create", "orders/updated", "orders/cancelled", "orders/paid", "orders/fulfilled",
        "orders/partially_fulfilled")},
    ("shopify", "orders/delete"): _shopify_order_delete,
    ("shopify", "products/create"): _shopify_product,
    ("shopify", "products/update"): _shopify_product,
    ("shopify", "products/delete"): _shopify_product_delete,
    ("shopify", "customers/create"): _shopify_customer,
    ("shopify", "customers/update"): _shopify_customer,
    ("shopify", "refunds/create"): _shopify_refund,
    ("shopify", "app/uninstalled"): compliance.app_uninstalled,
    ("shopify", "customers/redact"): compliance.customers_redact,
    ("shopify", "customers/data_request"): compliance.customers_data_request,
    ("shopify", "shop/redact"): compliance.shop_redact,
    ("woocommerce", "order.created"): _woo_order,
    ("woocommerce", "order.updated"): _woo_order,
    ("woocommerce", "order.restored"): _woo_order,
    ("woocommerce", "order.deleted"): _woo_order_delete,
    ("woocommerce", "product.created"): _woo_product,
    ("woocommerce", "product.updated"): _woo_product,
    ("woocommerce", "product.restored"): _woo_product,
    ("woocommerce", "product.published"): _woo_product,
    ("woocommerce", "product.deleted"): _woo_product_delete,
}

APPLIED_TOPICS = frozenset(_HANDLERS)
