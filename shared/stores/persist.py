"""Bulk, idempotent writes of synced records: rows staged as arrays, then INSERT … SELECT … ON CONFLICT.

A batch travels as one array per column and is read back as `unnest(…) as t(columns)`: no temp table,
so a webhook that upserts one order inside a savepoint costs a statement, not a create/drop per table.
A column that is itself an array (products.tags, products.skus) travels as one JSON array per row,
since a 2-D array cannot hold rows of different lengths.

Every upsert keys on (store_id, external_id), so replaying a page or a whole sync changes nothing.
An update never overwrites a newer one: rows carry the platform's updated_at and a row whose stored
updated_at is newer than the incoming one is left alone (webhooks can arrive out of order).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from psycopg import Connection, sql
from psycopg.adapt import PyFormat
from psycopg.rows import DictRow

from shared.stores.records import (
    CustomerRecord,
    OrderLineRecord,
    OrderRecord,
    ProductRecord,
    RefundRecord,
    VariantRecord,
)

_NEWER_OR_UNKNOWN = "({t}.updated_at_platform is null or excluded.updated_at_platform is null " \
                    "or excluded.updated_at_platform >= {t}.updated_at_platform)"
# A jsonb array staged by _stage back to text[], in order.
_TEXT_ARRAY = "array(select e from jsonb_array_elements_text(t.{c}) with ordinality as a(e, n) order by n)"


def _stage(columns: Sequence[tuple[str, str]], rows: Iterable[Sequence[Any]]) -> tuple[sql.Composed, dict[str, Any]]:
    """`unnest(%(s_col)b::type[], …) as t(col, …)` for `columns` (name, type), and its parameters: one list
    per column. A `jsonb` column takes a sequence per row (sent as JSON; read it back with _TEXT_ARRAY)."""
    values = [list(column) for column in zip(*rows, strict=True)]
    if len(values) != len(columns):
        raise ValueError(f"rows of {len(values)} values for {len(columns)} columns")
    for (_, type_), column in zip(columns, values, strict=True):
        if type_ == "jsonb":
            column[:] = [None if v is None else json.dumps(list(v)) for v in column]
        elif type_ == "numeric":
            # As text, like COPY: psycopg dumps a list of Decimals slower, and not one mixing int or float.
            column[:] = [None if v is None else str(v) for v in column]
    # Binary: psycopg's text-format arrays escape every element in Python, several times slower.
    source = sql.SQL("unnest({}) as t({})").format(
        sql.SQL(", ").join(sql.SQL("{}::{}[]").format(sql.Placeholder(f"s_{n}", PyFormat.BINARY), sql.SQL(t))
                           for n, t in columns),
        sql.SQL(", ").join(sql.Identifier(n) for n, _ in columns))
    return source, {f"s_{n}": column for (n, _), column in zip(columns, values, strict=True)}


def _upsert_statement(*, target: str, source: sql.Composable, columns: Sequence[str], select: str,
                      conflict: str = "store_id, external_id", versioned: bool = True,
                      returning: str | None = None) -> sql.Composed:
    """INSERT INTO target (columns) SELECT … FROM source ON CONFLICT DO UPDATE [RETURNING returning].

    A `versioned` table carries updated_at_platform and synced_at: only a newer row replaces it.
    """
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in ("org_id", "store_id", "external_id"))
    if versioned:
        updates += f", synced_at = now() where {_NEWER_OR_UNKNOWN.format(t=target)}"
    return sql.SQL("insert into {} ({}) {} from {} on conflict ({}) do update set {}{}").format(
        sql.Identifier(target), sql.SQL(", ").join(sql.Identifier(c) for c in columns), sql.SQL(select),
        source, sql.SQL(conflict), sql.SQL(updates),
        sql.SQL(" returning {}").format(sql.Identifier(returning)) if returning else sql.SQL(""))


def _upsert(conn: Connection[DictRow], *, target: str, source: sql.Composable, columns: Sequence[str],
            select: str, params: Mapping[str, Any], conflict: str = "store_id, external_id",
            versioned: bool = True) -> int:
    """The upsert run: the number of rows written."""
    statement = _upsert_statement(target=target, source=source, columns=columns, select=select,
                                  conflict=conflict, versioned=versioned)
    return conn.execute(statement, params).rowcount


def _upsert_written(conn: Connection[DictRow], *, target: str, source: sql.Composable, columns: Sequence[str],
                    select: str, params: Mapping[str, Any]) -> set[str]:
    """The versioned upsert run: the external ids of the rows it wrote (not those a newer stored version kept)."""
    statement = _upsert_statement(target=target, source=source, columns=columns, select=select,
                                  returning="external_id")
    return {r["external_id"] for r in conn.execute(statement, params).fetchall()}


def upsert_products(conn: Connection[DictRow], org_id: uuid.UUID, store_id: uuid.UUID,
                    products: Sequence[ProductRecord], *, replace_children: bool = True) -> int:
    """Products with their variants. With replace_children, variants a product no longer has are removed;
    a flat bulk stream passes False and sends the variants separately."""
    if not products:
        return 0
    staged, params = _stage([
        ("external_id", "text"), ("title", "text"), ("handle", "text"), ("status", "text"), ("vendor", "text"),
        ("product_type", "text"), ("tags", "jsonb"), ("skus", "jsonb"), ("created_at_platform", "timestamptz"),
        ("updated_at_platform", "timestamptz")],
        ((p.external_id, p.title, p.handle, p.status, p.vendor, p.product_type, p.tags,
          [v.sku for v in p.variants if v.sku], p.created_at, p.updated_at) for p in products))
    cols = ["org_id", "store_id", "external_id", "title", "handle", "status", "vendor", "product_type", "tags",
            "skus", "created_at_platform", "updated_at_platform"]
    select = (f"select %(org_id)s, %(store_id)s, t.external_id, t.title, t.handle, t.status, t.vendor, "
              f"t.product_type, {_TEXT_ARRAY.format(c='tags')}, {_TEXT_ARRAY.format(c='skus')}, "
              "t.created_at_platform, t.updated_at_platform")
    written = _upsert(conn, target="products", source=staged, columns=cols, select=select,
                      params={"org_id": org_id, "store_id": store_id, **params})
    written += upsert_variants(conn, org_id, store_id,
                               [(p.external_id, v) for p in products for v in p.variants])
    if not replace_children:
        return written
    conn.execute(
        "delete from variants v using products p "
        "where p.store_id = %s and p.external_id = any(%s) and v.product_id = p.id "
        "and not v.external_id = any(%s)",
        (store_id, [p.external_id for p in products], [v.external_id for p in products for v in p.variants]),
    )
    return written


def upsert_variants(conn: Connection[DictRow], org_id: uuid.UUID, store_id: uuid.UUID,
                    items: Sequence[tuple[str | None, VariantRecord]]) -> int:
    """Variants tied to their product by the product's external id (which must be stored already)."""
    if not items:
        return 0
    staged, params = _stage([
        ("product_external_id", "text"), ("external_id", "text"), ("title", "text"), ("sku", "text"),
        ("price", "numeric"), ("compare_at_price", "numeric"), ("cost", "numeric"),
        ("inventory_quantity", "integer"), ("created_at_platform", "timestamptz"),
        ("updated_at_platform", "timestamptz")],
        ((parent, v.external_id, v.title, v.sku, v.price, v.compare_at_price, v.cost, v.inventory_quantity,
          v.created_at, v.updated_at) for parent, v in items))
    cols = ["org_id", "store_id", "product_id", "external_id", "title", "sku", "price", "compare_at_price", "cost",
            "inventory_quantity", "created_at_platform", "updated_at_platform"]
    select = ("select %(org_id)s, %(store_id)s, p.id, t.external_id, t.title, t.sku, t.price, t.compare_at_price, "
              "t.cost, t.inventory_quantity, t.created_at_platform, t.updated_at_platform")
    source = sql.SQL("{} join products p on p.store_id = %(store_id)s and p.external_id = t.product_external_id"
                     ).format(staged)
    return _upsert(conn, target="variants", source=source, columns=cols, select=select,
                   params={"org_id": org_id, "store_id": store_id, **params})


