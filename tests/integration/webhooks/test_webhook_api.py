"""POST /webhooks/*: signed deliveries are recorded once and queued; forged ones are refused and not stored.
Applying a delivery (shared.webhooks.apply) is idempotent, newest-wins and redacts personal data."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from functions.http_api.app import create_app
from functions.http_api.routers import webhooks
from shared.bootstrap import Container
from shared.webhooks import SHOPIFY_APP_SECRET, WEBHOOKS_QUEUE, decode_message, woo_webhook_secret_name
from shared.webhooks.inbox import unsent_deliveries
from shared.webhooks.processing import process_delivery
from shared.webhooks.signatures import sign
from tests.support import Tenant, build_tenant

APP_SECRET = "shopify-app-secret-for-tests"
WOO_SECRET = "woo-webhook-secret-for-tests"


class RecordingBus:
    def __init__(self, app: Any = None) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.app = app
        self.down = False

    def send(self, queue: str, body: str, message_id: str) -> None:
        if self.down:
            raise ConnectionError("the bus is down")
        self.sent.append((queue, body, message_id))

    async def drained(self) -> list[tuple[str, str, str]]:
        """What was sent once the app's outbox has flushed (it queues in the background)."""
        intake = getattr(self.app.state, "webhook_intake", None)
        if intake is not None:
            await intake.outbox.drain()
        return self.sent


@pytest.fixture(scope="module")
def shop(database_url: str) -> tuple[Tenant, str, uuid.UUID]:
    """A fresh tenant (its Shopify store and domain) plus a WooCommerce store in the same organization."""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        tenant = build_tenant(conn, f"wh{uuid.uuid4().hex[:6]}")
        domain = conn.execute("select shop_domain from stores where id = %s", (tenant.store_id,)).fetchone()
        woo = conn.execute(
            "insert into stores (org_id, platform, name, base_url, currency) values (%s, 'woocommerce', 'Woo', "
            "'https://woo.example', 'EUR') returning id", (tenant.org_id,)).fetchone()
    return tenant, domain["shop_domain"], woo["id"]


@pytest.fixture
async def hooks(container: Container, shop: tuple[Tenant, str, uuid.UUID]) -> AsyncIterator[
        tuple[httpx.AsyncClient, RecordingBus]]:
    container.secrets.set(SHOPIFY_APP_SECRET, APP_SECRET)
    container.secrets.set(woo_webhook_secret_name(shop[2]), WOO_SECRET)
    app = create_app(container)
    if not any(getattr(r, "path", "") == "/webhooks/shopify" for r in app.routes):
        app.include_router(webhooks.router)
    bus = RecordingBus(app)

    async def bus_provider() -> Any:
        return lambda: bus

    app.dependency_overrides[webhooks.get_bus_provider] = bus_provider
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client, bus


def shopify_headers(body: bytes, topic: str, domain: str, webhook_id: str | None = None,
                    secret: str = APP_SECRET) -> dict[str, str]:
    return {"X-Shopify-Hmac-Sha256": sign(secret, body), "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": domain, "X-Shopify-Webhook-Id": webhook_id or uuid.uuid4().hex,
            "Content-Type": "application/json"}


def order_payload(order_id: int, updated_at: str, *, quantity: int = 1, status: str = "paid") -> dict[str, Any]:
    return {
        "id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}", "name": f"#{order_id}",
        "currency": "EUR", "created_at": "2026-11-20T10:00:00Z", "updated_at": updated_at,
        "financial_status": status, "test": False,
        "subtotal_price": str(Decimal("49.00") * quantity), "total_price": str(Decimal("49.00") * quantity),
        "customer": {"id": 1},
        "line_items": [{"id": order_id * 10, "quantity": quantity, "price": "49.00", "product_id": 1,
                        "variant_id": 11, "sku": "HOOD-BLU-M", "name": "Blue Hoodie", "discount_allocations": []}],
        "refunds": [],
    }


def rows(conn: psycopg.Connection[Any], delivery_id: str) -> list[dict[str, Any]]:
    return conn.execute("select * from webhook_deliveries where delivery_id = %s", (delivery_id,)).fetchall()


async def test_forged_signature_is_401_and_nothing_is_stored(hooks: Any, shop: Any, service_conn: Any) -> None:
    client, bus = hooks
    body = json.dumps(order_payload(7001, "2026-11-21T10:00:00Z")).encode()
    webhook_id = uuid.uuid4().hex
    forged = await client.post("/webhooks/shopify", content=body,
                               headers=shopify_headers(body, "orders/create", shop[1], webhook_id, secret="guess"))
    assert forged.status_code == 401
    assert forged.headers["content-type"] == "application/problem+json"
    headers = shopify_headers(body, "orders/create", shop[1], webhook_id)
    tampered = await client.post("/webhooks/shopify", content=body.replace(b"49.00", b"0.01"), headers=headers)
    assert tampered.status_code == 401
    del headers["X-Shopify-Hmac-Sha256"]
    missing = await client.post("/webhooks/shopify", content=body, headers=headers)
    assert missing.status_code == 401
    assert rows(service_conn, webhook_id) == []
    assert await bus.drained() == []


