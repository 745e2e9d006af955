"""Test worlds: organizations with users, tokens, a store and its catalog, inserted as the service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import psycopg

from shared.auth.tokens import mint_token
from shared.identity import ensure_membership, ensure_org, ensure_user

JWT_SECRET = "test-jwt-secret-at-least-32-bytes-long!!"


@dataclass
class Tenant:
    org_id: uuid.UUID
    admin_id: uuid.UUID
    member_id: uuid.UUID
    store_id: uuid.UUID
    admin_token: str
    member_token: str
    product_ids: list[uuid.UUID] = field(default_factory=list)
    order_ids: list[uuid.UUID] = field(default_factory=list)
    customer_ids: list[uuid.UUID] = field(default_factory=list)

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    @property
    def member(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.member_token}"}


def token_for(user_id: uuid.UUID, email: str, **kwargs: Any) -> str:
    return mint_token(secret=JWT_SECRET, user_id=user_id, email=email, **kwargs)


PRODUCTS = [
    ("Blue Hoodie", "Acme", "Apparel", ["winter", "cotton"], [("HOOD-BLU-S", "49.00", 3), ("HOOD-BLU-M", "49.00", 12)]),
    ("Red Scarf", "Acme", "Accessories", ["winter"], [("SCARF-RED", "19.50", 0)]),
    ("Green Mug", "Potters", "Kitchen", ["gift"], [("MUG-GRN", "12.00", 40)]),
    ("Canvas Tote", "Bags&Co", "Accessories", [], [("TOTE-1", "25.00", 8)]),
]


def build_tenant(conn: psycopg.Connection[Any], label: str, *, currency: str = "EUR") -> Tenant:
    """An organization with an admin, a member, one Shopify store, four products, customers and orders."""
    admin = ensure_user(conn, f"admin-{label}@example.com")
    member = ensure_user(conn, f"member-{label}@example.com")
    org = ensure_org(conn, f"Org {label}", uuid.uuid4())
    ensure_membership(conn, org, admin, "admin")
    ensure_membership(conn, org, member, "member")
    store = conn.execute(
        "insert into stores (org_id, platform, name, shop_domain, currency, timezone) "
        "values (%s, 'shopify', %s, %s, %s, 'Europe/Berlin') returning id",
        (org, f"Store {label}", f"{label}-{uuid.uuid4().hex[:6]}.myshopify.com", currency),
    ).fetchone()["id"]
    t = Tenant(org, admin, member, store, token_for(admin, f"admin-{label}@example.com"),
               token_for(member, f"member-{label}@example.com"))
    for i, (title, vendor, ptype, tags, variants) in enumerate(PRODUCTS):
        pid = conn.execute(
            "insert into products (org_id, store_id, external_id, title, vendor, product_type, tags, skus, "
            "updated_at_platform) values (%s, %s, %s, %s, %s, %s, %s, %s, now() - %s * interval '1 day') "
            "returning id",
            (org, store, f"gid://shopify/Product/{i + 1}", title, vendor, ptype, tags, [v[0] for v in variants], i),
        ).fetchone()["id"]
        t.product_ids.append(pid)
        for j, (sku, price, qty) in enumerate(variants):
            conn.execute(
                "insert into variants (org_id, store_id, product_id, external_id, sku, title, price, cost, "
                "inventory_quantity) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (org, store, pid, f"gid://shopify/ProductVariant/{i + 1}{j}", sku, sku, price, None, qty),
            )
    for k in range(3):
        cid = conn.execute(
            "insert into customers (org_id, store_id, external_id, email, first_name, last_name, "
            "created_at_platform) values (%s, %s, %s, %s, %s, %s, now() - %s * interval '1 day') returning id",
            (org, store, f"gid://shopify/Customer/{k + 1}", f"buyer{k}-{label}@shop.test", f"Buyer{k}", label, k),
        ).fetchone()["id"]
        t.customer_ids.append(cid)
        oid = conn.execute(
            "insert into orders (org_id, store_id, external_id, name, customer_id, placed_at, currency, subtotal, "
            "total_price) values (%s, %s, %s, %s, %s, now() - %s * interval '1 hour', %s, 49.00, 49.00) returning id",
            (org, store, f"gid://shopify/Order/{k + 1}", f"#{1000 + k}", cid, k, currency),
        ).fetchone()["id"]
        t.order_ids.append(oid)
        conn.execute(
            "insert into order_lines (org_id, store_id, order_id, external_id, product_id, sku, title, quantity, "
            "unit_price) values (%s, %s, %s, %s, %s, 'HOOD-BLU-M', 'Blue Hoodie', 1, 49.00)",
            (org, store, oid, f"gid://shopify/LineItem/{k + 1}", t.product_ids[0]),
        )
    return t


def insert_synced_store(conn: psycopg.Connection[Any], t: Tenant, platform: str, tz: str, name: str) -> uuid.UUID:
    """A USD store of `t` in zone `tz`, synced an hour ago by one succeeded full sync (what analytics rest on)."""
    key = f"{name.lower()[:3]}-{uuid.uuid4().hex[:6]}"
    column, value = ("shop_domain", f"{key}.myshopify.com") if platform == "shopify" \
        else ("base_url", f"https://{key}.example")
    store: uuid.UUID = conn.execute(
        f"insert into stores (org_id, platform, name, {column}, currency, timezone, last_synced_at) "
        "values (%s, %s, %s, %s, 'USD', %s, now() - interval '1 hour') returning id",
        (t.org_id, platform, name, value, tz)).fetchone()["id"]
    conn.execute("insert into sync_jobs (org_id, store_id, mode, status, instance_id, finished_at) "
                 "values (%s, %s, 'full', 'succeeded', %s, now())", (t.org_id, store, f"sync-{store}-1"))
    return store
