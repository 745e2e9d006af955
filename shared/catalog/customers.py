"""Customers: newest first, filtered by store and an e-mail/name search."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from shared.catalog.models import CustomerPublic
from shared.errors import NotFound
from shared.money import money_or_none
from shared.pagination import decode_cursor, encode_cursor, page_of

_SELECT = "select c.*, s.currency as store_currency from customers c join stores s on s.id = c.store_id"
_EPOCH = "1970-01-01T00:00:00+00:00"


def _public(row: dict[str, Any]) -> CustomerPublic:
    return CustomerPublic(
        id=row["id"], store_id=row["store_id"], external_id=row["external_id"], email=row["email"],
        first_name=row["first_name"], last_name=row["last_name"], orders_count=row["orders_count"],
        total_spent=money_or_none(row["total_spent"], row["store_currency"]),
        created_at=row["created_at_platform"], updated_at=row["updated_at_platform"],
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_customers(conn: AsyncConnection[DictRow], *, store_id: uuid.UUID | None, q: str | None,
                         limit: int, cursor: str | None) -> tuple[list[CustomerPublic], str | None]:
    where = ["s.status = 'active'"]
    params: list[Any] = []
    if store_id is not None:
        where.append("c.store_id = %s")
        params.append(store_id)
    if q:
        pattern = f"%{_escape_like(q.lower())}%"
        where.append("(lower(c.email) like %s or lower(concat_ws(' ', c.first_name, c.last_name)) like %s)")
        params += [pattern, pattern]
    key = "coalesce(c.created_at_platform, 'epoch'::timestamptz)"
    if cursor:
        created, last_id = decode_cursor(cursor, "customers", (str, str))
        where.append(f"({key}, c.id) < (%s::timestamptz, %s::uuid)")
        params += [created, last_id]
    sql = f"{_SELECT} where {' and '.join(where)} order by {key} desc, c.id desc limit %s"
    cur = await conn.execute(sql, [*params, limit + 1])
    rows = await cur.fetchall()

    def cursor_of(r: dict[str, Any]) -> str:
        created = r["created_at_platform"].isoformat() if r["created_at_platform"] else _EPOCH
        return encode_cursor("customers", [created, str(r["id"])])

    page, next_cursor = page_of(rows, limit, cursor_of)
    return [_public(r) for r in page], next_cursor


async def get_customer(conn: AsyncConnection[DictRow], customer_id: uuid.UUID) -> CustomerPublic:
    cur = await conn.execute(f"{_SELECT} where c.id = %s", (customer_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound("customer not found")
    return _public(row)
