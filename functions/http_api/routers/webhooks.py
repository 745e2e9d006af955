"""Webhooks from Shopify and WooCommerce: the signature is the auth (no bearer token).

Each delivery is verified over the raw body, recorded once (a redelivery answers 200 "duplicate") and
handed to the outbox, which queues it for functions/events.py in batches; the answer comes right after the
INSERT (the platforms give us ~5 s; why that is safe: shared/webhooks/outbox.py). A bad or missing
signature is 401 and nothing is stored. WooCommerce's unsigned ping answers 200.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from shared.bootstrap import Container
from shared.errors import DomainError, Unauthorized
from shared.webhooks import MessageBus, bus_for, inbox
from shared.webhooks.intake import Intake
from shared.webhooks.outbox import Outbox
from shared.webhooks.signatures import is_woo_ping

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
log = logging.getLogger(__name__)
_BAD_SIGNATURE = "invalid or missing webhook signature"

BusProvider = Callable[[], MessageBus]


def _container(request: Request) -> Container:
    # Not ContainerDep: that dependency is sync, and a sync dependency costs a worker-thread hop per request.
    container: Container = request.app.state.container
    return container


async def get_bus_provider(request: Request) -> BusProvider:
    """The bus, resolved only when a verified delivery is queued (tests override this dependency)."""
    container = _container(request)
    return lambda: bus_for(container.settings)


BusDep = Annotated[BusProvider, Depends(get_bus_provider)]


async def get_intake(request: Request, bus: BusDep) -> Intake:
    """The app's one Intake (its caches and outbox live as long as the app and its event loop)."""
    intake: Intake | None = getattr(request.app.state, "webhook_intake", None)
    if intake is None:
        container = _container(request)
        intake = Intake(db=container.db, secrets=container.secrets, outbox=Outbox(bus, container.db))
        request.app.state.webhook_intake = intake
    return intake


IntakeDep = Annotated[Intake, Depends(get_intake)]


def _json(body: bytes) -> Any:
    try:
        return inbox.parse_json(body)
    except ValueError:
        raise DomainError("the webhook body is not JSON") from None


async def _accept(intake: Intake, delivery: inbox.Delivery) -> JSONResponse:
    recorded = await intake.accept(delivery)
    if recorded.duplicate:
        return JSONResponse({"status": "duplicate", "id": str(recorded.id)}, status_code=200)
    return JSONResponse({"status": "accepted", "id": str(recorded.id)}, status_code=202)


@router.post("/shopify", status_code=202, summary="Shopify webhook (X-Shopify-Hmac-Sha256 signed)",
             responses={200: {"description": "duplicate delivery"}, 401: {"description": "bad signature"}})
async def shopify_webhook(request: Request, intake: IntakeDep) -> JSONResponse:
    body = await request.body()
    headers = request.headers
    # Deliveries through Shopify's newer Events mechanism use the same names without "X-".
    signature = headers.get("x-shopify-hmac-sha256") or headers.get("shopify-hmac-sha256")
    if not await intake.verify_shopify(body, signature):
        raise Unauthorized(_BAD_SIGNATURE)
    topic = headers.get("x-shopify-topic") or headers.get("shopify-topic")
    if not topic:
        raise DomainError("X-Shopify-Topic is missing")
    payload = _json(body)
    shop = headers.get("x-shopify-shop-domain") or headers.get("shopify-shop-domain")
    webhook_id = (headers.get("x-shopify-webhook-id") or headers.get("shopify-webhook-id")
                  or f"sha256:{hashlib.sha256(body).hexdigest()}")
    store = await intake.shopify_store(shop) if shop else None
    delivery = inbox.Delivery(
        platform="shopify", delivery_id=webhook_id, topic=topic, payload=payload,
        event_id=headers.get("x-shopify-event-id") or headers.get("shopify-event-id"),
        shop_domain=shop.lower() if shop else None,
        store_id=store[0] if store else None, org_id=store[1] if store else None)
    return await _accept(intake, delivery)


@router.post("/woocommerce/{store_id}", status_code=202,
             summary="WooCommerce webhook (X-WC-Webhook-Signature signed; the unsigned ping answers 200)",
             responses={200: {"description": "ping, or duplicate delivery"}, 401: {"description": "bad signature"}})
async def woocommerce_webhook(store_id: uuid.UUID, request: Request, intake: IntakeDep) -> JSONResponse:
    body = await request.body()
    headers = request.headers
    signature = headers.get("x-wc-webhook-signature")
    if is_woo_ping(body, signature):
        return JSONResponse({"status": "ok"}, status_code=200)
    if not await intake.verify_woo(store_id, body, signature):
        raise Unauthorized(_BAD_SIGNATURE)
    topic = headers.get("x-wc-webhook-topic")
    if not topic:
        raise DomainError("X-WC-Webhook-Topic is missing")
    payload = _json(body)
    org_id = await intake.woo_org(store_id)
    if org_id is None:  # the store is gone; its secret should be too
        raise Unauthorized(_BAD_SIGNATURE)
    header_id = headers.get("x-wc-webhook-delivery-id") or f"sha256:{hashlib.sha256(body).hexdigest()}"
    # Woo's delivery id is a hash of webhook id and second: two resources changed in one second share it.
    resource = payload if isinstance(payload, dict) else {}
    key = f"{store_id}:{header_id}:{resource.get('id')}:{resource.get('date_modified_gmt')}"
    delivery = inbox.Delivery(platform="woocommerce", delivery_id=key, topic=topic, payload=payload,
                              event_id=header_id, store_id=store_id, org_id=org_id)
    return await _accept(intake, delivery)