def upsert_customers(conn: Connection[DictRow], org_id: uuid.UUID, store_id: uuid.UUID,
                     customers: Sequence[CustomerRecord]) -> int:
    if not customers:
        return 0
    staged, params = _stage([
        ("external_id", "text"), ("email", "text"), ("first_name", "text"), ("last_name", "text"),
        ("orders_count", "integer"), ("total_spent", "numeric"), ("created_at_platform", "timestamptz"),
        ("updated_at_platform", "timestamptz")],
        ((c.external_id, c.email, c.first_name, c.last_name, c.orders_count, c.total_spent, c.created_at,
          c.updated_at) for c in customers))
    cols = ["org_id", "store_id", "external_id", "email", "first_name", "last_name", "orders_count",
            "total_spent", "created_at_platform", "updated_at_platform"]
    return _upsert(conn, target="customers", source=staged, columns=cols,
                   select=f"select %(org_id)s, %(store_id)s, {', '.join('t.' + c for c in cols[2:])}",
                   params={"org_id": org_id, "store_id": store_id, **params})


def upsert_orders(conn: Connection[DictRow], org_id: uuid.UUID, store_id: uuid.UUID,
                  orders: Sequence[OrderRecord], *, replace_children: bool = True) -> int:
    """Orders with their lines and refunds. With replace_children, lines and refunds an order no longer
    has are removed (edits); a flat bulk stream passes False and sends children separately. An order whose
    stored version is newer is left whole, its lines and refunds included."""
    if not orders:
        return 0
    staged, params = _stage([
        ("external_id", "text"), ("name", "text"), ("customer_external_id", "text"), ("placed_at", "timestamptz"),
        ("processed_at", "timestamptz"), ("updated_at_platform", "timestamptz"), ("cancelled_at", "timestamptz"),
        ("closed_at", "timestamptz"), ("test", "boolean"), ("status", "text"), ("financial_status", "text"),
        ("currency", "text"), ("presentment_currency", "text"), ("exchange_rate", "numeric"),
        ("subtotal", "numeric"), ("total_discounts", "numeric"), ("total_shipping", "numeric"),
        ("total_tax", "numeric"), ("total_price", "numeric"), ("total_fees", "numeric")],
        ((o.external_id, o.name, o.customer_external_id, o.placed_at, o.processed_at, o.updated_at,
          o.cancelled_at, o.closed_at, o.test, o.status, o.financial_status, o.currency, o.presentment_currency,
          o.exchange_rate, o.subtotal, o.total_discounts, o.total_shipping, o.total_tax, o.total_price,
          o.total_fees)
         for o in orders))
    cols = ["org_id", "store_id", "external_id", "name", "customer_id", "customer_external_id", "placed_at",
            "processed_at", "updated_at_platform", "cancelled_at", "closed_at", "test", "status",
            "financial_status", "currency", "presentment_currency", "exchange_rate", "subtotal", "total_discounts",
            "total_shipping", "total_tax", "total_price", "total_fees"]
    select = ("select %(org_id)s, %(store_id)s, t.external_id, t.name, c.id, t.customer_external_id, t.placed_at, "
              "t.processed_at, t.updated_at_platform, t.cancelled_at, t.closed_at, t.test, t.status, "
              "t.financial_status, t.currency, t.presentment_currency, t.exchange_rate, t.subtotal, "
              "t.total_discounts, t.total_shipping, t.total_tax, t.total_price, t.total_fees")
    source = sql.SQL("{} left join customers c on c.store_id = %(store_id)s "
                     "and c.external_id = t.customer_external_id").format(staged)
    kept = _upsert_written(conn, target="orders", source=source, columns=cols, select=select,
                           params={"org_id": org_id, "store_id": store_id, **params})
    # The children of the orders written only: an order whose stored version is newer keeps its lines and
    # refunds too (a sync page read before a webhook applied a newer version must not roll them back).
    fresh = [o for o in orders if o.external_id in kept]
    written = len(kept)
    written += upsert_order_lines(conn, org_id, store_id, [(o.external_id, line) for o in fresh for line in o.lines])
    written += upsert_refunds(conn, org_id, store_id, [(o.external_id, r) for o in fresh for r in o.refunds])
    if replace_children and fresh:
        _remove_dropped_children(conn, store_id, fresh)
    return written