async def test_valid_delivery_is_recorded_queued_and_applied_once(hooks: Any, shop: Any, service_conn: Any,
                                                                  container: Container) -> None:
    client, bus = hooks
    tenant, domain, _ = shop
    body = json.dumps(order_payload(7002, "2026-11-21T10:00:00Z", quantity=2)).encode()
    webhook_id = uuid.uuid4().hex
    first = await client.post("/webhooks/shopify", content=body,
                              headers=shopify_headers(body, "orders/create", domain, webhook_id))
    assert first.status_code == 202, first.text
    ((queue, message, message_id),) = await bus.drained()
    (row,) = rows(service_conn, webhook_id)
    assert (row["status"], row["store_id"], row["org_id"], row["topic"]) == (
        "received", tenant.store_id, tenant.org_id, "orders/create")
    assert row["enqueued_at"] is not None
    assert (queue, decode_message(message), message_id) == (WEBHOOKS_QUEUE, row["id"], str(row["id"]))

    again = await client.post("/webhooks/shopify", content=body,
                              headers=shopify_headers(body, "orders/create", domain, webhook_id))
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert len(rows(service_conn, webhook_id)) == 1

    # Two queue messages for one delivery (the redelivery re-queued it): applied once.
    assert process_delivery(container.db, container.secrets, row["id"]).status == "processed"
    assert process_delivery(container.db, container.secrets, row["id"]).status == "already"
    (done,) = rows(service_conn, webhook_id)
    assert (done["status"], done["attempts"]) == ("processed", 1)
    assert done["processed_at"] is not None
    order = service_conn.execute(
        "select o.*, (select sum(quantity) from order_lines where order_id = o.id) as units from orders o "
        "where store_id = %s and external_id = 'gid://shopify/Order/7002'", (tenant.store_id,)).fetchone()
    assert (order["units"], order["total_price"], order["customer_id"]) == (2, Decimal("98.00"),
                                                                            tenant.customer_ids[0])
    after = await client.post("/webhooks/shopify", content=body,
                              headers=shopify_headers(body, "orders/create", domain, webhook_id))
    assert after.status_code == 200
    assert len(await bus.drained()) == 2  # an applied delivery is not queued again


async def test_out_of_order_updates_end_in_the_newest_state(shop: Any, service_conn: Any,
                                                            container: Container) -> None:
    tenant, domain, _ = shop
    newer = order_payload(7003, "2026-11-21T12:00:00Z", quantity=3, status="partially_refunded")
    older = order_payload(7003, "2026-11-21T11:00:00Z", quantity=1, status="paid")
    ids = []
    for payload in (newer, older):  # delivered newest first
        ids.append(service_conn.execute(
            "insert into webhook_deliveries (platform, delivery_id, topic, shop_domain, payload) "
            "values ('shopify', %s, 'orders/updated', %s, %s) returning id",
            (uuid.uuid4().hex, domain, json.dumps(payload))).fetchone()["id"])
    for delivery in ids:
        assert process_delivery(container.db, container.secrets, delivery).status == "processed"
    order = service_conn.execute(
        "select o.financial_status, o.total_price, (select sum(quantity) from order_lines where order_id = o.id) "
        "as units from orders o where store_id = %s and external_id = 'gid://shopify/Order/7003'",
        (tenant.store_id,)).fetchone()
    assert (order["financial_status"], order["units"], order["total_price"]) == (
        "partially_refunded", 3, Decimal("147.00"))
    stale = service_conn.execute("select error from webhook_deliveries where id = %s", (ids[1],)).fetchone()
    assert "newer version" in stale["error"]


