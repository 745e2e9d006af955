"""Products: filtered, searched (full text + trigram fuzzy) and cursor-paginated lists; detail."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from shared.catalog.models import ProductDetail, ProductSummary, VariantPublic
from shared.errors import NotFound
from shared.money import Money, money_or_none
from shared.pagination import decode_cursor, encode_cursor, page_of

ProductSort = Literal["title", "-title", "updated_at", "-updated_at", "created_at", "-created_at"]
LOW_STOCK_THRESHOLD = 5
_MAX_TERMS = 8
_WORD = re.compile(r"\w+", re.UNICODE)

# Sort key -> (SQL expression, direction). Nullable timestamps are coalesced so keysets stay total.
_SORTS: dict[str, tuple[str, str]] = {
    "title": ("lower(p.title)", "asc"),
    "-title": ("lower(p.title)", "desc"),
    "updated_at": ("coalesce(p.updated_at_platform, 'epoch'::timestamptz)", "asc"),
    "-updated_at": ("coalesce(p.updated_at_platform, 'epoch'::timestamptz)", "desc"),
    "created_at": ("coalesce(p.created_at_platform, 'epoch'::timestamptz)", "asc"),
    "-created_at": ("coalesce(p.created_at_platform, 'epoch'::timestamptz)", "desc"),
}

_SELECT = """
select p.*, s.currency as store_currency, v.variants_count, v.inventory_total, v.price_min, v.price_max
from products p
join stores s on s.id = p.store_id
left join lateral (
  select count(*)::int as variants_count, sum(inventory_quantity)::int as inventory_total,
         min(price) as price_min, max(price) as price_max
  from variants where product_id = p.id
) v on true
"""


@dataclass(frozen=True)
class ProductFilters:
    store_id: uuid.UUID | None = None
    q: str | None = None
    status: str | None = None
    vendor: str | None = None
    product_type: str | None = None
    low_stock: bool = False
    sort: ProductSort = "title"


def prefix_tsquery(text: str) -> str | None:
    """A safe tsquery from free text: each word as a prefix term, AND-ed; None when no words.

    Only \\w characters reach the query, so operators typed by a user cannot change its shape.
    """
    words = _WORD.findall(text.lower())[:_MAX_TERMS]
    return " & ".join(f"{w}:*" for w in words) or None


def _filters_sql(f: ProductFilters) -> tuple[list[str], list[Any]]:
    where = ["p.deleted_at is null", "s.status = 'active'"]
    params: list[Any] = []
    for column, value in (("p.store_id", f.store_id), ("p.status", f.status), ("p.vendor", f.vendor),
                          ("p.product_type", f.product_type)):
        if value is not None:
            where.append(f"{column} = %s")
            params.append(value)
    if f.low_stock:
        where.append("exists (select 1 from variants lv where lv.product_id = p.id "
                     "and lv.inventory_quantity is not null and lv.inventory_quantity <= %s)")
        params.append(LOW_STOCK_THRESHOLD)
    return where, params


def _summary(row: dict[str, Any]) -> ProductSummary:
    currency = row["store_currency"] or "USD"
    return ProductSummary(
        id=row["id"], store_id=row["store_id"], external_id=row["external_id"], title=row["title"],
        status=row["status"], vendor=row["vendor"], product_type=row["product_type"], tags=row["tags"],
        variants_count=row["variants_count"] or 0, inventory_total=row["inventory_total"],
        price_min=money_or_none(row["price_min"], currency), price_max=money_or_none(row["price_max"], currency),
        updated_at=row["updated_at_platform"],
    )


async def _search(conn: AsyncConnection[DictRow], f: ProductFilters, where: list[str], params: list[Any],
                  limit: int, cursor: str | None) -> tuple[list[ProductSummary], str | None]:
    """Ranked search: a full-text prefix match or a fuzzy (typo-tolerant) trigram word match."""
    assert f.q is not None
    text = " ".join(_WORD.findall(f.q.lower()))
    tsquery = prefix_tsquery(f.q)
    if not text or tsquery is None:
        return [], None
    offset = decode_cursor(cursor, "products:search", (int,))[0] if cursor else 0
    sql = (
        f"{_SELECT} , lateral (select to_tsquery('simple', %s) as tsq) q "
        f"where {' and '.join(where)} and (p.search_vector @@ q.tsq or %s <%% p.search_text) "
        "order by greatest(ts_rank(p.search_vector, q.tsq), word_similarity(%s, p.search_text)) desc, p.id "
        "limit %s offset %s"
    )
    cur = await conn.execute(sql, [tsquery, *params, text, text, limit + 1, offset])
    rows = await cur.fetchall()
    page, next_cursor = page_of(rows, limit, lambda _r: encode_cursor("products:search", [offset + limit]))
    return [_summary(r) for r in page], next_cursor


async def list_products(conn: AsyncConnection[DictRow], f: ProductFilters, *, limit: int,
                        cursor: str | None) -> tuple[list[ProductSummary], str | None]:
    where, params = _filters_sql(f)
    if f.q:
        return await _search(conn, f, where, params, limit, cursor)
    key, direction = _SORTS[f.sort]
    kind = f"products:{f.sort}"
    if cursor:
        value, last_id = decode_cursor(cursor, kind, (str, str))
        op = ">" if direction == "asc" else "<"
        cast = "text" if "title" in f.sort else "timestamptz"
        where.append(f"({key}, p.id) {op} (%s::{cast}, %s::uuid)")
        params += [value, last_id]
    sql = f"{_SELECT} where {' and '.join(where)} order by {key} {direction}, p.id {direction} limit %s"
    cur = await conn.execute(sql, [*params, limit + 1])
    rows = await cur.fetchall()

    def cursor_of(row: dict[str, Any]) -> str:
        if "title" in f.sort:
            value: str = row["title"].lower()
        else:
            column = "updated_at_platform" if "updated" in f.sort else "created_at_platform"
            value = (row[column].isoformat() if row[column] else "1970-01-01T00:00:00+00:00")
        return encode_cursor(kind, [value, str(row["id"])])

    page, next_cursor = page_of(rows, limit, cursor_of)
    return [_summary(r) for r in page], next_cursor


async def get_product(conn: AsyncConnection[DictRow], product_id: uuid.UUID) -> ProductDetail:
    cur = await conn.execute(f"{_SELECT} where p.id = %s and p.deleted_at is null", (product_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound("product not found")
    currency = row["store_currency"] or "USD"
    cur = await conn.execute(
        "select * from variants where product_id = %s order by title nulls last, external_id", (product_id,)
    )
    variants = [
        VariantPublic(
            id=v["id"], external_id=v["external_id"], title=v["title"], sku=v["sku"],
            price=Money.of(v["price"], currency), compare_at_price=money_or_none(v["compare_at_price"], currency),
            cost=money_or_none(v["cost"], currency), inventory_quantity=v["inventory_quantity"],
        )
        for v in await cur.fetchall()
    ]
    summary = _summary(row)
    return ProductDetail(**summary.model_dump(), handle=row["handle"], created_at=row["created_at_platform"],
                         variants=variants)
