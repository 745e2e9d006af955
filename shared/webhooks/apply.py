"""Applying one recorded delivery to the database: idempotent, newest-wins, bookkeeping in the same transaction.

`apply_delivery` (run by shared/webhooks/processing.py, alone or in a batch under a savepoint) locks the
delivery row, does nothing when it is no longer `received` (a redelivered queue message), applies the
topic and marks the row processed (or ignored) before its transaction commits: a delivery is applied once
or not at all. A failure rolls its work back and raises; the bus redelivers and, after its max delivery
count, dead-letters the message (the row keeps the last error).

Newest wins: persist only replaces a row whose platform updated_at is not newer, and an order or product
whose stored version is newer is skipped whole here, so its lines, refunds and variants are not rolled
back either. shared/webhooks/apply_orders.py does for a batch's order creates and updates what `_save_order`
does for one, in a handful of statements for all of them. Personal data: redaction nulls the customer's e-mail
and names, sets redacted_at and blanks the stored payloads that carried them; audit entries name ids, never
personal data.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from shared.stores import persist
from shared.stores.records import CustomerRecord, OrderRecord, ProductRecord
from shared.webhooks import compliance, payloads
from shared.webhooks.outcomes import Applied, Conn, Handler, StoreRef, active

log = logging.getLogger(__name__)
MAX_ERROR = 500


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
        "where id = %s", (result.status, result.detail[:MAX_ERROR] or None, delivery_id))
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
    return outcome(applied, stores, f"order {order.external_id}")


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
    return outcome(applied, stores, f"product {product.external_id}")


def outcome(applied: int, stores: Sequence[StoreRef], what: str) -> Applied:
    """A delivery's result once written to `applied` of `stores` (0: every active one holds a newer version)."""
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
    return outcome(applied, stores, f"customer {customer.external_id}")


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
    order = payloads.woo_order(row["payload"])
    listed = [(order, payloads.woo_refund_ids(row["payload"]))]
    unread = [store.id for store in active(stores) if refunds_need_sync(conn, store.id, listed)]
    result = _save_order(conn, stores, order, replace_children=False)
    for store_id in unread:  # after the order's lock, as a batch does
        request_sync(conn, store_id)
    return result


def refunds_need_sync(conn: Conn, store_id: uuid.UUID, orders: Sequence[tuple[OrderRecord, Sequence[str]]]) -> bool:
    """WooCommerce orders from webhooks, with the refund ids each lists, before they are written: True when only a
    sync can bring the stored refunds up to date. That is, a listed refund is not stored, a stored one is no
    longer listed, or the stored refunds are in another currency than the order now is (its exchange rate came
    later). Woo has no refund topic: a refund arrives as `order.updated` listing {id, reason, total}."""
    if not orders:
        return False
    pairs = [(order.external_id, refund) for order, refunds in orders for refund in refunds]
    row = conn.execute(
        "select exists (select 1 from unnest(%(refunds)s::text[]) l(external_id) where not exists ("
        "  select 1 from refunds r where r.store_id = %(store)s and r.external_id = l.external_id))"
        " or exists (select 1 from orders o join unnest(%(orders)s::text[], %(currencies)s::text[]) as w(external_id,"
        "  currency) on o.external_id = w.external_id join refunds r on r.order_id = o.id"
        "  where o.store_id = %(store)s and (o.currency <> w.currency::bpchar or not exists ("
        "   select 1 from unnest(%(pair_orders)s::text[], %(refunds)s::text[]) l(order_id, external_id)"
        "   where l.order_id = o.external_id and l.external_id = r.external_id))) as unread",
        {"store": store_id, "orders": [order.external_id for order, _ in orders],
         "currencies": [order.currency for order, _ in orders], "pair_orders": [o for o, _ in pairs],
         "refunds": [r for _, r in pairs]}).fetchone()
    return bool(row and row["unread"])


def request_sync(conn: Conn, store_id: uuid.UUID) -> None:
    """Ask for the store's next incremental sync: `start_due_syncs` starts one whatever its freshness setting."""
    conn.execute("update stores set sync_requested_at = now() where id = %s", (store_id,))


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


def order_platform(row: dict[str, Any]) -> str | None:
    """The platform whose order create/update the delivery's topic is, or None (any other topic): the deliveries
    shared/webhooks/apply_orders.py may apply together."""
    handler = _HANDLERS.get((row["platform"], row["topic"]))
    return row["platform"] if handler in (_shopify_order, _woo_order) else None
