"""A tenant whose store is one of the fake platforms (devhost/fakes) served on a port, and its full sync run
on the local Durable engine: for tests that start from what a store's API returns."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import psycopg
from psycopg.rows import dict_row

from devhost.durable import LocalDurableEngine
from shared.config import Settings
from shared.secrets.local import LocalEncryptedSecretStore
from shared.stores.connections import credentials_secret_name
from tests.support import Tenant, build_tenant

SHOPIFY_TOKEN = "shpat_fake_integration"
WOO_KEY, WOO_SECRET = "ck_fake_integration", "cs_fake_integration"


def connect_fake_store(database_url: str, settings: Settings, platform: str, api_base_url: str, *,
                       label: str = "fake", timezone: str | None = None, currency: str | None = None) -> Tenant:
    """A new tenant whose (emptied) store is connected to the fake at `api_base_url` with the fakes'
    credentials; `timezone` and `currency` set the shop's, as connecting would have read them."""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"{label}-{uuid.uuid4().hex[:6]}")
        for table in ("orders", "customers", "products"):
            conn.execute(f"delete from {table} where store_id = %s", (t.store_id,))
        conn.execute(
            "update stores set platform = %s, shop_domain = %s, base_url = %s, api_base_url = %s, "
            "credentials_secret = %s, timezone = coalesce(%s, timezone), currency = coalesce(%s, currency) "
            "where id = %s",
            (platform, "fake-shop.myshopify.com" if platform == "shopify" else None,
             "https://woo.example.com" if platform == "woocommerce" else None, api_base_url,
             credentials_secret_name(t.store_id), timezone, currency, t.store_id))
    credentials = ({"access_token": SHOPIFY_TOKEN} if platform == "shopify"
                   else {"consumer_key": WOO_KEY, "consumer_secret": WOO_SECRET})
    LocalEncryptedSecretStore(settings.local_secrets_path, settings.local_secrets_key.get_secret_value()).set(
        credentials_secret_name(t.store_id), json.dumps(credentials))
    return t


def run_full_sync(database_url: str, engine: LocalDurableEngine, store_id: uuid.UUID,
                  timeout: float = 300) -> dict[str, Any]:
    """Start a full sync of the store, wait for it, and return its `sync_jobs` row."""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        job = conn.execute("select id, instance_id from app.create_sync_job(%s, 'full', null)", (store_id,)).fetchone()
    asyncio.run(engine.client.start("store_sync", {"job_id": str(job["id"])}, job["instance_id"]))
    engine.client.wait_for_completion(job["instance_id"], timeout=timeout)
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        row: dict[str, Any] = conn.execute("select * from sync_jobs where id = %s", (job["id"],)).fetchone()
    return row