async def test_customers_redact_removes_personal_data(hooks: Any, shop: Any, service_conn: Any,
                                                      container: Container) -> None:
    client, _ = hooks
    tenant, domain, _ = shop
    email = service_conn.execute("select email from customers where id = %s",
                                 (tenant.customer_ids[1],)).fetchone()["email"]
    payload = {"shop_id": 954889, "shop_domain": domain, "customer": {"id": 2, "email": email, "phone": "555"},
               "orders_to_redact": [2]}
    body = json.dumps(payload).encode()
    webhook_id = uuid.uuid4().hex
    response = await client.post("/webhooks/shopify", content=body,
                                 headers=shopify_headers(body, "customers/redact", domain, webhook_id))
    assert response.status_code == 202
    (row,) = rows(service_conn, webhook_id)
    assert process_delivery(container.db, container.secrets, row["id"]).status == "processed"
    customer = service_conn.execute("select * from customers where id = %s", (tenant.customer_ids[1],)).fetchone()
    assert (customer["email"], customer["first_name"], customer["last_name"]) == (None, None, None)
    assert customer["redacted_at"] is not None
    audit = service_conn.execute("select * from audit_log where org_id = %s and action = 'customer.redacted'",
                                 (tenant.org_id,)).fetchone()
    assert audit["target_id"] == "gid://shopify/Customer/2"
    assert email not in json.dumps(audit["details"])
    (stored,) = rows(service_conn, webhook_id)
    assert email not in json.dumps(stored["payload"])
    # A late customers/update never writes the data back.
    update = copy.deepcopy({"id": 2, "email": email, "first_name": "Back", "updated_at": "2027-01-01T00:00:00Z"})
    late = service_conn.execute(
        "insert into webhook_deliveries (platform, delivery_id, topic, shop_domain, payload) "
        "values ('shopify', %s, 'customers/update', %s, %s) returning id",
        (uuid.uuid4().hex, domain, json.dumps(update))).fetchone()["id"]
    process_delivery(container.db, container.secrets, late)
    assert service_conn.execute("select email from customers where id = %s",
                                (tenant.customer_ids[1],)).fetchone()["email"] is None


async def test_woo_ping_is_200_and_stores_nothing(hooks: Any, shop: Any, service_conn: Any) -> None:
    client, bus = hooks
    before = service_conn.execute("select count(*) as n from webhook_deliveries").fetchone()["n"]
    response = await client.post(f"/webhooks/woocommerce/{shop[2]}", content=b"webhook_id=12",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    assert service_conn.execute("select count(*) as n from webhook_deliveries").fetchone()["n"] == before
    assert await bus.drained() == []


async def test_woo_order_delivery(hooks: Any, shop: Any, service_conn: Any, container: Container) -> None:
    client, bus = hooks
    tenant, _, woo_store = shop
    payload = {"id": 727, "number": "727", "status": "processing", "currency": "EUR", "customer_id": 0,
               "date_created_gmt": "2026-03-01T10:00:00", "date_modified_gmt": "2026-03-05T09:30:00",
               "date_paid_gmt": "2026-03-01T10:01:00", "shipping_total": "5.95", "total_tax": "0.00",
               "total": "45.95", "line_items": [{"id": 11, "name": "Tee", "product_id": 5, "variation_id": 0,
                                                 "quantity": 2, "subtotal": "40.00", "total": "40.00"}],
               "refunds": []}
    body = json.dumps(payload).encode()
    headers = {"X-WC-Webhook-Signature": sign(WOO_SECRET, body), "X-WC-Webhook-Topic": "order.created",
               "X-WC-Webhook-Delivery-ID": "d41d8cd98f00b204e9800998ecf8427e", "Content-Type": "application/json"}
    forged = await client.post(f"/webhooks/woocommerce/{woo_store}", content=body,
                               headers=headers | {"X-WC-Webhook-Signature": sign(APP_SECRET, body)})
    assert forged.status_code == 401
    unknown = await client.post(f"/webhooks/woocommerce/{uuid.uuid4()}", content=body, headers=headers)
    assert unknown.status_code == 401
    response = await client.post(f"/webhooks/woocommerce/{woo_store}", content=body, headers=headers)
    assert response.status_code == 202
    ((_, message, _),) = await bus.drained()
    assert process_delivery(container.db, container.secrets, decode_message(message)).status == "processed"
    order = service_conn.execute("select * from orders where store_id = %s and external_id = '727'",
                                 (woo_store,)).fetchone()
    assert (order["org_id"], order["total_price"], order["financial_status"]) == (
        tenant.org_id, Decimal("45.95"), "paid")


async def test_a_delivery_is_acknowledged_when_the_bus_is_down_and_swept_later(
        hooks: Any, shop: Any, service_conn: Any) -> None:
    client, bus = hooks
    bus.down = True
    body = json.dumps(order_payload(7009, "2026-11-21T10:00:00Z")).encode()
    webhook_id = uuid.uuid4().hex
    response = await client.post("/webhooks/shopify", content=body,
                                 headers=shopify_headers(body, "orders/create", shop[1], webhook_id))
    assert response.status_code == 202  # the row is committed: the bus is not the platform's problem
    assert await bus.drained() == []
    (row,) = rows(service_conn, webhook_id)
    assert (row["status"], row["enqueued_at"]) == ("received", None)
    assert row["id"] in unsent_deliveries(service_conn, older_than_seconds=0)
