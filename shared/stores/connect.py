"""Connecting a store: validate, verify the credentials with one real call, keep them only in the SecretStore."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from shared.auth.access import Access
from shared.errors import FieldError, UpstreamUnavailable, ValidationFailed
from shared.ports import SecretStore
from shared.stores.connections import ClientFactory, StoreConnection, credentials_secret_name
from shared.stores.platform import InvalidCredentials, PlatformError, PlatformUnavailable
from shared.stores.records import ShopInfo
from shared.stores.urls import is_loopback

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
                        clients: ClientFactory, secrets: SecretStore) -> uuid.UUID:
    """Verify with the platform, then save the secret and the store; nothing is kept when a step fails."""
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
    return store_id
