"""Applying deliveries: uninstall, GDPR shop redaction and data requests, products, refunds, failures."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from shared.bootstrap import Container
from shared.ports import SecretNotFound
from shared.stores.platform import PlatformError
from shared.webhooks.processing import process_batch, process_delivery


def deliver(conn: psycopg.Connection[Any], domain: str, topic: str, payload: Any) -> uuid.UUID:
    delivery: uuid.UUID = conn.execute(
        "insert into webhook_deliveries (platform, delivery_id, topic, shop_domain, payload) "
        "values ('shopify', %s, %s, %s, %s) returning id",
        (uuid.uuid4().hex, topic, domain, json.dumps(payload))).fetchone()["id"]
    return delivery


def test_app_uninstalled_disconnects_the_store(tenant: Any, service_conn: Any, container: Container) -> None:
    t, domain = tenant
    secret = f"store-{t.store_id}-credentials"
    container.secrets.set(secret, "{}")
    service_conn.execute("update stores set credentials_secret = %s where id = %s", (secret, t.store_id))
    service_conn.execute("insert into sync_jobs (org_id, store_id, mode, instance_id, status) "
                         "values (%s, %s, 'full', %s, 'running')", (t.org_id, t.store_id, f"sync-{t.store_id}-1"))
    delivery = deliver(service_conn, domain, "app/uninstalled", {"id": 1, "domain": domain})
    assert process_delivery(container.db, container.secrets, delivery).status == "processed"
    store = service_conn.execute("select * from stores where id = %s", (t.store_id,)).fetchone()
    assert (store["status"], store["credentials_secret"]) == ("disconnected", None)
    job = service_conn.execute("select status from sync_jobs where store_id = %s", (t.store_id,)).fetchone()
    assert job["status"] == "cancelled"
    with pytest.raises(SecretNotFound):
        container.secrets.get(secret)
    assert service_conn.execute("select count(*) as n from audit_log where org_id = %s and "
                                "action = 'store.app_uninstalled'", (t.org_id,)).fetchone()["n"] == 1
    # Data stays until shop/redact; later order webhooks for a disconnected store change nothing.
    assert service_conn.execute("select count(*) as n from orders where store_id = %s",
                                (t.store_id,)).fetchone()["n"] == 3


def test_shop_redact_purges_the_shop(tenant: Any, service_conn: Any, container: Container) -> None:
    t, domain = tenant
    earlier = deliver(service_conn, domain, "customers/update", {"id": 1, "email": "x@y.z"})
    delivery = deliver(service_conn, domain, "shop/redact", {"shop_id": 1, "shop_domain": domain})
    assert process_delivery(container.db, container.secrets, delivery).status == "processed"
    for table in ("stores", "products", "customers", "orders", "order_lines"):
        column = "id" if table == "stores" else "store_id"
        assert service_conn.execute(f"select count(*) as n from {table} where {column} = %s",
                                    (t.store_id,)).fetchone()["n"] == 0, table
    assert service_conn.execute("select count(*) as n from webhook_deliveries where id = %s",
                                (earlier,)).fetchone()["n"] == 0
    audit = service_conn.execute("select * from audit_log where org_id = %s and action = 'store.redacted'",
                                 (t.org_id,)).fetchone()
    assert audit["target_id"] == str(t.store_id)


def test_customers_data_request_is_audited(tenant: Any, service_conn: Any, container: Container) -> None:
    t, domain = tenant
    delivery = deliver(service_conn, domain, "customers/data_request", {
        "shop_domain": domain, "customer": {"id": 3, "email": "buyer@shop.test"}, "orders_requested": [3],
        "data_request": {"id": 9999}})
    assert process_delivery(container.db, container.secrets, delivery).status == "processed"
    audit = service_conn.execute("select * from audit_log where org_id = %s and action = 'customer.data_requested'",
                                 (t.org_id,)).fetchone()
    assert audit["target_id"] == "gid://shopify/Customer/3"
    assert audit["details"]["data_request"] == 9999
    assert "buyer@shop.test" not in json.dumps(audit["details"])


def product(updated_at: str, title: str) -> dict[str, Any]:
    return {"id": 1, "title": title, "status": "active", "vendor": "Acme", "tags": "winter", "updated_at": updated_at,
            "variants": [{"id": 10, "sku": "HOOD-BLU-S", "price": "59.00", "inventory_quantity": 2,
                          "inventory_management": "shopify", "updated_at": updated_at}]}


def test_product_update_keeps_cost_and_newest_wins(tenant: Any, service_conn: Any, container: Container) -> None:
    t, domain = tenant
    service_conn.execute("update variants set cost = 20 where store_id = %s and external_id = "
                         "'gid://shopify/ProductVariant/10'", (t.store_id,))
    newer = deliver(service_conn, domain, "products/update", product("2030-01-02T00:00:00Z", "Hoodie v2"))
    older = deliver(service_conn, domain, "products/update", product("2030-01-01T00:00:00Z", "Hoodie v1"))
    for delivery in (newer, older):
        process_delivery(container.db, container.secrets, delivery)
    row = service_conn.execute("select title from products where store_id = %s and external_id = "
                               "'gid://shopify/Product/1'", (t.store_id,)).fetchone()
    assert row["title"] == "Hoodie v2"
    variants = service_conn.execute(
        "select external_id, price, cost, inventory_quantity from variants v where store_id = %s and product_id = "
        "(select id from products where store_id = %s and external_id = 'gid://shopify/Product/1')",
        (t.store_id, t.store_id)).fetchall()
    # The variant the product no longer has is gone; the remaining one keeps its synced cost.
    assert [(v["external_id"], v["price"], v["cost"], v["inventory_quantity"]) for v in variants] == [
        ("gid://shopify/ProductVariant/10", Decimal("59.00"), Decimal("20.00"), 2)]


def test_refund_for_a_stored_order(tenant: Any, service_conn: Any, container: Container) -> None:
    t, domain = tenant
    refund = {"id": 77, "order_id": 1, "created_at": "2026-11-22T09:00:00Z",
              "refund_line_items": [{"line_item_id": 1, "quantity": 1,
                                     "subtotal_set": {"shop_money": {"amount": "49.00"}}}],
              "transactions": [{"kind": "refund", "status": "success", "amount": "49.00"}]}
    delivery = deliver(service_conn, domain, "refunds/create", refund)
    assert process_delivery(container.db, container.secrets, delivery).status == "processed"
    row = service_conn.execute(
        "select r.total, l.subtotal, l.order_line_id is not null as linked from refunds r "
        "join refund_lines l on l.refund_id = r.id where r.store_id = %s and r.external_id = 'gid://shopify/Refund/77'",
        (t.store_id,)).fetchone()
    assert (row["total"], row["subtotal"], row["linked"]) == (Decimal("49.00"), Decimal("49.00"), True)
    orphan = deliver(service_conn, domain, "refunds/create", refund | {"id": 78, "order_id": 424242})
    assert process_delivery(container.db, container.secrets, orphan).status == "ignored"


def test_failure_raises_keeps_the_delivery_and_notes_the_error(tenant: Any, service_conn: Any,
                                                                container: Container) -> None:
    _, domain = tenant
    delivery = deliver(service_conn, domain, "orders/create", {"id": 5, "updated_at": "2026-11-22T09:00:00Z"})
    with pytest.raises(PlatformError):
        process_delivery(container.db, container.secrets, delivery)
    row = service_conn.execute("select * from webhook_deliveries where id = %s", (delivery,)).fetchone()
    assert (row["status"], row["attempts"]) == ("received", 1)
    assert "created_at" in row["error"]


def test_unknown_topic_and_unknown_shop_are_ignored(tenant: Any, service_conn: Any, container: Container) -> None:
    _, domain = tenant
    topic = deliver(service_conn, domain, "inventory_levels/update", {"inventory_item_id": 1})
    assert process_delivery(container.db, container.secrets, topic).status == "ignored"
    shop = deliver(service_conn, "nobody.myshopify.com", "orders/create",
                   {"id": 1, "created_at": "2026-11-22T09:00:00Z"})
    assert process_delivery(container.db, container.secrets, shop).status == "ignored"


def test_a_batch_applies_the_good_deliveries_and_resends_a_failing_one_alone(
        tenant: Any, service_conn: Any, container: Container) -> None:
    _, domain = tenant
    ignored = deliver(service_conn, domain, "inventory_levels/update", {"inventory_item_id": 2})
    bad = deliver(service_conn, domain, "orders/create", {"id": 6, "updated_at": "2026-11-22T09:00:00Z"})
    gone = uuid.uuid4()  # purged by shop/redact after it was queued
    resent: list[list[uuid.UUID]] = []
    results = process_batch(container.db, container.secrets, [ignored, bad, gone], resend=resent.append)
    assert sorted(r.status for r in results) == ["already", "ignored"]
    assert resent == [[bad]]
    rows = {r["id"]: r for r in service_conn.execute(
        "select id, status, attempts, error from webhook_deliveries where id = any(%s)", ([ignored, bad],))}
    assert (rows[ignored]["status"], rows[ignored]["attempts"]) == ("ignored", 1)
    assert (rows[bad]["status"], rows[bad]["attempts"]) == ("received", 1)
    assert "created_at" in rows[bad]["error"]
    # Again (the bus redelivered the batch): nothing is applied twice.
    again = process_batch(container.db, container.secrets, [ignored, bad], resend=resent.append)
    assert [r.status for r in again] == ["already"]
