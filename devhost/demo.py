"""The demo: fake Shopify and WooCommerce stores on loopback, connected to the demo organization and synced.

A new user gets synced data within a minute of `make run`, with no credentials. The stores are connected
through the same service as `POST /stores` (credentials verified, kept in the secret store) and synced by
the same orchestration as `POST /stores/{id}/syncs`.
"""

from __future__ import annotations

import logging
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime

from devhost.servers import serve_in_thread
from shared.auth.access import load_access
from shared.auth.tokens import Principal
from shared.bootstrap import Container
from shared.errors import Conflict
from shared.identity import local_user_id
from shared.stores import connect, jobs

log = logging.getLogger("devhost.demo")


@dataclass(frozen=True)
class DemoPlatform:
    body: connect.StoreCreate  # what a merchant would POST to /api/v1/stores
    match_column: str  # shop_domain or base_url: how a restart finds the store it connected before
    match_value: str
    as_of: datetime  # the demo store's last order time: it follows the calendar (devhost.fakes.demo_config)


def start_demo_platforms(stack: ExitStack) -> list[DemoPlatform]:
    """Serve the seeded demo store behind a fake Shopify and a fake WooCommerce."""
    from devhost.fakes import (
        DEMO_SHOPIFY_TOKEN,
        DEMO_WOO_KEY,
        DEMO_WOO_SECRET,
        ThrottleConfig,
        create_fake_shopify,
        create_fake_woocommerce,
        demo_config,
        generate_store,
    )

    model = generate_store(demo_config())
    # The demo shop is on a Shopify Plus-sized bucket (1,000 points/s) so its first sync takes seconds.
    shopify = serve_in_thread(create_fake_shopify(model, access_token=DEMO_SHOPIFY_TOKEN,
                                                  throttle=ThrottleConfig(max_available=10_000, restore_rate=1_000)))
    stack.callback(shopify.stop)
    # The WooCommerce shop sells in several currencies through WooPayments: its orders in another currency carry
    # their exchange rate, except one in ten booked before WooPayments (the summary reports those as unconverted).
    foreign = [o.id for o in model.orders if o.presentment_currency != model.shop.currency]
    woo = serve_in_thread(create_fake_woocommerce(model, consumer_key=DEMO_WOO_KEY, consumer_secret=DEMO_WOO_SECRET,
                                                  multi_currency=True, rateless_orders=frozenset(foreign[::10])))
    stack.callback(woo.stop)
    domain = model.shop.domain if "." in model.shop.domain else f"{model.shop.domain}.myshopify.com"
    woo_site = "https://demo-woo.example.com"
    return [
        DemoPlatform(connect.StoreCreate(platform="shopify", name=f"{model.shop.name} (Shopify)", shop_domain=domain,
                                         credentials={"access_token": DEMO_SHOPIFY_TOKEN},
                                         api_base_url=shopify.base_url), "shop_domain", domain, model.as_of),
        DemoPlatform(connect.StoreCreate(platform="woocommerce", name=f"{model.shop.name} (WooCommerce)",
                                         base_url=woo_site, api_base_url=woo.base_url,
                                         credentials={"consumer_key": DEMO_WOO_KEY,
                                                      "consumer_secret": DEMO_WOO_SECRET}), "base_url", woo_site,
                     model.as_of),
    ]


async def ensure_demo_stores(container: Container, demo_email: str, platforms: list[DemoPlatform]) -> None:
    """Connect each demo store once, point it at this run's fake server, and sync it in full when it was not
    synced since the demo data last moved (the demo store follows the calendar, a day at a time)."""
    user = local_user_id(demo_email)
    principal = Principal(user_id=user, email=demo_email, claims={"sub": str(user), "role": "authenticated"})
    for platform in platforms:
        store_id = await _existing(container, principal, platform)
        if store_id is None:
            async with container.db.as_user(principal.claims) as conn:
                access = await load_access(conn, principal)
                store_id = await connect.connect_store(conn, access=access, body=platform.body,
                                                       clients=container.store_clients, secrets=container.secrets,
                                                       public_base_url=container.settings.public_base_url)
            log.info("connected demo store", extra={"store_id": str(store_id), "platform": platform.body.platform})
        else:
            async with container.db.as_service() as conn:
                # The fake listens on a new port each run.
                await conn.execute("update stores set api_base_url = %s where id = %s",
                                   (platform.body.api_base_url, store_id))
        if not await _synced_since(container, store_id, platform.as_of):
            try:
                await jobs.start_sync(container.db, principal, store_id=store_id, mode="full",
                                      orchestrations=container.orchestrations)
            except Conflict:
                log.info("demo store sync already running", extra={"store_id": str(store_id)})


async def _existing(container: Container, principal: Principal, platform: DemoPlatform) -> uuid.UUID | None:
    async with container.db.as_user(principal.claims) as conn:
        cur = await conn.execute(
            f"select id from stores where status = 'active' and {platform.match_column} = %s",
            (platform.match_value,))
        row = await cur.fetchone()
    return None if row is None else row["id"]


async def _synced_since(container: Container, store_id: uuid.UUID, as_of: datetime) -> bool:
    async with container.db.as_service() as conn:
        cur = await conn.execute("select exists (select 1 from sync_jobs where store_id = %s and created_at > %s) "
                                 "as yes", (store_id, as_of))
        row = await cur.fetchone()
    return bool(row and row["yes"])
