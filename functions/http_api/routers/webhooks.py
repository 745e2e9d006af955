"""Webhooks from Shopify and WooCommerce: the signature is the auth (no bearer token).

Each delivery is verified over the raw body, recorded once (a redelivery answers 200 "duplicate") and
queued for functions/events.py; the answer comes before any real work (the platforms give us ~5 s).
A bad or missing signature is 401 and nothing is stored. WooCommerce's unsigned ping answers 200.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from functions.http_api.deps import ContainerDep
from shared.bootstrap import Container
from shared.errors import DomainError, Unauthorized
from shared.ports import SecretNotFound, SecretStore
from shared.webhooks import (
    SHOPIFY_APP_SECRET,
    SHOPIFY_APP_SECRET_PREVIOUS,
    WEBHOOKS_QUEUE,
    MessageBus,
    bus_of,
    encode_message,
    inbox,
    woo_webhook_secret_name,
)
from shared.webhooks.signatures import is_woo_ping, verify

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
log = logging.getLogger(__name__)
_BAD_SIGNATURE = "invalid or missing webhook signature"

BusProvider = Callable[[], MessageBus]


def get_bus_provider(container: ContainerDep) -> BusProvider:
    """The bus, resolved only when a verified delivery is queued (tests override this dependency)."""
    return lambda: bus_of(container)


BusDep = Annotated[BusProvider, Depends(get_bus_provider)]


def _get_optional(secrets: SecretStore, name: str) -> str | None:
    try:
        return secrets.get(name)
    except SecretNotFound:
        return None


def _shopify_secrets(secrets: SecretStore) -> list[str]:
    return [s for s in (_get_optional(secrets, SHOPIFY_APP_SECRET),
                        _get_optional(secrets, SHOPIFY_APP_SECRET_PREVIOUS)) if s]


def _woo_secrets(secrets: SecretStore, store_id: uuid.UUID) -> list[str]:
    secret = _get_optional(secrets, woo_webhook_secret_name(store_id))
    # WooCommerce HTML-entity-decodes the stored secret before signing with it.
    return [] if not secret else list(dict.fromkeys([secret, html.unescape(secret)]))


def _json(body: bytes) -> Any:
    try:
        return inbox.parse_json(body)
    except ValueError:
        raise DomainError("the webhook body is not JSON") from None


async def _accept(container: Container, bus: BusProvider, delivery: inbox.Delivery) -> JSONResponse:
    async with container.db.as_service() as conn:
        recorded = await inbox.record(conn, delivery)
    if recorded.needs_enqueue:
        try:
            await asyncio.to_thread(bus().send, WEBHOOKS_QUEUE, encode_message(recorded.id), str(recorded.id))
        except Exception:
            # The row is committed: the sweeper (functions/events.py) queues it later. Still acknowledged.
            log.warning("could not queue webhook delivery", exc_info=True, extra={"delivery": str(recorded.id)})
        else:
            async with container.db.as_service() as conn:
                await inbox.mark_enqueued(conn, recorded.id)
    if recorded.duplicate:
        return JSONResponse({"status": "duplicate", "id": str(recorded.id)}, status_code=200)
    return JSONResponse({"status": "accepted", "id": str(recorded.id)}, status_code=202)


@router.post("/shopify", status_code=202, summary="Shopify webhook (X-Shopify-Hmac-Sha256 signed)",
             responses={200: {"description": "duplicate delivery"}, 401: {"description": "bad signature"}})
async def shopify_webhook(request: Request, container: ContainerDep, bus: BusDep) -> JSONResponse:
    body = await request.body()
    headers = request.headers
    # Deliveries through Shopify's newer Events mechanism use the same names without "X-".
    signature = headers.get("x-shopify-hmac-sha256") or headers.get("shopify-hmac-sha256")
    secrets = await asyncio.to_thread(_shopify_secrets, container.secrets)
    if not verify(secrets, body, signature):
        raise Unauthorized(_BAD_SIGNATURE)
    topic = headers.get("x-shopify-topic") or headers.get("shopify-topic")
    if not topic:
        raise DomainError("X-Shopify-Topic is missing")
    payload = _json(body)
    shop = headers.get("x-shopify-shop-domain") or headers.get("shopify-shop-domain")
    webhook_id = (headers.get("x-shopify-webhook-id") or headers.get("shopify-webhook-id")
                  or f"sha256:{hashlib.sha256(body).hexdigest()}")
    store: tuple[uuid.UUID, uuid.UUID] | None = None
    if shop:
        async with container.db.as_service() as conn:
            store = await inbox.find_shopify_store(conn, shop)
    delivery = inbox.Delivery(
        platform="shopify", delivery_id=webhook_id, topic=topic, payload=payload,
        event_id=headers.get("x-shopify-event-id") or headers.get("shopify-event-id"),
        shop_domain=shop.lower() if shop else None,
        store_id=store[0] if store else None, org_id=store[1] if store else None)
    return await _accept(container, bus, delivery)


@router.post("/woocommerce/{store_id}", status_code=202,
             summary="WooCommerce webhook (X-WC-Webhook-Signature signed; the unsigned ping answers 200)",
             responses={200: {"description": "ping, or duplicate delivery"}, 401: {"description": "bad signature"}})
async def woocommerce_webhook(store_id: uuid.UUID, request: Request, container: ContainerDep,
                              bus: BusDep) -> JSONResponse:
    body = await request.body()
    headers = request.headers
    signature = headers.get("x-wc-webhook-signature")
    if is_woo_ping(body, signature):
        return JSONResponse({"status": "ok"}, status_code=200)
    secrets = await asyncio.to_thread(_woo_secrets, container.secrets, store_id)
    if not verify(secrets, body, signature):
        raise Unauthorized(_BAD_SIGNATURE)
    topic = headers.get("x-wc-webhook-topic")
    if not topic:
        raise DomainError("X-WC-Webhook-Topic is missing")
    payload = _json(body)
    async with container.db.as_service() as conn:
        org_id = await inbox.find_woo_store(conn, store_id)
    if org_id is None:  # the store is gone; its secret should be too
        raise Unauthorized(_BAD_SIGNATURE)
    header_id = headers.get("x-wc-webhook-delivery-id") or f"sha256:{hashlib.sha256(body).hexdigest()}"
    # Woo's delivery id is a hash of webhook id and second: two resources changed in one second share it.
    resource = payload if isinstance(payload, dict) else {}
    key = f"{store_id}:{header_id}:{resource.get('id')}:{resource.get('date_modified_gmt')}"
    delivery = inbox.Delivery(platform="woocommerce", delivery_id=key, topic=topic, payload=payload,
                              event_id=header_id, store_id=store_id, org_id=org_id)
    return await _accept(container, bus, delivery)
