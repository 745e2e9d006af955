"""Shopify's app and privacy topics: app/uninstalled and the mandatory GDPR webhooks.

Redaction nulls the customer's e-mail and names, sets redacted_at and blanks the stored payloads that
carried them; audit entries name ids, never personal data.
"""

from __future__ import annotations

import uuid
from typing import Any

from psycopg.types.json import Jsonb

from shared.webhooks import payloads
from shared.webhooks.outcomes import Applied, Conn, StoreRef, active, audit


def app_uninstalled(conn: Conn, row: dict[str, Any], stores: list[StoreRef]) -> Applied:
    """Stop syncs, mark the store disconnected, drop its token (after commit). Data waits for shop/redact."""
    result = Applied("processed" if active(stores) else "ignored")
    for store in active(stores):
        conn.execute(
            "update sync_jobs set status = 'cancelled', finished_at = now(), "
            "errors = errors || '[{\"message\": \"app uninstalled\"}]'::jsonb "
            "where store_id = %s and status in ('queued', 'running')", (store.id,))
        conn.execute("update stores set status = 'disconnected', credentials_secret = null, updated_at = now() "
                     "where id = %s", (store.id,))
        audit(conn, store.org_id, "store.app_uninstalled", "store", str(store.id), {"delivery": str(row["id"])})
        if store.credentials_secret:
            result.secrets_to_delete.append(store.credentials_secret)
    return result


def customers_redact(conn: Conn, row: dict[str, Any], stores: list[StoreRef]) -> Applied:
    raw = row["payload"]
    customer = raw.get("customer") or {}
    numeric_id = customer.get("id")
    external_id = payloads.gid("Customer", numeric_id) if numeric_id else None
    email = customer.get("email") or None
    orders = [str(o) for o in raw.get("orders_to_redact") or ()]
    for store in stores:
        redacted = conn.execute(
            "update customers set email = null, first_name = null, last_name = null, "
            "redacted_at = coalesce(redacted_at, now()) where store_id = %s and (external_id = %s "
            "or (%s::text is not null and lower(email) = lower(%s::text))) returning external_id",
            (store.id, external_id, email, email)).fetchall()
        audit(conn, store.org_id, "customer.redacted", "customer", external_id or "",
               {"delivery": str(row["id"]), "customers": len(redacted), "orders_to_redact": len(orders)})
    if not stores:
        audit(conn, None, "customer.redacted", "customer", external_id or "",
               {"delivery": str(row["id"]), "customers": 0, "shop_domain": row["shop_domain"]})
    # The personal data also sits in stored payloads: this one and earlier ones about that customer.
    conn.execute(
        "update webhook_deliveries set payload = '{\"redacted\": true}'::jsonb where platform = 'shopify' "
        "and lower(shop_domain) = lower(%s) and id <> %s and ((topic like 'customers/%%' and payload->>'id' = %s) "
        "or payload->'customer'->>'id' = %s or payload->>'customer_id' = %s)",
        (row["shop_domain"], row["id"], str(numeric_id), str(numeric_id), str(numeric_id)))
    conn.execute("update webhook_deliveries set payload = %s where id = %s",
                 (Jsonb({"customer": {"id": numeric_id}, "orders_to_redact": raw.get("orders_to_redact") or []}),
                  row["id"]))
    return Applied("processed" if stores else "ignored", "" if stores else "no store for this shop")


def customers_data_request(conn: Conn, row: dict[str, Any], stores: list[StoreRef]) -> Applied:
    """Recorded for the merchant and operators; what we hold is the customer row and their orders."""
    raw = row["payload"]
    customer = raw.get("customer") or {}
    external_id = payloads.gid("Customer", customer["id"]) if customer.get("id") else ""
    details = {"delivery": str(row["id"]), "data_request": (raw.get("data_request") or {}).get("id"),
               "orders_requested": len(raw.get("orders_requested") or ())}
    orgs: list[uuid.UUID | None] = [s.org_id for s in stores] or [None]
    for org_id in orgs:
        audit(conn, org_id, "customer.data_requested", "customer", external_id, details)
    return Applied("processed" if stores else "ignored", "" if stores else "no store for this shop")


def shop_redact(conn: Conn, row: dict[str, Any], stores: list[StoreRef]) -> Applied:
    """Delete everything of that shop: its stores (every synced row cascades) and its stored deliveries."""
    result = Applied("processed" if stores else "ignored", "" if stores else "no store for this shop")
    for store in stores:
        conn.execute("delete from stores where id = %s", (store.id,))
        audit(conn, store.org_id, "store.redacted", "store", str(store.id), {"delivery": str(row["id"])})
        if store.credentials_secret:
            result.secrets_to_delete.append(store.credentials_secret)
    conn.execute("delete from webhook_deliveries where platform = 'shopify' and lower(shop_domain) = lower(%s) "
                 "and id <> %s", (row["shop_domain"], row["id"]))
    conn.execute("update webhook_deliveries set payload = %s where id = %s",
                 (Jsonb({"shop_domain": row["shop_domain"]}), row["id"]))
    return result
