"""The receiving side, per process: signing secrets and store lookups cached briefly, one INSERT, the outbox.

A delivery costs one statement (INSERT … ON CONFLICT DO NOTHING RETURNING) in autocommit, so one round trip
where a transaction's BEGIN and COMMIT would add two (`Database.service_statement`), and no queue call:
secrets and the delivery's store are read once per `ttl` seconds, not per request (Key Vault is a network
call; the local store decrypts a file). A signature that fails against cached secrets is checked again with
freshly read ones (at most every `refresh_after` seconds per secret), so a rotated Shopify secret or a newly
connected WooCommerce store is accepted at once. A store lookup may be `ttl` stale: the row's store and org
are bookkeeping, apply resolves the stores again (Shopify by shop domain, Woo by the id in the URL).
"""

from __future__ import annotations

import asyncio
import html
import time
import uuid
from collections.abc import Callable
from typing import Generic, TypeVar

from shared.db.pool import Database
from shared.ports import SecretNotFound, SecretStore
from shared.webhooks import SHOPIFY_APP_SECRET, SHOPIFY_APP_SECRET_PREVIOUS, inbox, woo_webhook_secret_name
from shared.webhooks.outbox import Outbox
from shared.webhooks.signatures import verify

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Values with their age; an entry older than `ttl` seconds is a miss."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl, self._clock = ttl, clock
        self._items: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> tuple[V, float] | None:
        """(value, age in seconds) or None."""
        item = self._items.get(key)
        if item is None:
            return None
        age = self._clock() - item[0]
        return (item[1], age) if age < self._ttl else None

    def put(self, key: K, value: V) -> V:
        if len(self._items) > 10_000:  # bounded: keys come from URLs and headers
            self._items.clear()
        self._items[key] = (self._clock(), value)
        return value


class Intake:
    """Verifies, records and queues deliveries for one event loop (the app keeps one; see the router)."""

    def __init__(self, *, db: Database, secrets: SecretStore, outbox: Outbox, ttl: float = 60.0,
                 refresh_after: float = 5.0) -> None:
        self._db, self._secret_store, self.outbox = db, secrets, outbox
        self._refresh_after = refresh_after
        self._secrets: TtlCache[str, list[str]] = TtlCache(ttl)
        self._shops: TtlCache[str, tuple[uuid.UUID, uuid.UUID] | None] = TtlCache(ttl)
        self._woo: TtlCache[uuid.UUID, uuid.UUID | None] = TtlCache(ttl)

    async def verify_shopify(self, body: bytes, signature: str | None) -> bool:
        return await self._verify("shopify", self._read_shopify, body, signature)

    async def verify_woo(self, store_id: uuid.UUID, body: bytes, signature: str | None) -> bool:
        return await self._verify(f"woo:{store_id}", lambda: self._read_woo(store_id), body, signature)

    async def shopify_store(self, shop_domain: str) -> tuple[uuid.UUID, uuid.UUID] | None:
        """(store id, org id) of the one store connected under that domain, else None."""
        key = shop_domain.lower()
        if (hit := self._shops.get(key)) is not None:
            return hit[0]
        async with self._db.as_service() as conn:
            return self._shops.put(key, await inbox.find_shopify_store(conn, key))

    async def woo_org(self, store_id: uuid.UUID) -> uuid.UUID | None:
        if (hit := self._woo.get(store_id)) is not None:
            return hit[0]
        async with self._db.as_service() as conn:
            return self._woo.put(store_id, await inbox.find_woo_store(conn, store_id))

    async def accept(self, delivery: inbox.Delivery) -> inbox.Recorded:
        """Record the delivery (one statement) and hand it to the outbox when it still needs queueing.

        Autocommit: when `record` returns, the row is committed, so the 2xx that follows never acknowledges
        a delivery that could still be rolled back. (A redelivery's second statement, a read, needs no
        transaction either: a row deleted in between is a LookupError, as before.)
        """
        async with self._db.service_statement() as conn:
            recorded = await inbox.record(conn, delivery)
        if recorded.needs_enqueue:
            self.outbox.put(recorded.id)
        return recorded

    async def _verify(self, key: str, read: Callable[[], list[str]], body: bytes, signature: str | None) -> bool:
        if not signature:
            return False
        hit = self._secrets.get(key)
        if hit is None:
            return verify(await self._load(key, read), body, signature)
        if verify(hit[0], body, signature):
            return True
        return hit[1] >= self._refresh_after and verify(await self._load(key, read), body, signature)

    async def _load(self, key: str, read: Callable[[], list[str]]) -> list[str]:
        return self._secrets.put(key, await asyncio.to_thread(read))

    def _read_shopify(self) -> list[str]:
        return [s for s in (self._optional(SHOPIFY_APP_SECRET), self._optional(SHOPIFY_APP_SECRET_PREVIOUS)) if s]

    def _read_woo(self, store_id: uuid.UUID) -> list[str]:
        secret = self._optional(woo_webhook_secret_name(store_id))
        # WooCommerce HTML-entity-decodes the stored secret before signing with it.
        return [] if not secret else list(dict.fromkeys([secret, html.unescape(secret)]))

    def _optional(self, name: str) -> str | None:
        try:
            return self._secret_store.get(name)
        except SecretNotFound:
            return None