def _remove_dropped_children(conn: Connection[DictRow], store_id: uuid.UUID, orders: Sequence[OrderRecord]) -> None:
    order_ids = [o.external_id for o in orders]
    keep_lines = [line.external_id for o in orders for line in o.lines]
    keep_refunds = [r.external_id for o in orders for r in o.refunds]
    for table, keep in (("order_lines", keep_lines), ("refunds", keep_refunds)):
        conn.execute(
            sql.SQL("delete from {} x using orders o where o.store_id = %s and o.external_id = any(%s) "
                    "and x.order_id = o.id and not x.external_id = any(%s)").format(sql.Identifier(table)),
            (store_id, order_ids, keep),
        )


def upsert_order_lines(conn: Connection[DictRow], org_id: uuid.UUID, store_id: uuid.UUID,
                       items: Sequence[tuple[str | None, OrderLineRecord]]) -> int:
    """Lines tied to their order by its external id; product and variant resolved by theirs."""
    if not items:
        return 0
    staged, params = _stage([
        ("order_external_id", "text"), ("external_id", "text"), ("product_external_id", "text"),
        ("variant_external_id", "text"), ("sku", "text"), ("title", "text"), ("quantity", "integer"),
        ("unit_price", "numeric"), ("line_discount", "numeric")],
        ((parent, li.external_id, li.product_external_id, li.variant_external_id, li.sku, li.title, li.quantity,
          li.unit_price, li.line_discount) for parent, li in items))
    cols = ["org_id", "store_id", "order_id", "external_id", "product_id", "variant_id", "product_external_id",
            "variant_external_id", "sku", "title", "quantity", "unit_price", "line_discount"]
    select = ("select %(org_id)s, %(store_id)s, o.id, t.external_id, p.id, v.id, t.product_external_id, "
              "t.variant_external_id, t.sku, t.title, t.quantity, t.unit_price, t.line_discount")
    source = sql.SQL(
        "{} join orders o on o.store_id = %(store_id)s and o.external_id = t.order_external_id "
        "left join products p on p.store_id = %(store_id)s and p.external_id = t.product_external_id "
        "left join variants v on v.store_id = %(store_id)s and v.external_id = t.variant_external_id"
    ).format(staged)
    return _upsert(conn, target="order_lines", source=source, columns=cols, select=select, versioned=False,
                   params={"org_id": org_id, "store_id": store_id, **params})


