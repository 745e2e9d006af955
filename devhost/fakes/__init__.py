"""Fake Shopify and WooCommerce back ends that follow the real contracts.

They serve one seeded, platform-neutral store model (`generate_store`) to the local demo store
and to the sync clients' tests. Run one on a port with uvicorn's factory mode:

    .venv/bin/uvicorn devhost.fakes:demo_shopify_app --factory --port 8081
    .venv/bin/uvicorn devhost.fakes:demo_woocommerce_app --factory --port 8082

or build your own: `create_fake_shopify(generate_store(CatalogConfig(orders=200_000)), access_token=...)`.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from fastapi import FastAPI

from devhost.fakes.catalog import CatalogConfig, generate_store
from devhost.fakes.catalog_orders import OrderMix
from devhost.fakes.clock import Clock, ManualClock, monotonic_clock
from devhost.fakes.faults import ApiStats, FaultConfig
from devhost.fakes.model import StoreModel
from devhost.fakes.shopify import create_fake_shopify
from devhost.fakes.shopify_bulk import BulkConfig
from devhost.fakes.shopify_cost import ShopifyStats, ThrottleConfig
from devhost.fakes.woocommerce import create_fake_woocommerce

# Credentials of the demo apps: fake stores only, never valid anywhere real.
DEMO_SHOPIFY_TOKEN = "shpat_fake_demo"  # noqa: S105
DEMO_WOO_KEY = "ck_fake_demo"
DEMO_WOO_SECRET = "cs_fake_demo"  # noqa: S105


def demo_config(now: datetime | None = None) -> CatalogConfig:
    """The demo store `make run` serves: the default catalog, its year of orders ending yesterday (17:00 UTC).

    Tests use `generate_store()` with its fixed date, so their figures never move; the demo follows the
    calendar, so the analytics and the advisor's "last 28 days" always have data to show (the same store
    for a whole UTC day: same seed, same date).
    """
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    return CatalogConfig(as_of=datetime.combine(today - timedelta(days=1), time(17, 0), tzinfo=UTC))


def demo_shopify_app() -> FastAPI:
    """The demo store behind a fake Shopify, token `DEMO_SHOPIFY_TOKEN` (uvicorn --factory)."""
    return create_fake_shopify(generate_store(demo_config()), access_token=DEMO_SHOPIFY_TOKEN)


def demo_woocommerce_app() -> FastAPI:
    """The demo store behind a fake WooCommerce, keys `DEMO_WOO_KEY`/`DEMO_WOO_SECRET` (uvicorn --factory)."""
    return create_fake_woocommerce(generate_store(demo_config()), consumer_key=DEMO_WOO_KEY,
                                   consumer_secret=DEMO_WOO_SECRET)


__all__ = [
    "DEMO_SHOPIFY_TOKEN",
    "DEMO_WOO_KEY",
    "DEMO_WOO_SECRET",
    "ApiStats",
    "BulkConfig",
    "CatalogConfig",
    "Clock",
    "FaultConfig",
    "ManualClock",
    "OrderMix",
    "ShopifyStats",
    "StoreModel",
    "ThrottleConfig",
    "create_fake_shopify",
    "create_fake_woocommerce",
    "demo_config",
    "demo_shopify_app",
    "demo_woocommerce_app",
    "generate_store",
    "monotonic_clock",
]
