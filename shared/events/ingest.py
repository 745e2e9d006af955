"""Validate a storefront event batch and store it in one statement, skipping event ids already stored.

A batch is all or nothing: one bad item (unknown field, naive or out-of-range time, a product of another
store, a store of another organization) refuses the whole batch and stores nothing.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from shared.auth.access import Access
from shared.errors import FieldError, NotFound, ValidationFailed

MAX_BATCH = 500
MAX_PROPERTIES_BYTES = 4096
MAX_FUTURE = timedelta(minutes=5)
MAX_AGE = timedelta(days=30)

EventType = Literal["page_view", "product_view", "add_to_cart", "checkout_started", "purchase"]


def _serialized_size(value: Any) -> int:
    """Bytes of `value` as compact JSON; ValueError for NaN/Infinity, which JSON (and jsonb) cannot hold."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode())


def _has_nul(value: Any) -> bool:
    """Postgres text and jsonb cannot hold U+0000."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class EventIn(BaseModel):
    """One storefront event as the storefront sends it."""

    model_config = ConfigDict(extra="forbid")

    type: EventType
    store_id: uuid.UUID
    session_id: str = Field(min_length=1, max_length=200)
    product_id: uuid.UUID | None = None
    occurred_at: AwareDatetime = Field(description="ISO-8601 with an offset; at most 5 min ahead, 30 days old")
    properties: dict[str, Any] | None = Field(default=None, description="at most 4 KB as compact JSON")
    event_id: str | None = Field(default=None, min_length=1, max_length=200,
                                 description="idempotency key: a repeated event_id of a store is stored once")

    @field_validator("session_id", "event_id")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        if value is not None and _has_nul(value):
            raise ValueError("must not contain NUL characters")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _recent(cls, value: datetime) -> datetime:
        now = datetime.now(UTC)
        if value > now + MAX_FUTURE:
            raise ValueError("occurred_at is more than 5 minutes in the future")
        if value < now - MAX_AGE:
            raise ValueError("occurred_at is more than 30 days old")
        return value

    @field_validator("properties")
    @classmethod
    def _small(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return value
        if _has_nul(value):
            raise ValueError("properties must not contain NUL characters")
        if _serialized_size(value) > MAX_PROPERTIES_BYTES:
            raise ValueError(f"properties exceed {MAX_PROPERTIES_BYTES} bytes as JSON")
        return value


EventBatch = Annotated[list[EventIn], Field(min_length=1, max_length=MAX_BATCH)]


class IngestResult(BaseModel):
    accepted: int
    duplicates: int


_INSERT = """
insert into events (org_id, store_id, event_id, type, session_id, product_id, occurred_at, properties)
select r.org_id, r.store_id, r.event_id, r.type, r.session_id, r.product_id, r.occurred_at,
       coalesce(r.properties, '{}'::jsonb)
from jsonb_to_recordset(%s::jsonb) as r(org_id uuid, store_id uuid, event_id text, type text, session_id text,
                                         product_id uuid, occurred_at timestamptz, properties jsonb)
on conflict (store_id, event_id) do nothing
"""


async def _store_orgs(conn: AsyncConnection[DictRow], access: Access,
                      store_ids: list[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """org_id of every store; a store the caller cannot see (RLS) or is no member of is a 404."""
    cur = await conn.execute("select id, org_id from stores where id = any(%s)", (store_ids,))
    orgs: dict[uuid.UUID, uuid.UUID] = {r["id"]: r["org_id"] for r in await cur.fetchall()}
    for store_id in store_ids:
        if store_id not in orgs:
            raise NotFound("store not found")
        access.require_member(orgs[store_id], "store")
    return orgs


async def _check_products(conn: AsyncConnection[DictRow], events: list[EventIn]) -> None:
    wanted = sorted({e.product_id for e in events if e.product_id is not None})
    if not wanted:
        return
    cur = await conn.execute("select id, store_id from products where id = any(%s)", (wanted,))
    store_of: dict[uuid.UUID, uuid.UUID] = {r["id"]: r["store_id"] for r in await cur.fetchall()}
    errors = [
        # Indexes as strings, like every other validation error of the API (functions/http_api/problems.py).
        FieldError(["body", str(i), "product_id"], "no such product in this store")
        for i, e in enumerate(events)
        if e.product_id is not None and store_of.get(e.product_id) != e.store_id
    ]
    if errors:
        raise ValidationFailed("some events name a product that is not in their store", errors)


async def ingest_events(conn: AsyncConnection[DictRow], access: Access, events: list[EventIn]) -> IngestResult:
    """Store a validated batch in one statement; events whose (store_id, event_id) exists count as duplicates."""
    orgs = await _store_orgs(conn, access, sorted({e.store_id for e in events}))
    await _check_products(conn, events)
    records = [
        {
            "org_id": str(orgs[e.store_id]),
            "store_id": str(e.store_id),
            "event_id": e.event_id,
            "type": e.type,
            "session_id": e.session_id,
            "product_id": str(e.product_id) if e.product_id else None,
            "occurred_at": e.occurred_at.isoformat(),
            "properties": e.properties,
        }
        for e in events
    ]
    cur = await conn.execute(_INSERT, (json.dumps(records),))
    accepted = max(cur.rowcount, 0)
    return IngestResult(accepted=accepted, duplicates=len(events) - accepted)