def upsert_refunds(conn: Connection[DictRow], org_id: uuid.UUID, store_id: uuid.UUID,
                   items: Sequence[tuple[str, RefundRecord]]) -> int:
    if not items:
        return 0
    staged, params = _stage([
        ("order_external_id", "text"), ("external_id", "text"), ("refunded_at", "timestamptz"), ("note", "text"),
        ("total", "numeric"), ("shipping", "numeric"), ("tax", "numeric")],
        ((parent, r.external_id, r.refunded_at, r.note, r.total, r.shipping, r.tax) for parent, r in items))
    cols = ["org_id", "store_id", "order_id", "external_id", "refunded_at", "note", "total", "shipping", "tax"]
    written = _upsert(
        conn, target="refunds", columns=cols, versioned=False,
        source=sql.SQL("{} join orders o on o.store_id = %(store_id)s and o.external_id = t.order_external_id"
                       ).format(staged),
        select="select %(org_id)s, %(store_id)s, o.id, t.external_id, t.refunded_at, t.note, t.total, t.shipping, "
               "t.tax",
        params={"org_id": org_id, "store_id": store_id, **params})
    lines = [(r.external_id, rl) for _, r in items for rl in r.lines]
    if not lines:
        return written
    staged, params = _stage([
        ("refund_external_id", "text"), ("line_external_id", "text"), ("quantity", "integer"),
        ("subtotal", "numeric"), ("tax", "numeric"), ("restock_type", "text")],
        ((parent, rl.line_external_id, rl.quantity, rl.subtotal, rl.tax, rl.restock_type) for parent, rl in lines))
    cols = ["org_id", "store_id", "refund_id", "order_line_id", "line_external_id", "quantity", "subtotal",
            "tax", "restock_type"]
    written += _upsert(
        conn, target="refund_lines", columns=cols, versioned=False, conflict="refund_id, line_external_id",
        source=sql.SQL("{} join refunds r on r.store_id = %(store_id)s and r.external_id = t.refund_external_id "
                       "left join order_lines l on l.store_id = %(store_id)s and l.external_id = t.line_external_id"
                       ).format(staged),
        select="select %(org_id)s, %(store_id)s, r.id, l.id, t.line_external_id, t.quantity, t.subtotal, t.tax, "
               "t.restock_type",
        params={"org_id": org_id, "store_id": store_id, **params})
    return written
