"""Connecting a store: validate, verify the credentials with one real call, keep them only in the SecretStore."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from secrets import token_urlsafe
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from shared.auth.access import Access
from shared.errors import FieldError, UpstreamUnavailable, ValidationFailed
from shared.ports import SecretNotFound, SecretStore
from shared.stores.connections import ClientFactory, StoreConnection, credentials_secret_name
from shared.stores.platform import (
    InvalidCredentials,
    PlatformError,
    PlatformUnavailable,
    WebhookRegistrar,
    WebhookSubscription,
)
from shared.stores.records import ShopInfo
from shared.stores.unsubscribe import lock_shopify_shop
from shared.stores.urls import is_loopback
from shared.webhooks import woo_webhook_secret_name

log = logging.getLogger(__name__)

_SHOP_DOMAIN = r"^[a-z0-9][a-z0-9-]{0,60}\.myshopify\.com$"


class ShopifyCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid")
    access_token: SecretStr = Field(min_length=8, max_length=500)


class WooCommerceCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid")
    consumer_key: SecretStr = Field(min_length=8, max_length=200)
    consumer_secret: SecretStr = Field(min_length=8, max_length=200)


class StoreCreate(BaseModel):
    """POST /stores body. Credentials go to the secret store and are never returned."""

    model_config = ConfigDict(extra="forbid")

    platform: Literal["shopify", "woocommerce"]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    shop_domain: Annotated[str | None, Field(pattern=_SHOP_DOMAIN, max_length=100)] = None
    base_url: Annotated[str | None, Field(max_length=300)] = None
    credentials: dict[str, Any]
    api_base_url: Annotated[str | None, Field(max_length=300)] = None
    org_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _platform_fields(self) -> StoreCreate:
        if self.platform == "shopify":
            if not self.shop_domain:
                raise ValueError("shop_domain (your-shop.myshopify.com) is required for Shopify")
            ShopifyCredentials.model_validate(self.credentials)
        else:
            if not self.base_url:
                raise ValueError("base_url (https://your-store.example) is required for WooCommerce")
            _check_url(self.base_url, "base_url")
            WooCommerceCredentials.model_validate(self.credentials)
        if self.api_base_url:
            _check_url(self.api_base_url, "api_base_url")
        return self


def _check_url(url: str, name: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
        raise ValueError(f"{name} must be an http(s) URL without credentials")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError(f"{name} must use https")



def check_api_base_url(api_base_url: str | None, *, allowed_hosts: list[str], local: bool) -> None:
    """An origin override is for tests, staging and self-hosted stores: loopback locally, else allowlisted.

    Without this rule a caller could point our servers at any internal address (SSRF).
    """
    if api_base_url is None:
        return
    host = urlsplit(api_base_url).hostname or ""
    if (local and is_loopback(host)) or host in allowed_hosts:
        return
    raise ValidationFailed("api_base_url is not allowed", [FieldError(["body", "api_base_url"],
                                                                       "host not in API_BASE_URL_ALLOWLIST")])


def _verify(clients: ClientFactory, connection: StoreConnection) -> ShopInfo:
    client = clients(connection)
    try:
        return client.verify()
    finally:
        client.close()


async def connect_store(conn: AsyncConnection[DictRow], *, access: Access, body: StoreCreate,
                        clients: ClientFactory, secrets: SecretStore, public_base_url: str = "") -> uuid.UUID:
    """Verify with the platform, then save the secret and the store; nothing is kept when a step fails.

    With a `public_base_url` the store's webhooks are then registered (see `register_store_webhooks`); a
    failure there is logged and audited, never raised: the store still works through syncs.
    """
    org_id = body.org_id or access.default_org()
    access.require_admin(org_id, "organization")
    credentials = {k: (v.get_secret_value() if isinstance(v, SecretStr) else str(v))
                   for k, v in body.credentials.items()}
    connection = StoreConnection(body.platform, body.shop_domain, body.base_url, body.api_base_url, credentials)
    try:
        shop = await asyncio.to_thread(_verify, clients, connection)
    except InvalidCredentials:
        raise ValidationFailed(f"{body.platform} refused the credentials (check the token or keys and their "
                               "read scopes)", [FieldError(["body", "credentials"], "rejected by the platform")]
                               ) from None
    except PlatformUnavailable as exc:
        raise UpstreamUnavailable(f"could not reach {body.platform}: {exc}") from None
    except PlatformError as exc:
        raise UpstreamUnavailable(f"{body.platform} answered unexpectedly: {exc}") from None
    store_id = uuid.uuid4()
    secret_name = credentials_secret_name(store_id)
    await asyncio.to_thread(secrets.set, secret_name, json.dumps(credentials))
    try:
        await conn.execute(
            "insert into stores (id, org_id, platform, name, shop_domain, base_url, api_base_url, currency, timezone, "
            "credentials_secret) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (store_id, org_id, body.platform, body.name, body.shop_domain, body.base_url, body.api_base_url,
             shop.currency, shop.timezone, secret_name))
        await conn.execute(
            "insert into audit_log (org_id, actor_id, action, target_type, target_id) "
            "values (%s, %s, 'store.connected', 'store', %s)", (org_id, access.user_id, str(store_id)))
    except Exception:
        await asyncio.to_thread(secrets.delete, secret_name)
        raise
    await register_store_webhooks(conn, store_id=store_id, org_id=org_id, actor_id=access.user_id,
                                  connection=connection, clients=clients, secrets=secrets,
                                  public_base_url=public_base_url)
    return store_id


def webhook_topics(platform: str) -> list[str]:
    """The topics a store of `platform` is subscribed to (what shared/webhooks/apply.py applies)."""
    if platform == "shopify":
        from shared.stores.shopify.client import WEBHOOK_TOPICS as SHOPIFY_TOPICS

        return list(SHOPIFY_TOPICS)
    from shared.stores.woocommerce.client import WEBHOOK_TOPICS as WOO_TOPICS

    return list(WOO_TOPICS)


def webhook_callback_url(public_base_url: str, platform: str, store_id: uuid.UUID) -> str:
    """Where the platform delivers: Shopify's app-wide route, or the Woo store's own route."""
    base = public_base_url.rstrip("/")
    return f"{base}/webhooks/shopify" if platform == "shopify" else f"{base}/webhooks/woocommerce/{store_id}"


def _register(clients: ClientFactory, connection: StoreConnection, callback: str, topics: list[str],
              secret: str | None) -> list[WebhookSubscription]:
    client = clients(connection)
    try:
        if not isinstance(client, WebhookRegistrar):
            raise PlatformError(f"the {connection.platform} client cannot register webhooks")
        return client.register_webhooks(callback, topics, secret)
    finally:
        client.close()


def _woo_webhook_secret(secrets: SecretStore, store_id: uuid.UUID) -> str:
    """The store's webhook secret; kept when one exists, since webhooks a failed earlier attempt created
    sign with it (a retry must not orphan them)."""
    name = woo_webhook_secret_name(store_id)
    try:
        return secrets.get(name)
    except SecretNotFound:
        secret = token_urlsafe(32)
        secrets.set(name, secret)
        return secret


async def register_store_webhooks(conn: AsyncConnection[DictRow], *, store_id: uuid.UUID, org_id: uuid.UUID,
                                  actor_id: uuid.UUID | None, connection: StoreConnection, clients: ClientFactory,
                                  secrets: SecretStore, public_base_url: str) -> list[WebhookSubscription] | None:
    """Subscribe a connected store's webhooks; its subscriptions, or None when nothing was done.

    WooCommerce signs with a per-store secret, generated here and saved as `store-<id>-webhook-secret`
    before the webhooks exist (so the first delivery verifies); Shopify signs with the app's secret.
    Without PUBLIC_BASE_URL (local runs) nothing is registered. Failures are logged and audited as
    `store.webhooks_failed` with the reason, not raised (a timer retries them); success as
    `store.webhooks_registered`. The subscriptions, created or adopted, are recorded in
    `store_webhook_subscriptions` so that a disconnect can delete them.
    """
    extra = {"store_id": str(store_id), "platform": connection.platform}
    if not public_base_url:
        log.info("webhooks not registered: PUBLIC_BASE_URL is not set", extra=extra)
        return None
    callback = webhook_callback_url(public_base_url, connection.platform, store_id)
    try:
        secret = None
        if connection.platform == "woocommerce":
            secret = await asyncio.to_thread(_woo_webhook_secret, secrets, store_id)
        # One transaction (a savepoint under the caller's), locked per Shopify shop: a disconnect of the
        # same shop cannot delete the subscriptions between our adopting them and recording them.
        async with conn.transaction():
            if connection.platform == "shopify" and connection.shop_domain:
                await lock_shopify_shop(conn, connection.shop_domain)
            subscriptions = await asyncio.to_thread(_register, clients, connection, callback,
                                                    webhook_topics(connection.platform), secret)
            await _record(conn, store_id=store_id, org_id=org_id, platform=connection.platform, callback=callback,
                          subscriptions=subscriptions)
    except Exception as exc:  # the store is connected and syncs work: report, do not fail the connect
        reason = f"{type(exc).__name__}: {exc}"[:500]
        log.warning("webhook registration failed: %s", reason, extra=extra)
        await conn.execute(
            "insert into audit_log (org_id, actor_id, action, target_type, target_id, details) "
            "values (%s, %s, 'store.webhooks_failed', 'store', %s, %s::jsonb)",
            (org_id, actor_id, str(store_id), json.dumps({"reason": reason, "callback_url": callback})))
        return None
    created = sum(s.created for s in subscriptions)
    log.info("registered %d webhooks (%d adopted)", created, len(subscriptions) - created, extra=extra)
    # The retry timer (shared/webhooks/subscriptions.py) looks for stores whose last outcome is a failure.
    await conn.execute(
        "insert into audit_log (org_id, actor_id, action, target_type, target_id, details) "
        "values (%s, %s, 'store.webhooks_registered', 'store', %s, %s::jsonb)",
        (org_id, actor_id, str(store_id), json.dumps({"created": created, "adopted": len(subscriptions) - created,
                                                      "callback_url": callback})))
    return subscriptions


async def _record(conn: AsyncConnection[DictRow], *, store_id: uuid.UUID, org_id: uuid.UUID, platform: str,
                  callback: str, subscriptions: list[WebhookSubscription]) -> None:
    """Remember each subscription's platform id; one already recorded (a retry adopting it) stays as is."""
    if not subscriptions:
        return
    async with conn.cursor() as cur:
        await cur.executemany(
            "insert into store_webhook_subscriptions (store_id, org_id, platform, topic, subscription_id, "
            "callback_url, created) values (%s, %s, %s, %s, %s, %s, %s) "
            "on conflict (store_id, subscription_id) do nothing",
            [(store_id, org_id, platform, s.topic, s.subscription_id, callback, s.created) for s in subscriptions])
