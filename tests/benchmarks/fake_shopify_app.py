"""The benchmark's fake Shopify, built in its own process (uvicorn --factory), so that generating the
export does not share our interpreter: the real platform is on somebody else's machine.

Environment: BENCH_FAKE_SCALE, BENCH_FAKE_REFUNDS (0/1), BENCH_FAKE_CHANGED (orders to mark updated).
"""

from __future__ import annotations

import os
from datetime import timedelta

from fastapi import FastAPI

from devhost.fakes import BulkConfig, CatalogConfig, OrderMix, ThrottleConfig, create_fake_shopify, generate_store

TOKEN = "shpat_bench_token"
BULK = BulkConfig()
THROTTLE = ThrottleConfig()
NO_REFUNDS = OrderMix(cancelled=0, partial_refund=0, full_refund=0)


def config(scale: float, refunds: bool) -> CatalogConfig:
    return CatalogConfig(products=max(3, int(10_000 * scale)), variants_per_product=3.0,
                         customers=max(1, int(50_000 * scale)), orders=int(200_000 * scale),
                         mix=OrderMix() if refunds else NO_REFUNDS)


def app() -> FastAPI:
    model = generate_store(config(float(os.environ["BENCH_FAKE_SCALE"]), os.environ.get("BENCH_FAKE_REFUNDS") == "1"))
    changed = int(os.environ.get("BENCH_FAKE_CHANGED", "0"))
    if changed:
        later = model.as_of + timedelta(hours=1)
        for order in model.orders[:: max(1, len(model.orders) // changed)][:changed]:
            order.updated_at = later
    return create_fake_shopify(model, access_token=TOKEN, throttle=THROTTLE, bulk=BULK)
